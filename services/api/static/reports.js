// One page for the seven reports: /reports/{name}?token=…&lang=zh|en&from=…&to=…&site=…
// The filters are the URL's query, so a link can be shared; "Apply" rewrites the URL.
(async function () {
  "use strict";
  const name = decodeURIComponent(location.pathname.split("/")[2] || "");
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  // the language: ?lang= > the token's > the site default > the browser's (GET /v1/i18n decides);
  // the labels are the catalogue's report.* texts (shared/i18n/locales)
  const lang = await window.FW_MSG.load(token, params.get("lang"), params.get("site")).catch(() => pick(params.get("lang")));
  const T = window.FW_MSG.labels(lang, "report.");
  const FILTERS = ["from", "to", "site", "project", "queue", "team", "agent", "interval"];
  const t = (k, vars) => (T[k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v]);
  // columns shown per report (every row field is in the CSV / XLSX downloads)
  const COLUMNS = {
    "project-daily": ["site", "queue", "project", "day", "interval_start", "offered", "answered", "abandoned",
      "service_level", "asa_s", "talk_s", "hold_s", "wrap_s", "aht_s", "successes"],
    "staff-performance": ["rank", "level", "team", "agent", "calls", "calls_per_hour", "aht_s", "talk_s", "hold_s",
      "wrap_s", "occupancy", "not_ready_s", "successes", "success_rate"],
    "project-progress": ["project", "day", "target", "completed", "contacts", "success_rate", "cumulative",
      "cumulative_plan", "projected", "needed_per_day"],
    "failure-reasons": ["day", "project", "queue", "team", "agent", "code", "reason", "failures", "share", "shift"],
    "follow-ups": ["due_at", "overdue", "contact", "team", "agent", "project", "code", "reason"],
    "agent-progress": ["project", "team", "agent", "contacts", "successes", "conversion", "target_share"],
    "agent-log": ["agent", "state", "reason", "start", "end", "duration_s", "call"],
  };
  const RATIOS = new Set(["service_level", "occupancy", "success_rate", "conversion", "share"]);

  function pick(asked) {
    if (asked === "zh" || asked === "en") return asked;
    return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = "Floorwatch — " + t(name);
  document.getElementById("title").textContent = t(name);
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  const nav = document.getElementById("nav");
  for (const other of Object.keys(COLUMNS)) {
    const a = document.createElement("a");
    const q = new URLSearchParams(params);
    a.href = "/reports/" + other + "?" + q.toString();
    a.textContent = t(other);
    nav.appendChild(a);
  }
  const form = document.getElementById("filters");
  for (const f of FILTERS) if (params.get(f)) form.elements[f].value = params.get(f);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (token) q.set("token", token);
    q.set("lang", lang);
    for (const f of FILTERS) { const v = form.elements[f].value.trim(); if (v) q.set(f, v); }
    location.search = q.toString();
  });

  const api = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) api.set(f, params.get(f));
  for (const fmt of ["csv", "xlsx"]) {
    const q = new URLSearchParams(api); q.set("format", fmt); q.set("token", token);
    document.getElementById(fmt).href = "/v1/reports/" + name + "?" + q.toString();
  }
  const status = document.getElementById("status");
  status.textContent = t("loading");
  window.FW_REPORT = { ready: false, rows: null, chart: false };

  fetch("/v1/reports/" + name + "?" + api.toString(), { headers: { Authorization: "Bearer " + token } })
    .then(async (r) => {
      const body = await r.json().catch(() => ({}));
      if (r.status === 401) throw new Error(t("bad_token"));
      if (!r.ok) throw new Error(t("error", { detail: body.detail || r.status }));
      return body;
    })
    .then((doc) => {
      window.FW_REPORT.rows = doc.rows;
      status.textContent = doc.rows.length ? t("rows", { n: doc.rows.length }) : t("no_rows");
      table(doc.rows);
      if (name === "agent-log") timeline(doc.rows);
      else chart(doc.rows);
    })
    .catch((e) => { status.textContent = e.message; status.className = "error"; })
    .finally(() => { window.FW_REPORT.ready = true; });

  function fmt(k, v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number" && RATIOS.has(k)) return (v * 100).toFixed(1) + "%";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(1);
    if (typeof v === "boolean") return v ? "✓" : "";
    if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return v.slice(0, 16).replace("T", " ");
    return typeof v === "string" ? word(k, v) : String(v);
  }

  // a cell that is one of our own words, in the reader's language: an agent state, a row's level
  // (agent / team), a not-ready reason Floorwatch knows (term.reason.*); data names stay as written
  function word(k, v) {
    if (k === "state") return T[v] || window.FW_MSG.get(lang, "term.state." + v) || v;
    if (k === "level") return T[v] || v;
    if (k === "reason" && name === "agent-log") return window.FW_MSG.get(lang, "term.reason." + v) || v;
    return v;
  }

  function table(rows) {
    const cols = COLUMNS[name].filter((c) => rows.some((r) => r[c] !== undefined));
    window.FW_REPORT_COLUMNS = cols;  // which field each column shows (tests read the table by it)
    const head = document.querySelector("#table thead"), body = document.querySelector("#table tbody");
    const tr = document.createElement("tr");
    for (const c of cols) { const th = document.createElement("th"); th.textContent = t(c === "shift" ? "shift_pts" : c); tr.appendChild(th); }
    head.replaceChildren(tr);
    body.replaceChildren(...rows.map((r) => {
      const row = document.createElement("tr");
      for (const c of cols) {
        const td = document.createElement("td");
        td.textContent = fmt(c, r[c]);
        if (typeof r[c] === "string" || r[c] === null) td.className = "text";
        row.appendChild(td);
      }
      return row;
    }));
  }

  function chart(rows) {
    const el = document.getElementById("chart");
    if (!rows.length || !window.echarts) { el.style.display = "none"; return; }
    const c = window.echarts.init(el, "dark", { renderer: "canvas" });
    const opt = option(rows);
    opt.backgroundColor = "transparent";
    opt.animation = false;
    opt.tooltip = opt.tooltip || { trigger: "axis" };
    opt.legend = opt.legend || { top: 0 };
    c.setOption(opt);
    window.FW_REPORT.chart = true;
    window.addEventListener("resize", () => c.resize());
  }

  function by(rows, key) { const m = new Map(); for (const r of rows) { const k = r[key]; if (!m.has(k)) m.set(k, []); m.get(k).push(r); } return m; }
  function sum(rows, k) { return rows.reduce((a, r) => a + (r[k] || 0), 0); }

  function option(rows) {
    if (name === "project-daily") {
      const tot = rows.filter((r) => r.queue === null);
      const x = tot.map((r) => (r.day || r.interval_start).slice(0, 16).replace("T", " "));
      return {
        xAxis: { type: "category", data: x }, yAxis: [{ type: "value" }, { type: "value", max: 1 }],
        series: [
          { name: t("offered"), type: "bar", data: tot.map((r) => r.offered) },
          { name: t("answered"), type: "bar", data: tot.map((r) => r.answered) },
          { name: t("service_level"), type: "line", yAxisIndex: 1, data: tot.map((r) => r.service_level) },
        ],
      };
    }
    if (name === "staff-performance") {
      const top = rows.filter((r) => r.level === "agent").slice(0, 25);
      return {
        xAxis: { type: "category", data: top.map((r) => r.agent), axisLabel: { rotate: 45 } }, yAxis: { type: "value" },
        series: [{ name: t("calls"), type: "bar", data: top.map((r) => r.calls) },
                 { name: t("successes"), type: "bar", data: top.map((r) => r.successes) }],
      };
    }
    if (name === "project-progress") {
      const daily = rows.filter((r) => r.day !== null);
      const days = [...new Set(daily.map((r) => r.day))].sort();
      const series = [];
      for (const [p, rs] of by(daily, "project")) {
        const m = new Map(rs.map((r) => [r.day, r]));
        series.push({ name: p, type: "line", data: days.map((d) => (m.get(d) || {}).cumulative ?? null) });
        if (rs.some((r) => r.cumulative_plan !== null)) series.push({ name: p + " · " + t("cumulative_plan"), type: "line", lineStyle: { type: "dashed" }, data: days.map((d) => (m.get(d) || {}).cumulative_plan ?? null) });
      }
      return { xAxis: { type: "category", data: days }, yAxis: { type: "value" }, series };
    }
    if (name === "failure-reasons") {
      const m = new Map();
      for (const r of rows) { const k = r.reason || r.code; m.set(k, (m.get(k) || 0) + r.failures); }
      return { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: "65%", data: [...m].map(([k, v]) => ({ name: k, value: v })) }] };
    }
    if (name === "follow-ups") {
      const m = by(rows, "agent");
      return { xAxis: { type: "category", data: [...m.keys()] }, yAxis: { type: "value" },
        series: [{ name: t("follow-ups"), type: "bar", data: [...m.values()].map((rs) => rs.length) },
                 { name: t("overdue"), type: "bar", data: [...m.values()].map((rs) => rs.filter((r) => r.overdue).length) }] };
    }
    // agent-progress
    const top = rows.slice(0, 30);
    return { xAxis: { type: "category", data: top.map((r) => r.agent + " · " + r.project), axisLabel: { rotate: 45 } }, yAxis: { type: "value" },
      series: [{ name: t("successes"), type: "bar", data: top.map((r) => r.successes) },
               { name: t("target_share"), type: "bar", data: top.map((r) => r.target_share) }] };
  }

  function timeline(rows) {
    document.getElementById("chart").style.display = "none";
    const box = document.getElementById("timeline");
    if (!rows.length) return;
    const t0 = Math.min(...rows.map((r) => Date.parse(r.start))), t1 = Math.max(...rows.map((r) => Date.parse(r.end)));
    const legend = document.createElement("div"); legend.className = "legend";
    for (const s of ["available", "not_ready", "talking", "hold", "wrap"]) { const sp = document.createElement("span"); sp.className = "s-" + s; sp.textContent = t(s); legend.appendChild(sp); }
    box.appendChild(legend);
    for (const [agent, rs] of by(rows, "agent")) {
      const row = document.createElement("div"); row.className = "tl-row";
      const label = document.createElement("span"); label.textContent = agent;
      const bar = document.createElement("div"); bar.className = "timeline";
      for (const r of rs) {
        const d = document.createElement("div");
        d.className = "s-" + r.state;
        d.style.left = (100 * (Date.parse(r.start) - t0) / (t1 - t0)) + "%";
        d.style.width = (100 * (Date.parse(r.end) - Date.parse(r.start)) / (t1 - t0)) + "%";
        d.title = word("state", r.state) + (r.reason ? " (" + word("reason", r.reason) + ")" : "") + " " + fmt("start", r.start) + " – " + fmt("end", r.end);
        bar.appendChild(d);
      }
      row.append(label, bar); box.appendChild(row);
    }
    window.FW_REPORT.chart = true;
  }
})();
