"""Notification → the exact request a destination receives. Pure: ``render(note, receiver)``.

One module per destination format: ``webhook.py`` (Alertmanager webhook v4, or a templated
body), ``robots.py`` (WeCom, DingTalk, Feishu), ``email.py``; ``templates.py`` holds the Jinja2
sandbox and the zh / en defaults; ``signing.py`` the per-attempt signatures.
"""

from __future__ import annotations

from ..config import Receiver
from ..dispatcher import Notification
from .message import Message
from .templates import Templates


def render(note: Notification, receiver: Receiver, *, external_url: str = "",
           templates: Templates | None = None) -> Message:
    from . import email, robots, webhook

    tpl = templates or Templates()
    if receiver.kind in ("webhook", "none"):
        return webhook.render(note, receiver, tpl, external_url)
    if receiver.kind == "email":
        return email.render(note, receiver, tpl, external_url)
    return robots.render(note, receiver, tpl, external_url)


__all__ = ["Message", "Templates", "render"]
