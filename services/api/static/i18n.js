// The pages' side of the one message catalogue (shared/i18n/locales/*.po, served by GET /v1/i18n):
// FW_MSG.load() fetches it with the reader's language (?lang= > token > site default > browser),
// FW_MSG.render() formats an alert's message {key, params[, text]} exactly as shared/i18n/render.py.
(function () {
  "use strict";
  const PLACEHOLDER = /\{(\w+)(?::([^{}]*))?\}/g;
  const DASH = "–";
  const cat = { texts: { en: {}, zh: {} }, language: "en" };

  function get(lang, key) {
    const own = (cat.texts[lang] || {})[key];
    if (own !== undefined) return own;
    const en = cat.texts.en[key];
    return en === undefined ? null : en;
  }
  function text(template, params, lang) {
    return template.replace(PLACEHOLDER, (_, name, spec) => format(name, (params || {})[name], spec || "", lang));
  }
  function render(message, lang, fallback) {
    if (!message || typeof message !== "object") return fallback === undefined ? "" : fallback;
    if (message.text && typeof message.text[lang] === "string") return message.text[lang];
    const template = typeof message.key === "string" ? get(lang, message.key) : null;
    if (template === null) return fallback === undefined ? "" : fallback;
    return text(template, message.params && typeof message.params === "object" ? message.params : {}, lang);
  }
  function duration(seconds, lang) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return text(get(lang, "fmt.duration_s") || "{s} s", { s, ss: String(s).padStart(2, "0") }, lang);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const pad = lang === "en";
    const rs = pad ? String(r).padStart(2, "0") : String(r);
    if (h) {
      const ms = pad ? String(m).padStart(2, "0") : String(m);
      return text(get(lang, "fmt.duration_hms") || "{h}:{m}:{s}", { h, m: ms, s: rs }, lang);
    }
    const key = r === 0 ? "fmt.duration_m" : "fmt.duration_ms";  // 2分钟, not 2分0秒
    return text(get(lang, key) || "{m}:{s}", { m, s: rs }, lang);
  }
  function pyRound(x) {  // Python's round(): halves to even
    const f = Math.floor(x), d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }
  function fixed(x, digits) { return x.toFixed(digits); }  // as Python's format(x, ".Nf")
  function format(name, value, spec, lang) {
    if (value && typeof value === "object" && !Array.isArray(value) && "key" in value) return render(value, lang);
    if (spec === "term") {
      const word = value === null || value === undefined ? "none" : String(value);
      const t = get(lang, "term." + name + "." + word);
      return t === null ? word : t;
    }
    if (spec === "counts" && value && typeof value === "object") {
      const sep = get(lang, "fmt.list_sep") || ", ";
      return Object.entries(value).map(([k, n]) => {
        const word = get(lang, "term.reason." + k);
        return text(get(lang, "fmt.count") || "{name} {n}", { name: word === null ? k : word, n }, lang);
      }).join(sep);
    }
    if (value === null || value === undefined) return spec === "" ? "" : DASH;
    if (typeof value !== "number") return String(value);
    if (!isFinite(value)) return String(value);
    if (spec === "dur") return duration(value, lang);
    if (spec === "mins") {
      return value >= 120 ? text(get(lang, "fmt.minutes") || "{n}", { n: pyRound(value / 60) }, lang)
                          : text(get(lang, "fmt.seconds") || "{n}", { n: pyRound(value) }, lang);
    }
    if (spec === "spct") {
      const p = pyRound(value * 100);
      return p >= 0 ? "+" + p + "%" : "\u2212" + (-p) + "%";
    }
    if (spec === "num") {
      const whole = value === Math.trunc(value) || Math.abs(value) >= 100;
      const shown = whole ? pyRound(value) : Number(value.toPrecision(3));
      return shown.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: 3 });
    }
    let m = /^\.(\d+)f$/.exec(spec);
    if (m) return fixed(value, Number(m[1]));
    m = /^\.(\d+)%$/.exec(spec);
    if (m) return fixed(value * 100, Number(m[1])) + "%";
    if (spec === "g" || spec === "") return String(Number(value.toPrecision(6)));
    if (spec === "d") return String(Math.trunc(value));
    return String(value);
  }
  // The pages' own labels: the catalogue's "<prefix>.*" keys in one language.
  function labels(lang, prefix) {
    const out = {};
    for (const src of [cat.texts.en, cat.texts[lang] || {}]) {
      for (const [k, v] of Object.entries(src)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
    }
    return out;
  }
  // Times in the site's time: an ISO time as the engine writes it carries the site's UTC offset;
  // shown with that offset (not the browser's zone) in the reader's locale.
  function offsetOf(iso) {
    const m = /([+-])(\d\d):?(\d\d)$/.exec(String(iso || ""));
    return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : (/Z$/.test(String(iso)) ? 0 : null);
  }
  function siteTime(when, offsetMin, lang, options) {
    const ms = typeof when === "number" ? when : Date.parse(when);
    if (isNaN(ms)) return DASH;
    const locale = lang === "zh" ? "zh-CN" : "en-GB";
    if (offsetMin === null || offsetMin === undefined) return new Date(ms).toLocaleTimeString(locale, options);
    return new Date(ms + offsetMin * 60000).toLocaleTimeString(locale, { ...(options || {}), timeZone: "UTC" });
  }
  // site: the one site the page shows (its own language: the rules file's definitions.sites.<site>)
  async function load(token, asked, site) {
    const p = new URLSearchParams();
    if (asked) p.set("lang", asked);
    if (site && site.indexOf(",") < 0) p.set("site", site);
    const q = p.toString() ? "?" + p.toString() : "";
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const r = await fetch("/v1/i18n" + q, { headers });
    if (!r.ok) throw new Error("catalogue: HTTP " + r.status);
    const body = await r.json();
    cat.texts = body.texts;
    cat.language = body.language;
    return body.language;
  }
  window.FW_MSG = { load, render, text, duration, labels, get, offsetOf, siteTime, language: () => cat.language };
})();
