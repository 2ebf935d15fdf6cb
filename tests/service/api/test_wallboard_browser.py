"""The wallboard in a real Chromium against a real uvicorn server fed by the fake feed.

Skipped when Chromium or Playwright is absent, except under CI=true where that is a failure.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from . import samples
from .conftest import ADMIN, WB_SALES, LiveServer
from .fakes import QueueFeed, RecordingSink

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FLOORWATCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why} (CI=true: the browser test may not skip)")
    pytest.skip(why)


def chromium_present() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    if not chromium_present():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium fonts-wqy-microhei)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-US")
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    await context.close()
    assert errors == [], errors


async def shot(pg: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await pg.screenshot(path=str(ARTIFACTS / f"wallboard-{name}.png"), full_page=True)


async def test_wallboard_live_values_alert_ack_reconnect_and_stale(
        feed: QueueFeed, sink: RecordingSink, server: LiveServer, page: Any) -> None:
    from playwright.async_api import expect

    feed.floor(samples.floor("bj-01"))
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=en&stale=2")

    sales = page.locator('.tile[data-queue="sales"]')
    await expect(sales.locator('[data-k="calls_waiting"]')).to_have_text("3")
    await expect(sales.locator('[data-k="aht_s"]')).to_have_text("5:02")  # 301.5 s
    await expect(sales.locator('[data-k="longest_wait_s"]')).to_have_text("0:30")
    await expect(sales.locator('[data-k="service_level"]')).to_have_text("80%")
    await expect(sales.locator('[data-k="abandon_rate"]')).to_have_text("5%")
    await expect(page.locator('.agent[data-agent="a2"] .agent-state')).to_have_text("Not ready · break")
    await expect(page.get_by_test_id("freshness")).to_contain_text("s old")

    # an alert appears within a second, and colours its queue's tile
    fed_at = time.monotonic()
    feed.alert(samples.alert("fp-1", severity="critical", summary="calls waiting 12 > 10"))
    item = page.locator('li.alert[data-fingerprint="fp-1"]')
    await expect(item).to_be_visible(timeout=1000)
    assert time.monotonic() - fed_at < 1.0
    await expect(sales).to_have_class("tile sev-critical")
    await expect(page.locator('.tile[data-queue="support"]')).to_have_class("tile")
    await shot(page, "en-alert")

    # Acknowledge reaches the command sink
    await item.get_by_role("button", name="Acknowledge").click()
    [(site, command)] = await sink.wait(1)
    assert (site, command["op"], command["fingerprint"], command["by"]) == ("bj-01", "ack", "fp-1", "admin")
    await expect(page.get_by_test_id("ack-status")).to_have_text("Acknowledgement sent")

    # the server drops the page as too slow; an alert comes while it is away; the page comes back
    # by itself, resumes its session (same id, no fresh hello) and shows the alert
    hub = server.server.config.app.state.floorwatch.hub
    [session] = hub.sessions()
    hub.close(session, 4008, resumable=True)
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "closed")
    feed.alert(samples.alert("fp-2", queue="support", summary="support queue long"))
    await expect(page.locator('li.alert[data-fingerprint="fp-2"]')).to_be_visible(timeout=5000)
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "open")
    assert [s.id for s in hub.sessions()] == [session.id]
    assert session.connected

    # the feed stops: after the 2 s threshold of ?stale=2 the page says so
    banner = page.get_by_test_id("stale-banner")
    feed.floor(samples.floor("bj-01", seq=2, as_of="2026-11-28T09:15:01+08:00"))
    await expect(banner).to_be_hidden()
    await expect(banner).to_be_visible(timeout=4000)
    await expect(banner).to_contain_text("STALE")
    await shot(page, "en-stale")
    feed.floor(samples.floor("bj-01", seq=3, as_of="2026-11-28T09:15:02+08:00"))
    await expect(banner).to_be_hidden(timeout=2000)


async def test_wallboard_in_chinese_and_wallboard_mode(feed: QueueFeed, server: LiveServer,
                                                       page: Any) -> None:
    from playwright.async_api import expect

    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-1"))
    await feed.drained()
    await page.goto(f"{server.url}/wallboard?token={WB_SALES}&lang=zh&mode=wallboard")
    sales = page.locator('.tile[data-queue="sales"]')
    await expect(sales.locator('[data-k="calls_waiting"]')).to_have_text("3")
    text = await sales.inner_text()
    for label in ("排队数", "最长等待", "服务水平", "平均应答", "平均处理时长", "放弃率"):
        assert label in text
    await expect(page.locator("h2").first).to_have_text("告警")
    # a queue-scoped wallboard never shows the other queue, and has no Acknowledge button
    await expect(page.locator('.tile[data-queue="support"]')).to_have_count(0)
    await expect(page.locator('li.alert[data-fingerprint="fp-1"]')).to_be_visible()
    await expect(page.locator("button.ack")).to_have_count(0)
    await shot(page, "zh-wallboard")


async def test_project_progress_bars_and_threshold_levels(feed: QueueFeed, server: LiveServer,
                                                           page: Any) -> None:
    from playwright.async_api import expect

    # rule set: calls_waiting > 5 (clears at 1), longest_wait_s > 90 critical (clears at 60)
    feed.rules(samples.ruleset(waiting=5))
    feed.floor(samples.floor_with_projects("bj-01") | {"queues": [
        samples.queue_row("sales", 3, longest_wait_s=95.0), samples.queue_row("support", 7)]})
    await feed.drained()
    await page.goto(f"{server.url}/wallboard?token={ADMIN}&lang=en&mode=wallboard")

    kd = page.locator('.project[data-project="kd-upgrade"]')
    await expect(kd.locator('[data-k="done"]')).to_have_text("40")
    await expect(kd.locator(".project-target")).to_have_text("/ 200")
    await expect(kd.locator('[data-k="vs_plan"]')).to_have_text("80% of plan")
    await expect(kd.locator(".project-title")).to_have_text("宽带提速")
    await expect(kd).to_contain_text("10 behind")
    await expect(kd).to_contain_text("+7/h needed")
    assert await kd.locator(".bar").get_attribute("aria-valuenow") == "40"
    # the bar is filled to done / target = 20 %, the plan marker sits at planned / target = 25 %
    fill = await kd.locator(".bar-fill").evaluate("e => e.style.width")
    marker = await kd.locator(".bar-plan").evaluate("e => e.style.left")
    assert (fill, marker) == ("20%", "25%")
    await expect(page.locator(".project")).to_have_count(3)
    mixed = page.locator('.project[data-project="mixed"] [data-k="vs_plan"]')
    await expect(mixed).to_have_text("120% of plan")

    # thresholds colour the figures: support 7 waiting > 5 (warning), sales 3 only past clear 1
    # ("near"), sales longest wait 95 s > 90 (critical); the tile border still follows alerts only
    support = page.locator('.tile[data-queue="support"]')
    sales = page.locator('.tile[data-queue="sales"]')
    await expect(support.locator(".big")).to_have_attribute("data-level", "warning")
    await expect(sales.locator(".big")).to_have_attribute("data-level", "near")
    longest, aht = (sales.locator(f'.kpi:has([data-k="{k}"])') for k in ("longest_wait_s", "aht_s"))
    await expect(longest).to_have_attribute("data-level", "critical")
    await expect(aht).not_to_have_attribute("data-level", "critical")
    await expect(support).to_have_class("tile")
    await shot(page, "en-projects")

    # a queue-scoped wallboard shows only the project on its queue, in Chinese
    await page.goto(f"{server.url}/wallboard?token={WB_SALES}&lang=zh&mode=wallboard")
    await expect(page.locator(".project")).to_have_count(1)
    kd = page.locator('.project[data-project="kd-upgrade"] [data-k="vs_plan"]')
    await expect(kd).to_have_text("完成计划 80%")
    await expect(page.locator("#projects-wrap h2")).to_have_text("项目进度")
    await shot(page, "zh-projects")


async def test_bad_token_is_shown_not_retried(server: LiveServer, page: Any) -> None:
    from playwright.async_api import expect

    await page.goto(f"{server.url}/wallboard?token=wrong&lang=en")
    await expect(page.get_by_test_id("stale-banner")).to_contain_text("Invalid or missing token")
