"""REST input and output models (wire shapes; separate from tables and from live-state dicts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
LabelValue = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_SITE = 64  # audit_log.site (tables.py)


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

    @field_validator("matchers")
    @classmethod
    def _storable(cls, matchers: dict[str, str]) -> dict[str, str]:
        """What the audit log can store: a site of at most 64 characters, no NUL character."""
        if len(matchers.get("site", "")) > MAX_SITE:
            raise ValueError(f"matchers.site: at most {MAX_SITE} characters")
        named = [k for k, v in matchers.items() if "\x00" in v]
        if named:
            raise ValueError(f"matchers.{named[0]}: the NUL character (\\u0000) is not allowed")
        return matchers


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    request_id: str
    command: dict[str, Any]


class AlertList(BaseModel):
    alerts: list[dict[str, Any]]


class FloorMap(BaseModel):
    floor: dict[str, dict[str, Any]]


class QueueList(BaseModel):
    queues: list[dict[str, Any]]


class AgentList(BaseModel):
    agents: list[dict[str, Any]]


class TeamList(BaseModel):
    teams: list[dict[str, Any]]


class ProjectList(BaseModel):
    projects: list[dict[str, Any]]
    progress_available: bool
    detail: str


class RuleList(BaseModel):
    rules: list[dict[str, Any]]
    source: str = Field(description="'engine': the rule set the alerts service published; "
                                    "'transitions': only the rules seen in alert transitions")
    detail: str
    projects: list[dict[str, Any]] = Field(default_factory=list, description="project configuration")
    inhibit: list[dict[str, Any]] = Field(default_factory=list, description="inhibit rules (unscoped only)")
    version: str | None = Field(None, description="content hash of the rule set")
    rules_source: str | None = Field(None, description="the rules file, or <defaults>")
    published_at: str | None = None


ScopeIn = dict[Literal["sites", "teams", "queues"], list[LabelValue] | None]


class TokenIn(BaseModel):
    """A new token: its ``name`` (who or what uses it), ``role`` and ``scope`` (omitted or null
    dimensions are unrestricted; an admin token is never scoped)."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
    role: Literal["admin", "supervisor", "wallboard"]
    scope: ScopeIn = Field(default_factory=dict)
    language: Literal["zh", "en"] | None = Field(
        default=None,
        description="its reader's language; default: the site's (FLOORWATCH_LANGUAGE), then the browser's",
    )


class TokenLanguageIn(BaseModel):
    """A token's new language: ``zh``, ``en`` or null (the site's default, then the browser's)."""

    model_config = ConfigDict(extra="forbid")
    language: Literal["zh", "en"] | None = Field(
        description="its reader's language; null: the site's default, then the browser's")


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    scope: dict[str, list[str] | None]
    created_at: str
    revoked_at: str | None
    language: str | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown this once, never again")


class TokenList(BaseModel):
    tokens: list[TokenOut]


class TokenRevoked(TokenOut):
    closed_connections: int


class AuditList(BaseModel):
    entries: list[dict[str, Any]]
    next_before_id: int | None


class SilenceOut(BaseModel):
    id: str
    matchers: dict[str, str] = Field(description="label → value; every one must match (site always present)")
    until: str = Field(description="ISO 8601 with offset")
    comment: str
    created_by: str
    created_at: str


class SilenceList(BaseModel):
    silences: list[SilenceOut]


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where: e.g. ['query', 'before_id'] or ['body', 'matchers']")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error response of the API has this shape: ``detail`` says what is wrong in words; a
    422 from input validation adds the structured ``errors``."""

    detail: str
    errors: list[ErrorItem] | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]


ERROR_DESCRIPTIONS = {
    400: "the request could not be read",
    401: "missing, invalid or revoked token (see WWW-Authenticate); with a body, answered before "
         "the body is read",
    403: "the token's role or scope does not allow this",
    404: "does not exist, or not in this token's scope (the two answer alike)",
    409: "conflict with the current state",
    413: "request body larger than FLOORWATCH_API_MAX_BODY_BYTES",
    422: "invalid input: what and where in `detail`, structured in `errors` when the input did not "
         "match the schema",
    501: "this API instance's token store cannot issue or revoke tokens",
    503: "a dependency (the alerts engine's command topic, the audit log, the feed, the token store) "
         "is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with the one error shape."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}
