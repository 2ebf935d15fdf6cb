// Floorwatch wallboard: project progress bars (floor snapshot `projects`) and threshold levels
// (the rule set of /v1/rules) for the queue tiles. Pure DOM builders; wallboard.js owns the state.
// All data goes into the page through textContent, never as HTML.
(function () {
  "use strict";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(x) { return x === null || x === undefined ? "–" : String(Math.round(x)); }
  function share(x, of) { return of > 0 ? Math.max(0, Math.min(100, (x / of) * 100)) : 0; }
  // the site's time (the offset the engine wrote), in the reader's locale
  function hhmm(iso, lang) {
    return window.FW_MSG.siteTime(iso, window.FW_MSG.offsetOf(iso), lang, { hour: "2-digit", minute: "2-digit" });
  }

  // One project: title, done / target, % of plan, a bar with the plan-now marker, how to recover.
  function projectCard(site, p, t, lang) {
    const card = el("article", "project st-" + p.status);
    card.dataset.site = site;
    card.dataset.project = p.project;
    const head = el("div", "project-head");
    head.append(el("h3", "project-title", p.title || p.project));
    const count = el("span", "project-count", num(p.done));
    count.dataset.k = "done";
    head.append(count, el("span", "project-target", "/ " + num(p.target)));
    const pct = el("span", "project-pct", p.vs_plan === null || p.vs_plan === undefined
      ? t("project_" + p.status) : t("of_plan", { pct: Math.round(p.vs_plan * 100) }));
    pct.dataset.k = "vs_plan";
    head.append(pct);
    card.append(head);

    const bar = el("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", String(p.target));
    bar.setAttribute("aria-valuenow", String(p.done));
    const fill = el("div", "bar-fill");
    fill.style.width = share(p.done, p.target) + "%";
    const plan = el("div", "bar-plan");
    plan.style.left = share(p.planned, p.target) + "%";
    plan.title = t("plan_now", { n: num(p.planned) });
    bar.append(fill, plan);
    card.append(bar);

    const foot = el("div", "project-foot");
    const gap = p.behind > 0 ? t("behind_by", { n: num(p.behind) }) : t("ahead_by", { n: num(-p.behind) });
    const parts = [el("span", "project-gap", gap), el("span", null, t("plan_now", { n: num(p.planned) }))];
    if (p.status === "behind" && p.extra_per_h !== null && p.extra_per_h > 0) {
      parts.push(el("span", "project-need", t("needs_per_h", { n: num(p.extra_per_h) })));
    }
    if (p.projected_finish && p.done < p.target && (p.status === "behind" || p.status === "ahead")) {
      parts.push(el("span", null, t("finish_at", { t: hhmm(p.projected_finish, lang) })));
    }
    parts.forEach((part, i) => { if (i) foot.append(" · "); foot.append(part); });
    card.append(foot);
    return card;
  }

  function renderProjects(root, floors, t, lang) {
    const frag = document.createDocumentFragment();
    const sites = Object.keys(floors).sort();
    let n = 0;
    for (const site of sites) {
      for (const p of floors[site].projects || []) {
        frag.append(projectCard(site, p, t, lang));
        n += 1;
      }
    }
    root.replaceChildren(frag);
    return n;
  }

  // ---- thresholds ----------------------------------------------------------------------------
  const OPS = { ">": (a, b) => a > b, ">=": (a, b) => a >= b, "<": (a, b) => a < b, "<=": (a, b) => a <= b };
  const RANK = { critical: 3, warning: 2, info: 1, near: 0 };

  // The level of one queue figure against the threshold rules on it: the rule's severity when the
  // figure is beyond its entry threshold, "near" when it is only beyond its clear threshold, else
  // null. Rules with extra conditions (`when`) are left to the alerts they raise; a rule needing a
  // sample counts the queue's offered calls.
  function level(rules, site, row, metric) {
    const value = row[metric];
    if (value === null || value === undefined) return null;
    let best = null;
    for (const r of rules || []) {
      if (r.kind !== "threshold" || r.scope !== "queue" || r.metric !== metric || !OPS[r.op]) continue;
      const m = r.match || {};
      if ((m.site && m.site !== site) || (m.queue && m.queue !== row.queue) || (r.when && r.when.length)) continue;
      if (r.min_sample && !((row.offered || 0) >= r.min_sample)) continue;
      let got = null;
      if (OPS[r.op](value, r.entry)) got = r.severity;
      else if (r.clear !== null && r.clear !== undefined && r.clear !== r.entry && OPS[r.op](value, r.clear)) got = "near";
      if (got !== null && (best === null || (RANK[got] ?? 0) > (RANK[best] ?? 0))) best = got;
    }
    return best;
  }

  window.FW_PROJECTS = { renderProjects, level };
})();
