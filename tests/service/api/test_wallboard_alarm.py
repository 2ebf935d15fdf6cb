"""The wallboard's audible alarm: settings from the notifier's file (quiet times included), and
the page in a real Chromium sounding and flashing for an unacknowledged alert at or above the
configured severity, stopping at the ack, and staying silent in a quiet time."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api.alarm import WallboardSound
from services.api.app import create_app
from shared.config import Settings

from . import samples
from . import test_wallboard_browser as wb
from .conftest import ADMIN, LiveServer, token_store
from .fakes import QueueFeed, RecordingSink

browser, page, shot = wb.browser, wb.page, wb.shot  # the real-Chromium fixtures of the wallboard tests

FILE = """\
notifications:
  receivers: [{{name: nowhere, kind: none}}]
  route: {{receiver: nowhere}}
  wallboard: {{sound: warning, mute_time_intervals: [quiet]}}
  time_intervals:
    - name: quiet
      time_intervals:
        - times: [{{start_time: "{start}", end_time: "{end}"}}]
          location: Asia/Shanghai
"""
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_settings_follow_the_file_and_its_quiet_times(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(FILE.format(start="12:00", end="13:00"))
    sound = WallboardSound(path)
    at_lunch = dt.datetime(2026, 12, 7, 12, 30, tzinfo=SHANGHAI)
    assert sound.state(at_lunch) == {"severity": "warning", "muted": True,
                                     "muted_until": "2026-12-07T05:00:00+00:00", "error": None}
    assert sound.state(at_lunch + dt.timedelta(hours=1))["muted"] is False
    path.write_text("notifications: [unreadable")
    off = sound.state(at_lunch)
    assert off["severity"] is None and "n.yaml" in off["error"]
    assert WallboardSound(None).state(at_lunch) == {"severity": None, "muted": False, "muted_until": None,
                                                    "error": None}


@pytest.fixture
async def alarm_server(tmp_path: Path, request: pytest.FixtureRequest
                       ) -> AsyncIterator[tuple[LiveServer, QueueFeed]]:
    path = tmp_path / "notifications.yaml"
    path.write_text(FILE.format(**request.param))
    feed = QueueFeed()
    app: FastAPI = create_app(Settings(admin_token=ADMIN, notify_config=path), feed=feed,
                              commands=RecordingSink(), registry=CollectorRegistry(), tokens=token_store())
    live = await LiveServer(app).start()
    try:
        yield live, feed
    finally:
        await live.stop()


NEVER = {"start": "00:00", "end": "00:01"}  # a minute a day: the test avoids it below
ALWAYS = {"start": "00:00", "end": "24:00"}


@pytest.mark.browser
@pytest.mark.parametrize("alarm_server", [NEVER], indirect=True)
async def test_the_board_sounds_and_flashes_until_the_alert_is_acknowledged(
        alarm_server: tuple[LiveServer, QueueFeed], page: Any) -> None:
    from playwright.async_api import expect

    server, feed = alarm_server
    if dt.datetime.now(SHANGHAI).strftime("%H:%M") == "00:00":
        pytest.skip("inside the one quiet minute of this test's file")  # pragma: no cover
    feed.floor(samples.floor("bj-01"))
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=en")
    body = page.locator("body")
    enable = page.get_by_test_id("sound-enable")
    await expect(enable).to_be_visible()  # the browser needs one click before it may make a sound
    await enable.click()
    await expect(enable).to_be_hidden()

    feed.alert(samples.alert("fp-info", severity="info", queue="support"))  # below the threshold
    await expect(page.locator('li.alert[data-fingerprint="fp-info"]')).to_be_visible()
    await expect(body).to_have_attribute("data-alarm", "off")

    feed.alert(samples.alert("fp-w", severity="warning"))
    await expect(body).to_have_attribute("data-alarm", "on")
    await expect(body).to_have_class("alarm")
    await expect(body).to_have_attribute("data-beeps", "2", timeout=5000)  # every 2 s
    await shot(page, "alarm-on")

    acked = samples.alert("fp-w", severity="warning", n=2)
    acked["ack"] = {"by": "lead-1", "at": acked["updated_at"], "note": ""}
    feed.alert(acked)
    await expect(body).to_have_attribute("data-alarm", "off")
    await expect(body).not_to_have_class("alarm")


@pytest.mark.browser
@pytest.mark.parametrize("alarm_server", [ALWAYS], indirect=True)
async def test_a_quiet_time_mutes_the_board(alarm_server: tuple[LiveServer, QueueFeed], page: Any) -> None:
    from playwright.async_api import expect

    server, feed = alarm_server
    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-c", severity="critical"))
    await feed.drained()
    await page.goto(f"{server.url}/?token={ADMIN}&lang=zh")
    enable = page.get_by_test_id("sound-enable")
    await expect(enable).to_have_text("🔔 启用告警声音")
    await enable.click()
    body = page.locator("body")
    await expect(body).to_have_attribute("data-alarm", "muted")
    await page.wait_for_timeout(2500)
    assert await body.get_attribute("data-beeps") is None
