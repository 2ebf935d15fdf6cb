"""REST input and output models (wire shapes; separate from tables and from live-state dicts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LabelValue = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=1000)] = ""


class SilenceIn(BaseModel):
    """Silence every alert whose scope/labels equal all ``matchers`` (e.g. ``{"site": "bj-01",
    "queue": "sales", "rule": "aht-spike"}``) until ``until``. ``site`` is required."""

    model_config = ConfigDict(extra="forbid")
    matchers: Annotated[dict[Label, LabelValue], Field(min_length=1, max_length=16)]
    until: AwareDatetime
    comment: Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    request_id: str
    command: dict[str, Any]


class AlertList(BaseModel):
    alerts: list[dict[str, Any]]


class FloorMap(BaseModel):
    floor: dict[str, dict[str, Any]]
