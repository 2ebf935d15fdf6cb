"""What a renderer produces: one request body (HTTP) or one mail, serializable for the outbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    kind: str  # webhook | wecom | dingtalk | feishu | email
    body: str  # JSON text for HTTP kinds; the plain-text part for email
    content_type: str = "application/json"
    subject: str = ""  # email
    html: str = ""  # email
    alerts: int = 0  # alerts the message covers
    shown: int = 0  # alerts listed in it (the rest are counted, to fit the vendor's size limit)
