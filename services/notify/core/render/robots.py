"""Group-robot messages: WeCom, DingTalk and Feishu / Lark custom bots (markdown / card).

Shapes, as each vendor documents them (pages cited in docs/notifications.md):

* WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content": …}}``, content at most
  4096 bytes; mentions as ``<@userid>`` inside the content.
* DingTalk custom robot: ``{"msgtype": "markdown", "markdown": {"title": …, "text": …},
  "at": {"atMobiles": […], "atUserIds": […], "isAtAll": …}}``; signed requests add
  ``timestamp`` and ``sign`` to the URL (``signing.py``).
* Feishu / Lark custom bot: ``{"msg_type": "interactive", "card": {"header": {"title":
  {"tag": "plain_text", "content": …}, "template": colour}, "elements": [{"tag": "markdown",
  "content": …}]}}``, request body at most 20 KB; signed requests add ``timestamp`` and ``sign``
  to the body.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import Receiver
from ..dispatcher import Notification
from .context import context, fit, text
from .message import Message
from .templates import Templates

_FEISHU_COLOURS = {"critical": "red", "warning": "orange", "info": "blue", "resolved": "green"}


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def render(note: Notification, receiver: Receiver, tpl: Templates, external_url: str) -> Message:
    total = len(note.alerts)

    def build(shown: int | None) -> str:
        ctx = context(note, receiver, external_url, shown, templates=tpl)
        title = text(tpl, receiver, "title", ctx)
        body = text(tpl, receiver, "text", ctx)
        return _dumps(_shape(receiver, note, title, body))

    limit = receiver.rate_limit.max_body_bytes
    if receiver.kind == "wecom" and limit:
        # WeCom's limit is on the markdown content, not the whole body
        limit += len(_dumps(_shape(receiver, note, "", "")).encode())
    body, shown = fit(build, total, limit)
    return Message(kind=receiver.kind, body=body, alerts=total, shown=shown)


def _shape(receiver: Receiver, note: Notification, title: str, body: str) -> dict[str, Any]:
    mentions = receiver.mentions
    if receiver.kind == "wecom":
        tags = "".join(f"<@{m}>" for m in mentions if m != "@all")
        return {"msgtype": "markdown",
                "markdown": {"content": f"### {title}\n{body}" + (f"\n{tags}" if tags else "")}}
    if receiver.kind == "dingtalk":
        mobiles = [m for m in mentions if m.isdigit()]
        users = [m for m in mentions if not m.isdigit() and m != "@all"]
        at_line = " ".join(f"@{m}" for m in mobiles + users)
        return {"msgtype": "markdown",
                "markdown": {"title": title,
                             "text": f"### {title}\n{body}" + (f"\n\n{at_line}" if at_line else "")},
                "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": "@all" in mentions}}
    if receiver.kind == "feishu":
        worst = "resolved" if not note.firing else min(
            (a.severity for a in note.firing), key=lambda s: ["critical", "warning", "info"].index(s)
            if s in ("critical", "warning", "info") else 3)
        return {"msg_type": "interactive",
                "card": {"config": {"wide_screen_mode": True},
                         "header": {"title": {"tag": "plain_text", "content": title},
                                    "template": _FEISHU_COLOURS.get(worst, "orange")},
                         "elements": [{"tag": "markdown", "content": body}]}}
    raise ValueError(f"not a robot kind: {receiver.kind}")
