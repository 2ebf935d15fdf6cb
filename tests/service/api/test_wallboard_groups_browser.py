"""The wallboard's alert panel folds the members of a group alert into the group's row
(real Chromium; skipped like test_wallboard_browser.py when it is absent)."""

from __future__ import annotations

from typing import Any

import pytest

from . import samples
from .conftest import ADMIN, LiveServer
from .fakes import QueueFeed
from .test_wallboard_browser import browser, page  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def member(fp: str, agent: str, group: str | None, n: int = 1) -> dict[str, Any]:
    doc = samples.alert(fp, queue=None, agent=agent, rule="away", summary=f"{agent}: not ready (lunch)", n=n)
    doc["grouped_into"] = group
    return doc


async def test_group_alert_shows_once_with_its_member_count(
    feed: QueueFeed, server: LiveServer, page: Any  # noqa: F811 - fixture
) -> None:
    from playwright.async_api import expect

    group = samples.alert("fp-g", queue=None, rule="away", summary="3 agents of team t1: away")
    group["scope"]["team"] = "t1"
    group["details"] = {"group": {"by": "team", "min": 3, "clear": 2}, "count": 3}
    feed.floor(samples.floor("bj-01"))
    feed.alert(group)
    for i in (1, 2, 3):
        feed.alert(member(f"fp-a{i}", f"a{i}", "fp-g"))
    feed.alert(member("fp-b1", "b1", None))
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=en")

    row = page.locator('li.alert[data-fingerprint="fp-g"]')
    await expect(row).to_have_attribute("data-members", "3")
    await expect(row.locator(".alert-members summary")).to_have_text("3 agents")
    await expect(page.locator("li.alert")).to_have_count(2)  # the group and b1, not a1..a3
    await row.locator(".alert-members summary").click()
    await expect(row.locator("li.alert-member")).to_have_text(
        ["a1: not ready (lunch)", "a2: not ready (lunch)", "a3: not ready (lunch)"]
    )
    # the member list stays open across redraws
    feed.alert(member("fp-a4", "a4", "fp-g"))
    await expect(row.locator("li.alert-member")).to_have_count(4)

    # the group resolves: its remaining members stand alone again
    feed.alert({**group, "state": "resolved", "transition_id": "fp-g:2"})
    for i in (1, 2):
        feed.alert(member(f"fp-a{i}", f"a{i}", None, n=2))
    await expect(page.locator("li.alert")).to_have_count(5)


async def test_inhibited_alert_leaves_the_panel_and_comes_back(
    feed: QueueFeed, server: LiveServer, page: Any  # noqa: F811 - fixture
) -> None:
    from playwright.async_api import expect

    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-noagents", rule="no-agents-available", summary="no agents available"))
    feed.alert(samples.alert("fp-sl", rule="service-level", summary="service level 60% < 80%"))
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=en")
    await expect(page.locator("li.alert")).to_have_count(2)

    inhibited = samples.alert("fp-sl", rule="service-level", summary="service level 60% < 80%", n=2)
    feed.alert({**inhibited, "inhibited_by": "fp-noagents"})
    await expect(page.locator('li.alert[data-fingerprint="fp-sl"]')).to_have_count(0)
    await expect(page.locator('li.alert[data-fingerprint="fp-noagents"]')).to_have_count(1)

    feed.alert({**inhibited, "inhibited_by": None, "transition_id": "fp-sl:3"})
    await expect(page.locator('li.alert[data-fingerprint="fp-sl"]')).to_have_count(1)


async def test_pending_alerts_fold_into_one_muted_line_and_stay_off_the_tv(
    feed: QueueFeed, server: LiveServer, browser: Any  # noqa: F811 - fixture
) -> None:
    from playwright.async_api import expect

    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-fire", rule="longest-wait", summary="sales: oldest call waiting 95 s"))
    for i in (1, 2):
        feed.alert(samples.alert(f"fp-p{i}", rule="no-agents-available", state="pending",
                                 summary=f"pending {i}"))
    await feed.drained()
    sup = await browser.new_page()
    await sup.goto(f"{server.url}/?token={ADMIN}&lang=en")
    await expect(sup.locator("li.alert")).to_have_count(1)  # only the firing one is a row
    box = sup.locator("li.alert-pending")
    await expect(box).to_have_attribute("data-count", "2")
    await expect(box.locator("summary")).to_have_text("2 pending (not firing yet)")
    await box.locator("summary").click()
    await expect(box.locator("li.alert-member")).to_have_text(["pending 1", "pending 2"])

    # one fires: it becomes a row and leaves the pending line
    feed.alert(samples.alert("fp-p1", rule="no-agents-available", summary="firing 1", n=2))
    await expect(sup.locator("li.alert")).to_have_count(2)
    await expect(box).to_have_attribute("data-count", "1")

    tv = await browser.new_page()
    await tv.goto(f"{server.url}/?token={ADMIN}&lang=en&mode=wallboard")
    await expect(tv.locator("li.alert")).to_have_count(2)
    await expect(tv.locator("li.alert-pending")).to_have_count(0)
    await tv.close()
    await sup.close()
