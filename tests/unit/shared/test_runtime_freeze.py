"""``freeze_startup_objects``: what start-up built stops being walked by the garbage collector."""

from __future__ import annotations

import gc

from shared.runtime import freeze_startup_objects


class _Held:
    pass


def test_objects_alive_at_start_up_are_frozen_and_cycles_collected_first() -> None:
    gc.unfreeze()
    held = [_Held() for _ in range(1000)]
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle  # garbage at start-up: collected, not frozen
    try:
        frozen = freeze_startup_objects()
        # frozen objects still die by reference counting (a log record's temporaries, another
        # thread's garbage), so the count can only have fallen since the call returned
        assert 0 < gc.get_freeze_count() <= frozen
        assert frozen >= len(held)
        # the held objects are no longer in any generation a collection walks
        tracked = {id(o) for gen in range(3) for o in gc.get_objects(gen)}
        assert not any(id(o) in tracked for o in held)
        assert all(isinstance(o, _Held) for o in held)
    finally:
        gc.unfreeze()
    tracked = {id(o) for gen in range(3) for o in gc.get_objects(gen)}
    assert all(id(o) in tracked for o in held)
