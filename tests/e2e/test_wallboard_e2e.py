"""The wallboard end to end, in a real Chromium: `floorwatch up --simulate` (real broker, all
services as processes), plus a tripping burst of canonical events of our own to the raw topic.

* live tiles render from the simulated floor;
* our alert is drawn within a second of its WebSocket message arriving in the page (measured in the
  page: message receipt vs the moment the DOM shows it);
* clicking Acknowledge reaches the REST API, the engine and comes back: GET /v1/alerts shows the
  ack, and the audit log has the entry;
* when the stream stops (the whole system is stopped) the stale banner appears.

Screenshots go to test-artifacts/. Fails (never skips) under CI=true when Chromium is missing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shared.config import Settings
from tests.support.kafkautil import canonical, produce
from tests.support.upproc import TOKEN, Up

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.kafka]

CHROMIUM = os.environ.get("FLOORWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

RULES = """
rules:
  - name: e2e-backlog
    metric: calls_waiting
    scope: queue
    op: ">"
    value: 2
    clear: 0
    severity: critical
    summary: "{queue}: {value:.0f} calls waiting"
"""
SITE = "e2e-site"

# Records, in the page, when each alert message arrived and when its list item first appeared.
PROBE = """
(() => {
  window.__fw = {received: {}, shown: {}};
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener("message", (ev) => {
      try {
        const m = JSON.parse(ev.data);
        const alerts = m.type === "alert" ? [m.alert] : (m.alerts || []);
        for (const a of alerts) {
          const fp = a.fingerprint || a.id;
          if (!(fp in window.__fw.received)) window.__fw.received[fp] = performance.now();
        }
      } catch (e) { /* not ours to judge */ }
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  new MutationObserver(() => {
    for (const li of document.querySelectorAll("li.alert[data-fingerprint]")) {
      const fp = li.dataset.fingerprint;
      if (!(fp in window.__fw.shown)) window.__fw.shown[fp] = performance.now();
    }
  }).observe(document, {subtree: true, childList: true});
})();
"""


def unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why} (CI=true: the browser test may not skip)")
    pytest.skip(why)


def chromium_present() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"e2e-wallboard-{name}.png"), full_page=True)


async def test_wallboard_against_floorwatch_up(settings: Settings, tmp_path: Path) -> None:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not chromium_present():
        unavailable(f"Chromium not found at {CHROMIUM}")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    up = Up(settings, tmp_path, "--rules", str(rules), "--simulate", "--agents", "8", "--time-scale", "5")
    try:
        await asyncio.to_thread(up.wait_ready)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                await _scenario(browser, up, settings)
            finally:
                await browser.close()
    finally:
        if up.proc.poll() is None:
            up.stop()


async def _scenario(browser: Any, up: Up, settings: Settings) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
    await context.add_init_script(PROBE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{up.base}/wallboard?token={TOKEN}&lang=en&stale=3")

    # live tiles from the simulated floor
    await expect(page.locator('.tile[data-site="bj-01"]').first).to_be_visible(timeout=45_000)
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "open")
    await expect(page.locator(".agent").first).to_be_visible(timeout=30_000)
    await shot(page, "live")

    # our own site: four calls queue and nobody answers -> e2e-backlog fires
    now = dt.datetime.now(dt.UTC)
    events = [
        canonical(
            "call.queued",
            site=SITE,
            ts=(now + dt.timedelta(milliseconds=100 * i)).isoformat(),
            call=f"e2e-c{i}",
            queue="sales",
        )
        for i in range(4)
    ]
    await asyncio.to_thread(
        produce, settings, settings.topic("raw"), [orjson.dumps(e) for e in events], SITE.encode()
    )
    item = page.locator(f'li.alert:has(.alert-scope:text-is("{SITE} / sales"))')
    await expect(item).to_be_visible(timeout=30_000)
    fingerprint = await item.get_attribute("data-fingerprint")
    assert fingerprint
    timing = await page.evaluate("fp => [window.__fw.received[fp], window.__fw.shown[fp]]", fingerprint)
    received_ms, shown_ms = timing
    assert received_ms is not None and shown_ms is not None, timing
    render_ms = shown_ms - received_ms
    # timeline: WebSocket message (received_ms) -> requestAnimationFrame render -> <li> in the DOM (shown_ms)
    assert 0 <= render_ms < 1000, f"alert drawn {render_ms:.0f} ms after its message arrived"
    await expect(page.locator(f'.tile[data-site="{SITE}"][data-queue="sales"]')).to_have_class(
        "tile sev-critical"
    )
    await shot(page, "alert")

    # Acknowledge in the page -> REST -> control topic -> engine -> transition -> GET /v1/alerts
    await item.get_by_role("button", name="Acknowledge").click()
    await expect(page.get_by_test_id("ack-status")).to_have_text("Acknowledgement sent")
    await expect(item.locator(".alert-ack")).to_have_text("Ack by admin", timeout=20_000)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=up.base, headers=headers, timeout=5) as http:
        alert = (await http.get(f"/v1/alerts/{fingerprint}")).json()
        assert alert["ack"]["by"] == "admin"
        audit = (await http.get("/v1/audit", params={"action": "alert.ack", "target": fingerprint})).json()
        assert [(e["actor"], e["site"]) for e in audit["entries"]] == [("admin", SITE)]
    await shot(page, "acked")

    # the stream stops: the whole system goes down; after the 3 s threshold the banner says so
    stopped_at = time.monotonic()
    code = await asyncio.to_thread(up.stop)
    assert code == 0, up.tail()
    banner = page.get_by_test_id("stale-banner")
    await expect(banner).to_be_visible(timeout=15_000)
    await expect(banner).to_contain_text("STALE")
    await shot(page, "stale")
    print(
        f"alert render {render_ms:.1f} ms after its WebSocket message; stale banner "
        f"{time.monotonic() - stopped_at:.1f} s after the stop began"
    )
    assert errors == [], errors
    await context.close()
