"""Per-attempt request signing (pure: the caller passes the time and the resolved secret).

* DingTalk: ``sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{ms}\\n{secret}")))`` with
  the millisecond ``timestamp``, both appended to the URL's query.
* Feishu / Lark: ``sign = base64(HMAC-SHA256(key=f"{s}\\n{secret}", msg=""))`` with the
  second ``timestamp``, both added to the JSON body.
* Webhook (Floorwatch's own option): ``X-Floorwatch-Signature: sha256=<hex HMAC-SHA256(secret,
  f"{s}.{body}")>`` and ``X-Floorwatch-Timestamp: <s>`` — the receiver recomputes and compares.

Every HTTP request also carries ``Idempotency-Key: <notification id>``: a message re-sent after
a crash has the same key, so a receiver can drop the copy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Signed:
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


def sign(kind: str, url: str, body: str, secret: str | None, now: float, idempotency_key: str,
         content_type: str = "application/json") -> Signed:
    headers = [("Content-Type", content_type), ("Idempotency-Key", idempotency_key)]
    data = body.encode()
    if secret:
        if kind == "dingtalk":
            ms = int(now * 1000)
            digest = hmac.new(secret.encode(), f"{ms}\n{secret}".encode(), hashlib.sha256).digest()
            query = urllib.parse.urlencode({"timestamp": ms, "sign": base64.b64encode(digest).decode()})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        elif kind == "feishu":
            s = int(now)
            digest = hmac.new(f"{s}\n{secret}".encode(), b"", hashlib.sha256).digest()
            doc = json.loads(body)
            doc = {"timestamp": str(s), "sign": base64.b64encode(digest).decode(), **doc}
            data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        elif kind == "webhook":
            s = int(now)
            mac = hmac.new(secret.encode(), f"{s}.".encode() + data, hashlib.sha256).hexdigest()
            headers += [("X-Floorwatch-Timestamp", str(s)), ("X-Floorwatch-Signature", f"sha256={mac}")]
    return Signed(url, data, tuple(headers))


def vendor_error(kind: str, status: int, body: bytes) -> str | None:
    """The error a robot API reports inside a 200 answer (they answer 200 with an error code), or None."""
    if kind not in ("wecom", "dingtalk", "feishu") or status != 200:
        return None
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return f"unreadable answer: {body[:200]!r}"
    if not isinstance(doc, dict):
        return None
    code = doc.get("errcode", doc.get("code", doc.get("StatusCode", 0)))
    if code in (0, None):
        return None
    message = doc.get("errmsg") or doc.get("msg") or doc.get("StatusMessage") or ""
    return f"{kind} error {code}: {message}".strip()
