"""The alerts service's database side: engine snapshots with their offsets, and alert history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import is_sqlite
from shared.tables import AlertTransitionRow, EngineSnapshotRow


def _parse_time(value: str | None, fallback: dt.datetime) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if value else fallback


class AlertStore:
    def __init__(self, engine: AsyncEngine, group_id: str):
        self._engine = engine
        self._group = group_id
        self._dialect = sqlite if is_sqlite(str(engine.url)) else postgresql

    async def load_snapshot(
        self, topic: str, partition: int
    ) -> tuple[int, bytes, dict[str, int], dt.datetime] | None:
        """(next events offset, engine state, next offsets of side topics, when it was saved) or None."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        EngineSnapshotRow.topic,
                        EngineSnapshotRow.next_offset,
                        EngineSnapshotRow.data,
                        EngineSnapshotRow.updated_at,
                    ).where(
                        EngineSnapshotRow.group_id == self._group, EngineSnapshotRow.partition == partition
                    )
                )
            ).all()
        main = [r for r in rows if r[0] == topic]
        if not main:
            return None
        side = {r[0]: int(r[1]) for r in rows if r[0] != topic}
        saved_at = main[0][3]
        if saved_at.tzinfo is None:  # SQLite keeps no offset: stored as UTC
            saved_at = saved_at.replace(tzinfo=dt.UTC)
        return int(main[0][1]), bytes(main[0][2]), side, saved_at

    async def save_snapshot(
        self,
        topic: str,
        partition: int,
        next_offset: int,
        data: bytes,
        side: dict[str, int],
        now: dt.datetime,
    ) -> None:
        """Store the engine state with the offsets it covers, all in one transaction."""
        rows = [{"topic": topic, "next_offset": next_offset, "data": data}]
        rows += [{"topic": t, "next_offset": off, "data": b""} for t, off in side.items()]
        async with self._engine.begin() as conn:
            for row in rows:
                stmt = self._dialect.insert(EngineSnapshotRow).values(
                    group_id=self._group, partition=partition, updated_at=now, **row
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["group_id", "topic", "partition"],
                    set_={"next_offset": row["next_offset"], "data": row["data"], "updated_at": now},
                )
                await conn.execute(stmt)

    async def known_transitions(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        async with self._engine.connect() as conn:
            stmt = select(AlertTransitionRow.transition_id).where(
                AlertTransitionRow.transition_id.in_(list(ids))
            )
            return {r[0] for r in (await conn.execute(stmt)).all()}

    async def record(self, transitions: Sequence[dict[str, Any]], now: dt.datetime) -> None:
        """One history row per transition; a transition already recorded is left alone."""
        if not transitions:
            return
        rows = [
            {
                "transition_id": t["transition_id"],
                "fingerprint": t["fingerprint"],
                "rule": t["rule"],
                "kind": t["kind"],
                "severity": t["severity"],
                "state": t["state"],
                "site": t["scope"].get("site", ""),
                "scope": t["scope"],
                "event_time": _parse_time(t.get("event_time") or t.get("updated_at"), now),
                "payload": orjson.dumps(t).decode(),
                "recorded_at": now,
            }
            for t in transitions
        ]
        stmt = self._dialect.insert(AlertTransitionRow).on_conflict_do_nothing(
            index_elements=["transition_id"]
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt, rows)
