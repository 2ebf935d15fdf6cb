"""The hub freezes the heap every ``gc_freeze_step`` new connections (``gcfreeze.py``): state of
connected clients leaves the collector's generations, so a full collection no longer walks it; after
``step`` connections ended it is handed back so their cyclic garbage is reclaimed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.api.gcfreeze import GcFreezer
from services.api.hub import HubOptions

from .test_hub import connected, make
from .test_hub_direct import MemorySink


class ConnectionState:
    """Stands in for what a server keeps per connection: a reference cycle (protocol <-> transport)."""

    def __init__(self) -> None:
        self.peer = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def tracked(obj: object) -> bool:
    """Whether a collection of any generation would walk ``obj`` (frozen objects are in none)."""
    return any(o is obj for o in gc.get_objects())


def test_connection_state_leaves_the_generations_every_step_connections(unfrozen: None) -> None:
    hub, _, _ = make(HubOptions(gc_freeze_step=3))
    states = []
    sessions = []
    for _ in range(3):
        states.append(ConnectionState())
        session = connected(hub)
        sessions.append(session)
        assert tracked(states[-1])  # not frozen before the step is reached
        assert gc.get_freeze_count() == 0
        hub.set_sink(session, session.writer_gen, MemorySink())
    assert gc.get_freeze_count() > 0
    assert not any(tracked(s) for s in states)  # all three: out of every generation
    assert not any(tracked(s) for s in sessions)
    assert hub.gc_freezer.freezes == 1
    # a newer connection stays with the collector until the next step
    late = ConnectionState()
    fourth = connected(hub)
    hub.set_sink(fourth, fourth.writer_gen, MemorySink())
    assert tracked(late)


def test_ended_connections_hand_the_heap_back(unfrozen: None) -> None:
    hub, _, _ = make(HubOptions(gc_freeze_step=2))
    sessions = [connected(hub) for _ in range(2)]
    for s in sessions:
        hub.set_sink(s, s.writer_gen, MemorySink())
    state = ConnectionState()
    gc.freeze()
    assert not tracked(state)
    for s in sessions:
        hub.detach(s, s.writer_gen)
    assert hub.gc_freezer.unfreezes == 1
    assert gc.get_freeze_count() == 0
    assert tracked(state)  # back in a generation: collectable once unreachable


def test_step_zero_never_freezes(unfrozen: None) -> None:
    hub, _, _ = make(HubOptions(gc_freeze_step=0))
    for _ in range(5):
        s = connected(hub)
        hub.set_sink(s, s.writer_gen, MemorySink())
        hub.detach(s, s.writer_gen)
    assert gc.get_freeze_count() == 0
    assert (hub.gc_freezer.freezes, hub.gc_freezer.unfreezes) == (0, 0)


def test_freezer_counts_and_refuses_a_negative_step() -> None:
    calls: list[str] = []
    freezer = GcFreezer(2, freeze=lambda: calls.append("freeze"), unfreeze=lambda: calls.append("unfreeze"),
                        collect=lambda gen: calls.append(f"collect{gen}"))
    assert [freezer.attached() for _ in range(4)] == [False, True, False, True]
    assert [freezer.detached() for _ in range(2)] == [False, True]
    assert calls == ["collect1", "freeze", "collect1", "freeze", "unfreeze"]
    with pytest.raises(ValueError, match="step"):
        GcFreezer(-1)


def test_connections_taken_over_by_a_resume_count_as_ended(unfrozen: None) -> None:
    hub, _, _ = make(HubOptions(gc_freeze_step=2))
    sessions = [connected(hub) for _ in range(2)]
    for s in sessions:
        hub.set_sink(s, s.writer_gen, MemorySink())
    assert hub.gc_freezer.freezes == 1
    state = ConnectionState()
    gc.freeze()
    for s in sessions:  # each client resumes on a new connection; the old one then ends (4009)
        old = s.writer_gen
        hub.attach(s)
        hub.detach(s, old)
    assert hub.gc_freezer.unfreezes == 1  # two connections ended: the heap is handed back
    assert tracked(state)
    for s in sessions:  # the new connections, when they end, are counted once each
        hub.detach(s, s.writer_gen)
    assert hub.gc_freezer.unfreezes == 2 and hub.gc_freezer.detached_since == 0
