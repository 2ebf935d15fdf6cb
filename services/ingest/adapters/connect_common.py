"""Helpers shared by the Amazon Connect adapters: JSON objects, ARNs, agent and queue names."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from services.ingest.adapters.base import clip
from shared.events import InvalidEvent

AgentKey = Literal["arn", "username"]


def json_object(value: bytes, what: str) -> dict[str, Any]:
    try:
        doc = msgspec.json.decode(value)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"{what}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InvalidEvent(f"{what}: JSON nested too deep (over ~1,000 levels)") from None
    if not isinstance(doc, dict):
        raise InvalidEvent(f"{what}: expected a JSON object, got {type(doc).__name__}")
    return doc


def obj(parent: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """``parent[key]`` when it is an object, else ``{}`` (Connect writes ``null`` for absent parts)."""
    value = (parent or {}).get(key)
    return value if isinstance(value, dict) else {}


def arn_tail(arn: str | None) -> str | None:
    """The resource id at the end of an ARN (``…/agent/<id>`` → ``<id>``)."""
    if not arn or not isinstance(arn, str):
        return None
    return arn.rstrip("/").rsplit("/", 1)[-1] or None


def agent_name(arn: str | None, username: str | None, key: AgentKey) -> str | None:
    """The canonical agent id: the ARN's agent id (stable, default) or the CCP user name."""
    if key == "username" and isinstance(username, str) and username.strip():
        return username.strip()[:128]
    tail = arn_tail(arn)
    return tail[:128] if tail else None


def queue_name(queue: dict[str, Any]) -> str | None:
    """Queue ``Name``, or the ARN's id for unnamed queues (agent queues have ``Name: null``)."""
    return clip(queue.get("Name") if isinstance(queue.get("Name"), str) else None) or clip(
        arn_tail(queue.get("ARN"))
    )


def check_agent_key(key: str) -> AgentKey:
    if key not in ("arn", "username"):
        raise ValueError(f"agent_key must be 'arn' or 'username', got {key!r}")
    return key  # type: ignore[return-value]
