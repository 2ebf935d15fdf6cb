"""The caching partitioner must pick exactly what kafka-python's default (murmur2) picks."""

from __future__ import annotations

from kafka.partitioner.default import DefaultPartitioner

from shared.kafka import KeyCachingPartitioner


class Cluster:
    def __init__(self, n: int):
        self.n = n

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.n))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.n))


def test_same_partition_as_default_and_follows_partition_count() -> None:
    cached, default = KeyCachingPartitioner(max_keys=10), DefaultPartitioner()
    for n in (3, 7):
        cluster = Cluster(n)
        for i in range(50):
            key = f"site-{i}".encode()
            for _ in range(2):  # second call is served from the cache
                assert cached.partition("t", key, key, None, None, cluster) == default.partition(
                    "t", key, key, None, None, cluster
                )
