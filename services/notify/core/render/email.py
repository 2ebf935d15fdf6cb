"""Email: a subject, a plain-text part and an HTML part (escaped: alert text cannot inject markup)."""

from __future__ import annotations

from ..config import Receiver
from ..dispatcher import Notification
from .context import context, text
from .message import Message
from .templates import Templates


def render(note: Notification, receiver: Receiver, tpl: Templates, external_url: str) -> Message:
    ctx = context(note, receiver, external_url, templates=tpl)
    title = text(tpl, receiver, "title", ctx)
    subject = text(tpl, receiver, "subject", ctx).replace("\n", " ")
    body = text(tpl, receiver, "text", ctx)
    html = text(tpl, receiver, "html", {**ctx, "title": title}, html=True)
    return Message(kind="email", body=f"{title}\n\n{body}\n", content_type="text/plain", subject=subject,
                   html=html, alerts=len(note.alerts), shown=len(note.alerts))
