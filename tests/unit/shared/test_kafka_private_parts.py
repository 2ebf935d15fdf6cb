"""The private parts of kafka-python that ``shared.kafka.Consumer``'s fetch watch uses, against
the installed kafka-python's own Fetcher and SubscriptionState (no client, no sockets): this file
fails, naming the part, when a release changes one; and a consumer on such a release runs as a
plain consumer, with a warning, instead of raising in every service at start. That a real
consumer has them where the watch looks (``_fetcher``, ``_subscription``) is shown against the
broker by tests/integration/test_embedded_broker_large_partition.py (it widens)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from kafka.consumer.fetcher import Fetcher
from kafka.consumer.subscription_state import SubscriptionState

from shared.kafka import Consumer, watch_problems


def consumer() -> Consumer:
    """A Consumer around kafka-python's real Fetcher and SubscriptionState, built on a stand-in
    client (the Fetcher only keeps references to it)."""
    c = Consumer.__new__(Consumer)
    c.config = {"client_id": "floorwatch-test"}
    client = SimpleNamespace(_manager=SimpleNamespace(_net=None))
    c._fetcher = Fetcher(client, SubscriptionState(), fetch_max_wait_ms=25, metrics=None)
    c._subscription = c._fetcher._subscriptions
    return c


def test_the_installed_kafka_python_has_every_part_the_watch_uses() -> None:
    # a failure here reads e.g. "Fetcher._handle_fetch_response: takes [...], not (node_id, ...)"
    assert watch_problems(consumer()) == []


def test_the_watch_wraps_the_installed_fetchers_handler() -> None:
    c = consumer()
    c._watch_if_possible()
    assert c._fetcher._handle_fetch_response.__name__ == "checked"  # ours, around the fetcher's own
    assert c.fetch_wait_ms == 25  # read where the fetcher reads it for every fetch it builds


def test_a_release_without_the_answer_handler_gives_a_plain_consumer_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(Fetcher, "_handle_fetch_response")
    c = consumer()
    with caplog.at_level(logging.WARNING, logger="shared.kafka"):
        c._watch_if_possible()  # what the constructor runs: no exception
    assert not hasattr(c._fetcher, "_handle_fetch_response")
    assert "Fetcher._handle_fetch_response: not there" in caplog.text
    assert "will not widen" in caplog.text


def test_a_release_whose_handler_takes_other_arguments_is_not_wrapped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def other(self: Fetcher, response: object) -> None:
        return None

    monkeypatch.setattr(Fetcher, "_handle_fetch_response", other)
    c = consumer()
    with caplog.at_level(logging.WARNING, logger="shared.kafka"):
        c._watch_if_possible()
    assert c._fetcher._handle_fetch_response.__func__ is other  # left as the fetcher has it
    assert "takes ['response']" in caplog.text


def handler(node_id: object, fetch_offsets: object, send_time: object, response: object) -> None:
    return None


@pytest.mark.parametrize(
    ("fetcher", "assignment", "named"),
    [
        (SimpleNamespace(config={"fetch_max_wait_ms": 25}), {}, "Fetcher._handle_fetch_response: not there"),
        (SimpleNamespace(config={}, _handle_fetch_response=handler), {},
         "Fetcher.config['fetch_max_wait_ms']: not there"),
        (SimpleNamespace(config={"fetch_max_wait_ms": 25}, _handle_fetch_response=handler), None,
         "SubscriptionState.assignment"),
    ],
)
def test_each_missing_part_is_named(fetcher: object, assignment: object, named: str) -> None:
    stand_in = SimpleNamespace(_fetcher=fetcher, _subscription=SimpleNamespace(assignment=assignment))
    problems = watch_problems(stand_in)  # type: ignore[arg-type]
    assert len(problems) == 1 and problems[0].startswith(named)
