// Floorwatch wallboard: one WebSocket (/v1/stream), state kept here, the DOM redrawn from it.
// All data goes into the page through textContent, never as HTML.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const wallMode = params.get("mode") === "wallboard";
  const staleAfterS = Number(params.get("stale")) > 0 ? Number(params.get("stale")) : 10;
  const sitesWanted = params.get("site") ? params.get("site").split(",") : null;
  // the language: ?lang= > the token's > the site default > the browser's (GET /v1/i18n decides)
  let lang = "en";
  let T = {};

  const state = {
    floors: {},          // site -> FloorSnapshot
    received: {},        // site -> performance.now() when its snapshot arrived
    alerts: new Map(),   // fingerprint -> transition
    resolved: [],        // recently resolved alerts that had fired: {alert, at}, newest first (bounded)
    rules: [],           // the engine's rule set (/v1/rules), for threshold levels on the tiles
    expanded: new Set(), // fingerprints of group alerts whose member list is open (kept across redraws)
    role: null, session: null, seq: 0,
    lastData: null,      // performance.now() of the last hello/resync/floor/alert
    ws: null, backoff: 0, retryAt: null, fatal: null,
  };

  document.body.classList.toggle("wallmode", wallMode);

  function useLanguage(chosen) {
    lang = chosen;
    T = window.FW_MSG.labels(lang, "wallboard.");
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.documentElement.dataset.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => {
      if (T[el.dataset.i18n] !== undefined) el.textContent = T[el.dataset.i18n];  // else the page's English
    });
    if (T.title !== undefined) document.title = T.title;
  }
  // an alert's text in the reader's language: its message, else (an old transition) its summary
  function said(a) { return window.FW_MSG.render(a.message, lang, a.summary); }
  function t(key, vars) {
    let s = T[key] !== undefined ? T[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---- formatting ------------------------------------------------------------------------
  const dash = "–";
  // durations as the catalogue writes them: 1:14 / 1分14秒
  function mmss(s) { return s === null || s === undefined ? dash : window.FW_MSG.duration(s, lang); }
  function pct(x) { return x === null || x === undefined ? dash : Math.round(x * 100) + "%"; }
  function secs(x) {
    return x === null || x === undefined ? dash : window.FW_MSG.text(window.FW_MSG.get(lang, "fmt.seconds") || "{n} s", { n: Math.round(x) }, lang);
  }
  const FORMAT = { calls_waiting: (x) => (x === null || x === undefined ? dash : String(x)),
                   longest_wait_s: mmss, service_level: pct, asa_s: secs, aht_s: mmss, abandon_rate: pct };
  const METRICS = ["longest_wait_s", "service_level", "asa_s", "aht_s", "abandon_rate"];
  const SEVERITY_RANK = { critical: 0, warning: 1 };

  // ---- connection --------------------------------------------------------------------------
  function connect() {
    if (state.fatal) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let url = scheme + "//" + location.host + "/v1/stream?token=" + encodeURIComponent(token);
    const resuming = state.session !== null;
    if (resuming) url += "&session=" + encodeURIComponent(state.session);
    const ws = new WebSocket(url);
    state.ws = ws;
    state.retryAt = null;
    ws.onopen = () => {
      if (resuming) ws.send(JSON.stringify({ op: "resume", since: state.seq }));
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(ws, msg);
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.ws = null;
      if (ev.code === 4401) { state.fatal = t("bad_token"); render(); return; }
      if (ev.code === 4008) state.backoff = 0;  // too slow: come back at once and resume
      const delay = Math.min(15, 0.5 * Math.pow(2, state.backoff)) * (0.8 + Math.random() * 0.4);
      state.backoff += 1;
      state.retryAt = performance.now() + delay * 1000;
      setTimeout(connect, delay * 1000);
      render();
    };
  }

  function onMessage(ws, msg) {
    if (msg.type === "hello" || msg.type === "resync") {
      if (msg.type === "hello") { state.session = msg.session; state.role = msg.role; }
      state.seq = msg.seq;
      state.floors = msg.floor || {};
      const now = performance.now();
      state.received = {};
      for (const site of Object.keys(state.floors)) state.received[site] = now;
      state.alerts = new Map((msg.alerts || []).map((a) => [a.fingerprint || a.id, a]));
      state.backoff = 0;
      state.lastData = now;
      loadRules();
      const sites = msg.scope && msg.scope.sites;
      if (msg.type === "hello" && sitesWanted && (!sites || sites.some((x) => !sitesWanted.includes(x)))) {
        // narrow to the sites named in the URL; the server answers with a new hello
        ws.send(JSON.stringify({ op: "subscribe", sites: sitesWanted }));
      }
      render();
      return;
    }
    if (typeof msg.seq === "number") {
      if (msg.seq !== state.seq + 1) { ws.close(4000, "seq gap"); return; }  // resume fills the gap
      state.seq = msg.seq;
    }
    if (msg.type === "floor") {
      state.floors[msg.site] = msg.floor;
      state.received[msg.site] = performance.now();
      state.lastData = performance.now();
      state.backoff = 0;
      render();
    } else if (msg.type === "alert") {
      const a = msg.alert, key = a.fingerprint || a.id;
      if (a.state === "resolved") {
        state.alerts.delete(key);
        if (a.previous === "firing" && !a.grouped_into) remember(a);
      } else state.alerts.set(key, a);
      state.lastData = performance.now();
      render();
    }
  }

  // ---- acknowledge -----------------------------------------------------------------------
  async function acknowledge(fingerprint, button) {
    button.disabled = true;
    const status = document.getElementById("ack-status");
    try {
      const r = await fetch("/v1/alerts/" + encodeURIComponent(fingerprint) + "/ack", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
        body: JSON.stringify({ note: "" }),
      });
      if (r.status === 202) { status.textContent = t("ack_sent"); return; }
      let detail = r.status + "";
      try { detail = (await r.json()).detail || detail; } catch (e) { /* keep the status */ }
      status.textContent = t("ack_failed", { detail });
    } catch (e) {
      status.textContent = t("ack_failed", { detail: String(e) });
    }
    button.disabled = false;
  }

  // ---- rules (thresholds colour the queue figures) -------------------------------------------
  async function loadRules() {
    try {
      const r = await fetch("/v1/rules", { headers: { Authorization: "Bearer " + token } });
      if (!r.ok) return;
      const body = await r.json();
      state.rules = body.source === "engine" ? body.rules || [] : [];
      render();
    } catch (e) { /* keep the rules we have */ }
  }

  // ---- rendering -------------------------------------------------------------------------
  function firingFor(site, queue) {
    let worst = null;
    for (const a of state.alerts.values()) {
      const s = a.scope || {};
      if (a.state !== "firing" || a.inhibited_by || s.site !== site || s.queue !== queue) continue;
      if (worst === null || (SEVERITY_RANK[a.severity] ?? 9) < (SEVERITY_RANK[worst] ?? 9)) worst = a.severity;
    }
    return worst;
  }

  function agentChips(agents) {
    const box = el("div", "chips");
    for (const [st, n] of Object.entries(agents || {})) {
      if (!n) continue;
      const chip = el("span", "chip st-" + st, n + " " + t(st));
      chip.dataset.state = st;
      box.append(chip);
    }
    return box;
  }

  function tile(site, row, label, severity) {
    const box = el("article", "tile" + (severity ? " sev-" + severity : ""));
    box.dataset.site = site;
    if (row.queue) box.dataset.queue = row.queue;
    box.append(el("h3", "tile-name", label));
    const big = el("div", "big");
    big.append(el("span", "big-value", FORMAT.calls_waiting(row.calls_waiting)));
    big.lastChild.dataset.k = "calls_waiting";
    markLevel(big, site, row, "calls_waiting");
    big.append(el("span", "big-label", t("calls_waiting")));
    box.append(big);
    const grid = el("dl", "kpis");
    for (const k of METRICS) {
      const cell = el("div", "kpi");
      cell.append(el("dt", null, t(k)));
      const dd = el("dd", null, FORMAT[k](row[k]));
      dd.dataset.k = k;
      cell.append(dd);
      markLevel(cell, site, row, k);
      grid.append(cell);
    }
    box.append(grid);
    box.append(agentChips(row.agents));
    return box;
  }

  function markLevel(node, site, row, metric) {
    const lv = row.queue ? window.FW_PROJECTS.level(state.rules, site, row, metric) : null;
    if (lv) { node.classList.add("lvl-" + lv); node.dataset.level = lv; }
  }

  function renderProjects() {
    const n = window.FW_PROJECTS.renderProjects(document.getElementById("projects"), state.floors, t, lang);
    document.getElementById("projects-wrap").hidden = n === 0;
  }

  function renderTiles() {
    const root = document.getElementById("tiles");
    const frag = document.createDocumentFragment();
    const sites = Object.keys(state.floors).sort();
    for (const site of sites) {
      const f = state.floors[site];
      if (sites.length > 1) frag.append(el("h2", "site-name", site));
      for (const q of f.queues || []) frag.append(tile(site, q, q.queue, firingFor(site, q.queue)));
      if ((f.queues || []).length !== 1 && f.totals) {
        const total = tile(site, f.totals, t("site_total"), null);
        total.classList.add("total");
        frag.append(total);
      }
    }
    root.replaceChildren(frag);
    document.getElementById("sites").textContent = sites.join(" · ");
  }

  function renderAgents() {
    const root = document.getElementById("agents");
    const frag = document.createDocumentFragment();
    for (const site of Object.keys(state.floors).sort()) {
      const f = state.floors[site];
      const base = Date.parse(f.as_of);
      for (const a of f.agents || []) {
        const card = el("div", "agent st-" + a.state);
        card.dataset.agent = a.agent;
        card.append(el("span", "agent-id", a.agent));
        card.append(el("span", "agent-state", t(a.state) + (a.reason ? " · " + t(a.reason) : "")));
        const time = el("span", "agent-time");
        // elapsed = (as_of - since) on the server's clock + time since the snapshot arrived here
        time.dataset.base = String(Math.max(0, (base - Date.parse(a.since)) / 1000));
        time.dataset.site = site;
        card.append(time);
        frag.append(card);
      }
    }
    root.replaceChildren(frag);
    tickAgents();
  }

  function tickAgents() {
    const now = performance.now();
    document.querySelectorAll(".agent-time").forEach((e) => {
      const got = state.received[e.dataset.site];
      const base = Number(e.dataset.base);
      e.textContent = Number.isFinite(base) && got !== undefined ? mmss(base + (now - got) / 1000) : dash;
    });
  }

  // An alert folded into a group alert (grouped_into) is shown inside the group's row, unless
  // that group is not here (out of this token's scope): then it stands alone.
  function folded(a) { return Boolean(a.grouped_into) && state.alerts.has(a.grouped_into); }

  function groupMembers(key) {
    const members = [...state.alerts.values()].filter((m) => m.grouped_into === key);
    return members.sort((a, b) => String((a.scope || {}).agent).localeCompare(String((b.scope || {}).agent)));
  }

  function memberList(key, members) {
    const box = el("details", "alert-members");
    box.open = state.expanded.has(key);
    box.addEventListener("toggle", () => {
      if (box.open) state.expanded.add(key); else state.expanded.delete(key);
    });
    box.append(el("summary", null, t("group_members", { n: members.length })));
    const ul = el("ul");
    for (const m of members) {
      const row = el("li", "alert-member state-" + m.state, said(m));
      row.dataset.fingerprint = m.fingerprint || m.id;
      ul.append(row);
    }
    box.append(ul);
    return box;
  }

  // Resolutions stay readable on the supervisor page for a while: one folded line, like pending.
  const RESOLVED_KEEP = 20, RESOLVED_FOR_MS = 15 * 60 * 1000;
  function remember(a) {
    state.resolved = [{ alert: a, at: performance.now() }, ...state.resolved.filter((r) =>
      (r.alert.fingerprint || r.alert.id) !== (a.fingerprint || a.id))].slice(0, RESOLVED_KEEP);
  }
  function resolvedBox() {
    const now = performance.now();
    state.resolved = state.resolved.filter((r) => now - r.at < RESOLVED_FOR_MS);
    if (!state.resolved.length) return null;
    const li = el("li", "alert-resolved");
    li.dataset.count = String(state.resolved.length);
    const box = el("details");
    box.open = state.expanded.has("resolved");
    box.addEventListener("toggle", () => {
      if (box.open) state.expanded.add("resolved"); else state.expanded.delete("resolved");
    });
    box.append(el("summary", null, t("resolved_count", { n: state.resolved.length })));
    const ul = el("ul");
    for (const r of state.resolved) {
      const row = el("li", "alert-member state-resolved", said(r.alert));
      row.dataset.fingerprint = r.alert.fingerprint || r.alert.id;
      ul.append(row);
    }
    box.append(ul);
    li.append(box);
    return li;
  }

  function pendingBox(waiting) {
    const li = el("li", "alert-pending");
    li.dataset.count = String(waiting.length);
    const box = el("details");
    box.open = state.expanded.has("pending");
    box.addEventListener("toggle", () => {
      if (box.open) state.expanded.add("pending"); else state.expanded.delete("pending");
    });
    box.append(el("summary", null, t("pending_count", { n: waiting.length })));
    const ul = el("ul");
    for (const a of waiting) {
      const row = el("li", "alert-member state-pending", said(a));
      row.dataset.fingerprint = a.fingerprint || a.id;
      ul.append(row);
    }
    box.append(ul);
    li.append(box);
    return li;
  }

  function renderAlerts() {
    const root = document.getElementById("alerts");
    const shown = [...state.alerts.values()].filter((a) => !folded(a) && !a.inhibited_by).sort((a, b) =>
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9)
      || String(a.started_at).localeCompare(String(b.started_at)));
    // Pending alerts have not fired (their `for` is running) and most never will: they are not
    // rows. The supervisor page folds them into one muted line; the TV wallboard leaves them out.
    const list = shown.filter((a) => a.state !== "pending");
    const waiting = wallMode ? [] : shown.filter((a) => a.state === "pending");
    const frag = document.createDocumentFragment();
    const canAck = !wallMode && (state.role === "admin" || state.role === "supervisor");
    for (const a of list) {
      const li = el("li", "alert sev-" + a.severity + " state-" + a.state);
      li.dataset.fingerprint = a.fingerprint || a.id;
      const head = el("div", "alert-head");
      head.append(el("span", "alert-state", t(a.state)));
      const s = a.scope || {};
      head.append(el("span", "alert-scope", [s.site, s.queue, s.team, s.agent, s.campaign].filter(Boolean).join(" / ")));
      li.append(head);
      li.append(el("div", "alert-summary", said(a)));
      const members = groupMembers(a.fingerprint || a.id);
      if (members.length) {
        li.dataset.members = String(members.length);
        li.append(memberList(a.fingerprint || a.id, members));
      }
      if (a.ack) li.append(el("div", "alert-ack", t("acked_by", { by: a.ack.by })));
      if (canAck && !a.ack) {
        const b = el("button", "ack", t("ack"));
        b.type = "button";
        b.addEventListener("click", () => acknowledge(a.fingerprint || a.id, b));
        li.append(b);
      }
      frag.append(li);
    }
    if (waiting.length) frag.append(pendingBox(waiting));
    const recent = wallMode ? null : resolvedBox();
    if (recent) frag.append(recent);
    root.replaceChildren(frag);
    document.getElementById("no-alerts").hidden = list.length + waiting.length > 0;
  }

  function renderStatus() {
    const now = performance.now();
    const fresh = document.getElementById("freshness");
    const banner = document.getElementById("banner");
    const age = state.lastData === null ? null : (now - state.lastData) / 1000;
    fresh.textContent = age === null ? t("no_data") : t("data_age", { s: Math.floor(age) });
    const stale = state.fatal !== null || age === null || age > staleAfterS;
    document.body.classList.toggle("stale", stale);
    document.getElementById("overlay").hidden = !stale;
    banner.hidden = !stale;
    banner.textContent = state.fatal || (age === null ? t("no_data") : t("stale", { s: Math.floor(age) }));
    const conn = document.getElementById("conn");
    if (state.ws && state.ws.readyState === WebSocket.OPEN) conn.textContent = t("connected");
    else if (state.retryAt) conn.textContent = t("reconnecting", { s: Math.max(0, Math.ceil((state.retryAt - now) / 1000)) });
    else conn.textContent = t("connecting");
    conn.dataset.state = state.ws && state.ws.readyState === WebSocket.OPEN ? "open" : "closed";
    // the site's time (its UTC offset from the latest floor snapshot), not the browser's zone;
    // before the first snapshot the site's offset is unknown: no time rather than a wrong one
    const first = Object.values(state.floors)[0];
    const clock = document.getElementById("clock");
    clock.textContent = first ? window.FW_MSG.siteTime(Date.now(), window.FW_MSG.offsetOf(first.as_of), lang) : "--:--:--";
  }

  let pending = false;
  function render() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderTiles();
      renderProjects();
      renderAgents();
      renderAlerts();
      renderStatus();
      // the audible alarm (alarm.js) follows the alerts
      window.dispatchEvent(new CustomEvent("floorwatch:alerts", { detail: [...state.alerts.values()] }));
    });
  }

  // the catalogue: until it arrives (a failed fetch is retried), the page's own English stands
  async function loadLanguage() {
    try {
      useLanguage(await window.FW_MSG.load(token, params.get("lang"), params.get("site")));
      render();
    } catch (e) {
      setTimeout(loadLanguage, 5000);
    }
  }
  async function start() {
    await loadLanguage();
    setInterval(() => { tickAgents(); renderStatus(); }, 250);
    setInterval(() => { if (state.ws && !state.fatal) loadRules(); }, 60000);
    renderStatus();
    connect();
  }
  start();
})();
