"""Consumer-group ids follow the topic prefix, so deployments sharing a cluster never share a group."""

from shared.config import Settings


def test_default_prefix_keeps_the_plain_group_names() -> None:
    assert Settings().group("floorwatch-ingest") == "floorwatch-ingest"


def test_another_prefix_namespaces_the_group() -> None:
    a = Settings(topic_prefix="acme.").group("floorwatch-alerts")
    b = Settings(topic_prefix="beta.").group("floorwatch-alerts")
    assert a == "acme.floorwatch-alerts"
    assert a != b
