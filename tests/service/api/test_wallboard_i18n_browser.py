"""Issue 15, as judged: every alert of the default rule set, firing and resolved, read on a zh
wallboard in a real browser carries no English word but the data's names (real Chromium; skipped
like test_wallboard_browser.py when it is absent, never under CI=true).

The alerts are the engine's own transitions (tests/support/default_alerts.py); the page renders
their ``message`` with the served catalogue, and what it shows must equal what the Python renderer
(shared/i18n/render.py, used by notifications) makes of the same message, in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from shared.i18n import load_catalogue, render_message
from tests.support.default_alerts import default_rule_alerts

from .conftest import ADMIN, LiveServer
from .fakes import QueueFeed
from .test_wallboard_browser import browser, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
NAME_PARAMS = ("site", "queue", "team", "agent", "title", "source", "scope_name")  # the data's names


def _names(value: Any) -> Iterable[str]:
    """The data's names a message carries: scope names, project titles, sources (at any depth)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in NAME_PARAMS and isinstance(v, str):
                yield v
            yield from _names(v)


def english_words(text: str, alert: dict[str, Any]) -> list[str]:
    allowed = set(alert["scope"].values()) | set(_names(alert.get("message") or {}))
    words = set()
    for name in sorted(filter(None, allowed), key=len, reverse=True):  # whole, dashes and digits too
        text = text.replace(name, " ")
    words.update(WORD.findall(text))
    return sorted(words)


def _shown(alerts: dict[tuple[str, str, str], dict[str, Any]], state: str) -> list[dict[str, Any]]:
    out = []
    for i, ((_rule, st, _key), doc) in enumerate(sorted(alerts.items())):
        if st == state:
            fp = f"fp-{i}"
            n = 1 if st == "firing" else 2
            out.append({**doc, "id": fp, "fingerprint": fp, "transition_id": f"{fp}:{n}",
                        "grouped_into": None, "inhibited_by": None, "ack": None})
    return out


async def test_every_default_alert_reads_in_chinese_on_a_zh_wallboard(
    feed: QueueFeed, server: LiveServer, page: Any  # noqa: F811 - fixture
) -> None:
    from playwright.async_api import expect

    alerts = default_rule_alerts()
    firing, resolved = _shown(alerts, "firing"), _shown(alerts, "resolved")
    rules = {a["rule"] for a in firing}
    assert rules == {a["rule"] for a in resolved} and len(rules) == 14  # every default rule, both ways
    # not vacuous: the English summaries these transitions still carry would fail the check
    assert all(english_words(a["summary"], a) for a in firing + resolved)
    cat = load_catalogue()

    for doc in firing:
        feed.alert(doc)
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=zh")
    rows = page.locator("li.alert")
    await expect(rows).to_have_count(len(firing))
    for doc in firing:
        row = page.locator(f'li.alert[data-fingerprint="{doc["fingerprint"]}"]')
        want = render_message(doc["message"], "zh", cat)
        await expect(row.locator(".alert-summary")).to_have_text(want)
        text = await row.inner_text()
        assert english_words(text, doc) == [], (doc["rule"], text)

    for doc in resolved:  # the same alerts resolve: each leaves the list for the resolved line
        feed.alert({**doc, "id": doc["id"], "fingerprint": doc["fingerprint"]})
    await feed.drained()
    box = page.locator("li.alert-resolved")
    await expect(box).to_have_attribute("data-count", str(min(len(resolved), 20)))
    await box.locator("summary").click()
    shown = await box.locator("li.alert-member").all_inner_texts()
    by_fp = {d["fingerprint"]: d for d in resolved}
    fps = await box.locator("li.alert-member").evaluate_all("(els) => els.map((e) => e.dataset.fingerprint)")
    for fp, text in zip(fps, shown, strict=True):
        doc = by_fp[fp]
        assert text == render_message(doc["message"], "zh", cat)
        assert english_words(text, doc) == [], (doc["rule"], text)
    assert english_words(await box.locator("summary").inner_text(), {"scope": {}}) == []

    # every resolved text (the line keeps the latest 20) and every firing one, rendered by the
    # page's renderer in both languages, equals the Python renderer's (notifications use that one)
    for lang in ("zh", "en"):
        got = await page.evaluate(
            "([msgs, lang]) => msgs.map((m) => window.FW_MSG.render(m, lang, '?'))",
            [[d["message"] for d in firing + resolved], lang],
        )
        assert got == [render_message(d["message"], lang, cat, "?") for d in firing + resolved]
    for doc in resolved:
        assert english_words(render_message(doc["message"], "zh", cat), doc) == [], doc["rule"]


