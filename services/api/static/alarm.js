// Floorwatch wallboard: the audible alarm. The board sounds (a short two-tone beep every 2 s)
// and flashes while an alert at or above the configured severity is firing and nobody has
// acknowledged it; a silence, an inhibition or a quiet time of the notifier's file mutes it.
// Browsers only let a page make sound after a person interacts with it, so a TV shows a one-time
// "enable sound" button. The settings come from /v1/wallboard/sound (docs/notifications.md);
// ?sound=critical|warning|info|off on the URL overrides the severity for this screen.
// wallboard.js dispatches "floorwatch:alerts" (detail: the alerts) after each redraw.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || "";
  const asked = params.get("sound");
  // texts from the catalogue (i18n.js), in the language the wallboard chose
  function text(key) { return window.FW_MSG.text(window.FW_MSG.get(window.FW_MSG.language(), "alarm." + key) || key, {}); }
  const RANK = { info: 1, warning: 2, critical: 3 };
  const state = { severity: null, muted: false, alerts: [], ctx: null, timer: null };

  const button = document.createElement("button");
  button.id = "sound-enable";
  button.type = "button";
  button.dataset.testid = "sound-enable";
  button.textContent = text("enable");
  button.hidden = true;
  button.addEventListener("click", () => {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx) {
      state.ctx = new Ctx();
      state.ctx.resume();
    }
    button.hidden = true;
    update();
  });
  document.body.append(button);

  function beep() {
    const ctx = state.ctx;
    if (!ctx) return;
    const now = ctx.currentTime;
    [880, 660].forEach((hz, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.25, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.25);
      osc.stop(now + i * 0.25 + 0.23);
    });
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  }

  function alarming() {
    const min = RANK[state.severity];
    if (!min) return [];
    const now = Date.now();
    return state.alerts.filter((a) => a.state === "firing" && !a.ack && !a.inhibited_by && !a.grouped_into
      && !(a.silenced_until && Date.parse(a.silenced_until) > now) && (RANK[a.severity] || 0) >= min);
  }

  function update() {
    const active = alarming().length > 0;
    const mode = !active ? "off" : state.muted ? "muted" : "on";
    document.body.dataset.alarm = mode;
    document.body.classList.toggle("alarm", mode === "on");
    button.hidden = !state.severity || state.ctx !== null;
    button.textContent = text("enable");
    button.title = state.muted ? text("muted") : "";
    if (mode === "on" && state.timer === null) {
      beep();
      state.timer = setInterval(beep, 2000);
    } else if (mode !== "on" && state.timer !== null) {
      clearInterval(state.timer);
      state.timer = null;
    }
  }

  async function settings() {
    try {
      const r = await fetch("/v1/wallboard/sound", { headers: { Authorization: "Bearer " + token } });
      if (r.ok) {
        const s = await r.json();
        state.severity = asked === "off" ? null : (RANK[asked] ? asked : s.severity);
        state.muted = Boolean(s.muted);
      }
    } catch (e) { /* the next poll tries again */ }
    update();
  }

  window.addEventListener("floorwatch:alerts", (ev) => { state.alerts = ev.detail || []; update(); });
  settings();
  setInterval(settings, 30000);
})();
