"""A vendor topic with its adapter, through the real broker: the real PBXware queue_log export
replayed with `floorwatch replay` comes out as canonical events, and ingest's counters account
for every record (consumed = accepted + rejected + ignored)."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry

from floorwatch.cli import main
from services.ingest.adapters import get_adapter
from services.ingest.main import IngestRunner
from services.ingest.vendor_files import iter_records
from shared.config import Settings, SourceSpec
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from tests.conftest import data_file
from tests.support.kafkautil import read_topic

pytestmark = pytest.mark.kafka


def test_queue_log_topic_through_ingest(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_file("asterisk/pbxware-queue-log-2018.csv")
    topic = settings.topic_prefix + "pbx.queue_log"
    spec = SourceSpec(topic=topic, adapter="asterisk-queue-log", site="it-desk", source="pbxware")
    settings = settings.model_copy(update={"sources": [spec]})
    adapter = get_adapter("asterisk-queue-log", site="it-desk", source="pbxware")
    expected = [
        ev for key, value in iter_records(path, "asterisk-queue-log") for ev in adapter.decode(value, key)
    ]
    records = sum(1 for _ in iter_records(path, "asterisk-queue-log"))

    upgrade(settings.database_url)
    ensure_topics(settings)
    monkeypatch.setenv("FLOORWATCH_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    assert main(["replay", str(path), "--format", "asterisk-queue-log", "--topic", topic]) == 0
    registry = CollectorRegistry()
    runner = IngestRunner(settings, registry).start()
    try:
        published = read_topic(settings, settings.topic("events"), len(expected), timeout=60, settle=1.0)
        time.sleep(0.5)
    finally:
        runner.stop()
    assert sorted(r.value for r in published) == sorted(_encoded(expected))

    def metric(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    consumed = metric("floorwatch_ingest_records_consumed_total", topic=topic)
    accepted = metric("floorwatch_ingest_records_accepted_total")
    rejected = metric("floorwatch_ingest_records_rejected_total", adapter="asterisk-queue-log")
    ignored = metric("floorwatch_ingest_records_ignored_total")
    assert consumed == records
    assert consumed == accepted + rejected + ignored
    assert ignored > 0  # RINGNOANSWER and outbound verbs carry no floor event


def _encoded(events: list) -> list[bytes]:  # type: ignore[type-arg]
    from shared.events import encode_event

    return [encode_event(e) for e in events]