async def test_a_chinese_summary_template_shows_on_the_zh_wallboard(
    feed: QueueFeed, server: LiveServer, browser: Any  # noqa: F811 - fixture
) -> None:
    from playwright.async_api import expect

    from tests.support.zh_rules import FIRING_EN, FIRING_ZH, RESOLVED_ZH, zh_rule_transitions

    _pending, firing, resolved = zh_rule_transitions()
    feed.alert(firing)
    await feed.drained()
    zh, en = await browser.new_page(), await browser.new_page()
    await zh.goto(f"{server.url}/?token={ADMIN}&lang=zh")
    await en.goto(f"{server.url}/?token={ADMIN}&lang=en")
    row = f'li.alert[data-fingerprint="{firing["fingerprint"]}"] .alert-summary'
    await expect(zh.locator(row)).to_have_text(FIRING_ZH)
    await expect(en.locator(row)).to_have_text(FIRING_EN)
    feed.alert(resolved)
    await zh.locator("li.alert-resolved summary").click()
    await expect(zh.locator("li.alert-resolved li.alert-member")).to_have_text([RESOLVED_ZH])
    await zh.close()
    await en.close()


async def test_a_tokens_language_comes_before_the_browsers(
    feed: QueueFeed, server: LiveServer, browser: Any  # noqa: F811 - fixture
) -> None:
    """A zh token on an English browser: the wallboard and the report pages speak Chinese;
    ``?lang=en`` still switches one page to English."""
    import httpx
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post("/v1/tokens", headers={"Authorization": f"Bearer {ADMIN}"},
                            json={"name": "tv-zh", "role": "wallboard", "language": "zh"})
    token = r.json()["token"]
    ctx = await browser.new_context(locale="en-US")
    tab = await ctx.new_page()
    assert await tab.evaluate("navigator.language") == "en-US"
    await tab.goto(f"{server.url}/wallboard?token={token}")
    await expect(tab.locator("#title")).to_have_text("现场监控")
    await expect(tab.locator("html")).to_have_attribute("lang", "zh-CN")
    await tab.goto(f"{server.url}/wallboard?token={token}&lang=en")
    await expect(tab.locator("#title")).to_have_text("Floorwatch")
    await tab.goto(f"{server.url}/reports/staff-performance?token={token}")
    await expect(tab.locator("#title")).to_have_text("员工绩效日报")
    await ctx.close()


async def test_the_clock_and_project_times_are_the_sites_not_the_browsers(
    feed: QueueFeed, server: LiveServer, browser: Any  # noqa: F811 - fixture
) -> None:
    """A browser in New York watching a Beijing floor (snapshots at +08:00): the clock shows
    Beijing time, in the reader's locale."""
    import datetime as dt

    from playwright.async_api import expect

    from . import samples

    feed.floor(samples.floor("bj-01"))  # as_of 2026-11-28T09:15:00+08:00
    await feed.drained()
    ctx = await browser.new_context(locale="en-US", timezone_id="America/New_York")
    tab = await ctx.new_page()
    await tab.goto(f"{server.url}/?token={ADMIN}&lang=zh")
    clock = tab.locator("#clock")
    await expect(clock).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    beijing = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    text = await clock.inner_text()
    shown = dt.datetime.combine(beijing.date(), dt.time.fromisoformat(text), beijing.tzinfo)
    gap = abs((shown - beijing).total_seconds())
    assert min(gap, 86400 - gap) < 120, (text, beijing.isoformat())  # New York is 13 h off
    await ctx.close()


async def test_a_wallboard_of_one_site_speaks_that_site_s_language(
    feed: QueueFeed, browser: Any  # noqa: F811 - fixture
) -> None:
    """bj-01 declares zh in the rules file (``definitions.sites.bj-01.language``): a wallboard of
    that one site on an English browser speaks Chinese; a wallboard of several sites, or of a
    site that declares none, the browser's language."""
    from playwright.async_api import expect
    from prometheus_client import CollectorRegistry

    from services.api.app import create_app
    from shared.config import Settings

    from .fakes import RecordingSink

    app = create_app(Settings(admin_token=ADMIN), feed=feed, commands=RecordingSink(),
                     registry=CollectorRegistry(), site_languages={"bj-01": "zh"})
    live = await LiveServer(app).start()
    ctx = await browser.new_context(locale="en-US")
    try:
        tab = await ctx.new_page()
        for query, title, lang in [("&site=bj-01", "现场监控", "zh-CN"), ("&site=sh-02", "Floorwatch", "en"),
                                   ("&site=bj-01,sh-02", "Floorwatch", "en"), ("", "Floorwatch", "en")]:
            await tab.goto(f"{live.url}/wallboard?token={ADMIN}{query}")
            await expect(tab.locator("#title")).to_have_text(title)
            await expect(tab.locator("html")).to_have_attribute("lang", lang)
    finally:
        await ctx.close()
        await live.stop()
