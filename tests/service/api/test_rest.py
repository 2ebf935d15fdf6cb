"""REST routes over ASGI with the fake feed and the recording command sink."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from . import samples
from .conftest import ADMIN, SUP_SALES, SUP_SH, WB_SALES
from .fakes import QueueFeed, RecordingSink


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def loaded(feed: QueueFeed, http: httpx.AsyncClient) -> httpx.AsyncClient:
    feed.floor(samples.floor("bj-01"))
    feed.floor(samples.floor("sh-02"))
    feed.alert(samples.alert("fp-sales", queue="sales"))
    feed.alert(samples.alert("fp-support", queue="support", severity="critical"))
    feed.alert(samples.alert("fp-sh", site="sh-02", queue="sales", state="pending"))
    await feed.drained()
    return http


async def test_missing_and_bad_tokens_are_401_with_a_reason(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/floor")
    assert r.status_code == 401
    assert "missing token" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await http.get("/v1/floor", headers=auth("nope"))
    assert (r.status_code, r.json()) == (401, {"detail": "invalid or revoked token"})
    r = await http.get("/v1/floor", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401


async def test_token_in_query_string(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("/v1/floor", params={"token": SUP_SH})
    assert r.status_code == 200
    assert list(r.json()["floor"]) == ["sh-02"]


async def test_admin_sees_every_site_verbatim(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("/v1/floor", headers=auth(ADMIN))
    assert r.json() == {"floor": {"bj-01": samples.floor("bj-01"), "sh-02": samples.floor("sh-02")}}
    r = await loaded.get("/v1/floor/sh-02", headers=auth(ADMIN))
    assert r.json() == samples.floor("sh-02")


async def test_queue_scoped_supervisor_sees_only_its_queue(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("/v1/floor", headers=auth(SUP_SALES))
    assert r.status_code == 200
    assert "support" not in r.text and "sh-02" not in r.text
    floor = r.json()["floor"]["bj-01"]
    assert [q["queue"] for q in floor["queues"]] == ["sales"]
    assert [a["agent"] for a in floor["agents"]] == ["a1", "a2"]
    totals = floor["totals"]
    assert totals["calls_waiting"] == 3
    assert totals["aht_s"] == 301.5  # one visible queue: its own figure, not the site's 290
    assert totals["agents"] == {"available": 1, "not_ready": 1}

    single = await loaded.get("/v1/floor/bj-01", headers=auth(SUP_SALES))
    assert single.json() == floor
    alerts = await loaded.get("/v1/alerts", headers=auth(SUP_SALES))
    assert [a["fingerprint"] for a in alerts.json()["alerts"]] == ["fp-sales"]


async def test_out_of_scope_site_is_403_and_unknown_site_404(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("/v1/floor/sh-02", headers=auth(SUP_SALES))
    assert (r.status_code, r.json()) == (403, {"detail": "site 'sh-02' is outside this token's scope"})
    r = await loaded.get("/v1/floor", params={"site": "sh-02"}, headers=auth(SUP_SALES))
    assert r.status_code == 403
    r = await loaded.get("/v1/floor/nowhere", headers=auth(ADMIN))
    assert (r.status_code, r.json()) == (404, {"detail": "no floor snapshot for site 'nowhere' in this "
                                                         "token's scope"})


async def test_alert_filters(loaded: httpx.AsyncClient) -> None:
    async def fps(**params: str) -> list[str]:
        r = await loaded.get("/v1/alerts", params=params, headers=auth(ADMIN))
        assert r.status_code == 200, r.text
        return sorted(a["fingerprint"] for a in r.json()["alerts"])

    assert await fps() == ["fp-sales", "fp-sh", "fp-support"]
    assert await fps(state="pending") == ["fp-sh"]
    assert await fps(site="bj-01") == ["fp-sales", "fp-support"]
    assert await fps(severity="critical") == ["fp-support"]
    r = await loaded.get("/v1/alerts", params={"state": "resolved"}, headers=auth(ADMIN))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("query.state:")


async def test_inhibited_alerts_can_be_left_out(feed: QueueFeed, loaded: httpx.AsyncClient) -> None:
    inhibited = samples.alert("fp-sales", queue="sales", n=2)
    inhibited["inhibited_by"] = "fp-noagents"
    feed.alert(inhibited)
    await feed.drained()

    async def fps(**params: str) -> list[str]:
        r = await loaded.get("/v1/alerts", params={"site": "bj-01", **params}, headers=auth(ADMIN))
        assert r.status_code == 200, r.text
        return sorted(a["fingerprint"] for a in r.json()["alerts"])

    assert await fps() == ["fp-sales", "fp-support"]  # still active, listed with the mark
    assert await fps(inhibited="false") == ["fp-support"]
    assert await fps(inhibited="true") == ["fp-sales"]


async def test_ack_goes_to_the_command_sink(loaded: httpx.AsyncClient, sink: RecordingSink) -> None:
    r = await loaded.post("/v1/alerts/fp-sales/ack", json={"note": "on it"}, headers=auth(SUP_SALES))
    assert r.status_code == 202, r.text
    [(site, command)] = sink.sent
    assert site == "bj-01"
    assert {k: command[k] for k in ("op", "fingerprint", "by", "note")} == {
        "op": "ack", "fingerprint": "fp-sales", "by": "alice", "note": "on it"}
    assert r.json()["request_id"] == command["request_id"]
    # no body at all is fine too
    r = await loaded.post("/v1/alerts/fp-sales/ack", headers=auth(ADMIN))
    assert r.status_code == 202
    assert sink.sent[1][1]["note"] == ""


async def test_ack_refusals(loaded: httpx.AsyncClient, sink: RecordingSink) -> None:
    r = await loaded.post("/v1/alerts/fp-sales/ack", json={"note": "x"}, headers=auth(WB_SALES))
    assert r.status_code == 403
    assert "read-only" in r.json()["detail"]
    r = await loaded.post("/v1/alerts/fp-support/ack", json={}, headers=auth(SUP_SALES))
    assert r.status_code == 404
    assert r.json() == {"detail": "no active alert 'fp-support' in this token's scope"}
    r = await loaded.post("/v1/alerts/fp-sales/ack", json={"note": 5, "extra": 1}, headers=auth(ADMIN))
    assert r.status_code == 422
    assert "note" in r.json()["detail"] and "extra" in r.json()["detail"]
    assert sink.sent == []


async def test_sink_failure_is_503(loaded: httpx.AsyncClient, sink: RecordingSink) -> None:
    sink.fail = ConnectionError("broker down")
    r = await loaded.post("/v1/alerts/fp-sales/ack", json={}, headers=auth(ADMIN))
    assert r.status_code == 503
    assert "broker down" in r.json()["detail"]


def in_hours(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).isoformat()


async def test_silence(loaded: httpx.AsyncClient, sink: RecordingSink) -> None:
    body = {"matchers": {"site": "bj-01", "queue": "sales", "rule": "aht-spike"}, "until": in_hours(2),
            "comment": "known outage"}
    r = await loaded.post("/v1/silences", json=body, headers=auth(SUP_SALES))
    assert r.status_code == 202, r.text
    [(site, command)] = sink.sent
    assert site == "bj-01"
    assert command["op"] == "silence"
    assert command["matchers"] == body["matchers"]
    assert command["by"] == "alice"
    assert command["comment"] == "known outage"


@pytest.mark.parametrize(("token", "body", "status", "says"), [
    (SUP_SALES, {"matchers": {"site": "bj-01"}, "until": in_hours(1), "comment": "c"},
     403, "'queue' matcher"),
    (SUP_SALES, {"matchers": {"site": "bj-01", "queue": "support"}, "until": in_hours(1), "comment": "c"},
     403, "'queue' matcher"),
    (SUP_SALES, {"matchers": {"site": "sh-02", "queue": "sales"}, "until": in_hours(1), "comment": "c"},
     403, "outside this token's scope"),
    (WB_SALES, {"matchers": {"site": "bj-01", "queue": "sales"}, "until": in_hours(1), "comment": "c"},
     403, "read-only"),
    (ADMIN, {"matchers": {"queue": "sales"}, "until": in_hours(1), "comment": "c"}, 422, "'site'"),
    (ADMIN, {"matchers": {"site": "bj-01"}, "until": in_hours(-1), "comment": "c"}, 422, "future"),
    (ADMIN, {"matchers": {"site": "bj-01"}, "until": "2026-11-28T10:00:00", "comment": "c"}, 422, "until"),
    (ADMIN, {"matchers": {"site": "bj-01"}, "until": in_hours(1), "comment": "  "}, 422, "comment"),
    (ADMIN, {"matchers": {}, "until": in_hours(1), "comment": "c"}, 422, "matchers"),
])
async def test_silence_refusals(loaded: httpx.AsyncClient, sink: RecordingSink, token: str, body: dict,
                                status: int, says: str) -> None:
    r = await loaded.post("/v1/silences", json=body, headers=auth(token))
    assert r.status_code == status, r.text
    assert isinstance(r.json()["detail"], str)
    assert says in r.json()["detail"]
    assert sink.sent == []


async def test_health_and_readiness(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    r = await http.get("/readyz")
    assert r.status_code == 503
    assert "waiting" in r.json()["detail"]
    feed.floor(samples.floor())
    await feed.drained()
    r = await http.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})


async def test_ready_when_the_feed_reports_caught_up(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    await feed.drained()
    assert feed.ready_callback is not None
    feed.ready_callback()
    assert (await http.get("/readyz")).status_code == 200


async def test_not_ready_when_the_feed_ends(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    feed.floor(samples.floor())
    await feed.aclose()
    await feed.drained()
    r = await http.get("/readyz")
    assert (r.status_code, r.json()) == (503, {"detail": "the feed ended"})


async def test_metrics(feed: QueueFeed, loaded: httpx.AsyncClient) -> None:
    feed.alert(samples.alert("fp-sales", queue="sales"))  # redelivered
    feed.put("floor", "bj-01", b"not json")
    await feed.drained()
    r = await loaded.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in [
        'floorwatch_feed_messages_total{kind="floor"} 2.0',
        'floorwatch_feed_messages_total{kind="alert"} 3.0',
        'floorwatch_feed_skipped_total{kind="alert",reason="duplicate"} 1.0',
        'floorwatch_feed_skipped_total{kind="floor",reason="invalid"} 1.0',
        'floorwatch_api_alerts_active{severity="warning",site="bj-01",state="firing"} 1.0',
        'floorwatch_api_alerts_active{severity="critical",site="bj-01",state="firing"} 1.0',
        'floorwatch_api_alerts_active{severity="warning",site="sh-02",state="pending"} 1.0',
        "floorwatch_ws_clients 0.0",
        "floorwatch_ws_resyncs_total 0.0",
        "floorwatch_api_ready 1.0",
    ]:
        assert line in text, line
    assert "# TYPE floorwatch_ws_dropped_total counter" in text
    assert "# TYPE floorwatch_ws_messages_sent_total counter" in text


async def test_root_redirects_to_the_wallboard_keeping_the_query(http: httpx.AsyncClient) -> None:
    r = await http.get("/", params={"token": "t", "lang": "zh"})
    assert r.status_code == 307
    assert r.headers["location"] == "/wallboard?token=t&lang=zh"
    page = await http.get("/wallboard")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_a_record_the_api_cannot_handle_does_not_stop_the_feed(
    feed: QueueFeed, http: httpx.AsyncClient
) -> None:
    """Issue 9: the pump died on the first record whose handling raised; the API then served a
    frozen floor until restarted. Now the record is counted, logged with the reason and skipped."""
    hostile = [
        ("floor", b'{"site": "bj-01", "agents": [{"agent": {"a": 1}}]}'),  # unhashable agent id
        ("floor", b'{"site": "bj-01", "agents": [{"agent": [1]}]}'),
        ("alert", b"[" * 5000 + b"]" * 5000),  # deeper than the JSON parser goes
        ("alert",
         b'{"fingerprint": "f", "state": "firing", "scope": {"site": "bj-01"}, "transition_id": []}'),
        ("rules", b'{"type": "ruleset", "rules": [], "published_at": 7}'),
    ]
    for kind, value in hostile:
        feed.put(kind, "bj-01", value)  # type: ignore[arg-type]
    feed.floor(samples.floor("sh-02"))  # the record after them still arrives
    await asyncio.wait_for(feed.drained(), 10)  # before the fix: never, the pump had died
    r = await http.get("/v1/floor/sh-02", headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["site"] == "sh-02"
    assert (await http.get("/readyz")).status_code == 200
    text = (await http.get("/metrics")).text
    failed = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith("floorwatch_feed_skipped_total{") and 'reason="failed"' in line)
    invalid = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith("floorwatch_feed_skipped_total{") and 'reason="invalid"' in line)
    # the two floors: refused as invalid by LiveState's shape checks (they raised in handling before)
    assert failed + invalid >= 3, text
