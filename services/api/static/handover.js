// The shift handover: /handover?token=…&site=…&shift=…&day=YYYY-MM-DD&lang=zh|en
(async function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  // the language: ?lang= > the token's > the site default > the browser's (GET /v1/i18n decides)
  const asked = params.get("lang");
  const lang = await window.FW_MSG.load(token, asked, params.get("site")).catch(() => (asked === "zh" ? "zh" : "en"));
  const T = window.FW_MSG.labels(lang, "report.");
  const t = (k) => T[k] || k;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.getElementById("title").textContent = t("handover");
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  const form = document.getElementById("filters");
  for (const f of ["site", "shift", "day"]) if (params.get(f)) form.elements[f].value = params.get(f);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ token, lang });
    for (const f of ["site", "shift", "day"]) { const v = form.elements[f].value.trim(); if (v) q.set(f, v); }
    location.search = q.toString();
  });
  const api = new URLSearchParams();
  for (const f of ["site", "shift", "day"]) if (params.get(f)) api.set(f, params.get(f));
  const pdf = new URLSearchParams(api); pdf.set("format", "pdf"); pdf.set("lang", lang); pdf.set("token", token);
  document.getElementById("pdf").href = "/v1/handover?" + pdf.toString();
  const status = document.getElementById("status");
  window.FW_HANDOVER = { ready: false, doc: null };

  function cells(tr, values) { for (const v of values) { const td = document.createElement("td"); td.textContent = v ?? "–"; td.className = "text"; tr.appendChild(td); } return tr; }
  function rows(id, items, fn) {
    const body = document.querySelector("#" + id + " tbody");
    body.replaceChildren(...(items.length ? items.map((x) => cells(document.createElement("tr"), fn(x)))
      : [cells(document.createElement("tr"), [t("none")])]));
  }
  function num(v) { return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v; }

  function render(doc) {
    window.FW_HANDOVER.doc = doc;
    status.textContent = doc.site + " · " + doc.shift + " · " + doc.start.slice(0, 16).replace("T", " ") + " – " + doc.end.slice(0, 16).replace("T", " ");
    rows("kpis", doc.kpis, (k) => [t(k.kpi), num(k.value), k.target === undefined ? "" : t("target") + " " + k.op + " " + k.target, k.met === undefined || k.met === null ? "" : t(k.met ? "met" : "missed")]);
    const box = document.getElementById("alerts");
    box.replaceChildren();
    for (const part of ["raised", "acknowledged", "open"]) {
      const h = document.createElement("h3"); h.textContent = t(part) + ": " + doc.alerts[part].length; box.appendChild(h);
      const ul = document.createElement("ul");
      for (const a of doc.alerts[part]) {
        const li = document.createElement("li");
        // the alert's text and names in the reader's language (its English summary if it has no message)
        const sev = window.FW_MSG.get(lang, "wallboard." + a.severity) || a.severity;
        const rule = window.FW_MSG.get(lang, "term.rule." + a.rule) || a.rule;
        li.textContent = "[" + sev + "] " + rule + " — " + window.FW_MSG.render(a.message, lang, a.summary || "") + (a.ack ? " ✓ " + a.ack.by + " " + a.ack.at.slice(11, 16) + (a.ack.note ? " “" + a.ack.note + "”" : "") : "");
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
    rows("projects", doc.projects_behind, (p) => [p.project, p.done + " / " + num(p.planned), t("needed_per_h") + " " + num(p.needed_per_h)]);
    document.getElementById("fu-title").textContent = t("follow_ups_next") + " (" + doc.follow_ups_next_shift.shift + ")";
    rows("followups", doc.follow_ups_next_shift.items, (f) => [f.due_at.slice(0, 16).replace("T", " "), f.contact, f.agent, f.reason || f.code]);
    document.getElementById("note-shown").textContent = doc.note ? doc.note.note + " — " + doc.note.author + " " + doc.note.at.slice(0, 16).replace("T", " ") : t("none");
  }

  function load() {
    return fetch("/v1/handover?" + api.toString(), { headers: { Authorization: "Bearer " + token } })
      .then(async (r) => { const b = await r.json().catch(() => ({})); if (!r.ok) throw new Error(b.detail || r.status); return b; })
      .then(render)
      .catch((e) => { status.textContent = e.message; status.className = "error"; })
      .finally(() => { window.FW_HANDOVER.ready = true; });
  }
  document.getElementById("save").addEventListener("click", async () => {
    const doc = window.FW_HANDOVER.doc; if (!doc) return;
    const r = await fetch("/v1/handover/note", { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ site: doc.site, shift: doc.shift, day: doc.day, note: document.getElementById("note").value }) });
    const b = await r.json().catch(() => ({}));
    document.getElementById("saved").textContent = r.ok ? t("saved") : (b.detail || r.status);
    if (r.ok) { window.FW_HANDOVER.ready = false; load(); }
  });
  if (api.get("site") && api.get("shift")) load(); else window.FW_HANDOVER.ready = true;
})();
