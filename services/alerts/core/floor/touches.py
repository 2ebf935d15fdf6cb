"""What a change of floor state reports: which metric families may have changed, where.

``Touches`` maps a scope ``(kind, name)`` to a bitmask of the metric families that may have changed
there, so the engine re-evaluates only the rules that read them (``metrics.py`` says which metric
belongs to which family). The reducer (``calls.py``, ``agents.py``, ``reducer.py``) and the
detectors' observers set them; the engine reads them.
"""

from __future__ import annotations

from typing import Final

# metric families (bitmask), see metrics.py for which metric belongs where
F_WAIT: Final = 1  # calls_waiting, longest_wait_s
F_WINDOW: Final = 2  # windowed counters and ratios
F_AGENTS: Final = 4  # agents by state, logged_in
F_OCC: Final = 8  # occupancy
F_AGENT: Final = 16  # one agent's own state metrics
F_HANDLE: Final = 32  # a call's handle time was booked to the scope (detector kinds)
F_PROGRESS: Final = 64  # a project's completions changed
F_SOURCE: Final = 128  # a source was heard from
# finer bits, always set together with their family's bit above: which window counters and which
# agent-state counts changed. The engine evaluates a threshold rule with no active alert only when
# a counter it reads changed (metrics.py maps metrics to these bits).
C_OFFERED: Final = 1 << 8
C_ANSWERED: Final = 1 << 9  # answered, answered within threshold, wait sum
C_ABANDONED: Final = 1 << 10  # abandoned, short abandoned
C_HANDLED: Final = 1 << 11  # handled and handle / talk / hold / wrap sums
C_STATE: Final = (1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16)  # agents in state i (kpis order)
C_LOGGED: Final = 1 << 17  # agents logged in

Scope = tuple[str, str]  # (kind, name): ("queue", "sales"), ("team", "t1"), ("site", site), ("agent", "a1")
Touches = dict[Scope, int]


def touch(touches: Touches, kind: str, name: str, mask: int) -> None:
    key = (kind, name)
    touches[key] = touches.get(key, 0) | mask
