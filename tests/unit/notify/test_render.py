"""Renderers: the exact request shape each destination documents, size limits by listing fewer
alerts (never by cutting a message), templates in a sandbox, and the signatures recomputed here
independently from the vendors' descriptions.

Vendor pages (also in docs/notifications.md):
* Alertmanager webhook_config, payload version 4: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
* WeCom group robot: https://developer.work.weixin.qq.com/document/path/91770
* DingTalk custom robot: https://open.dingtalk.com/document/group/custom-robot-access
  (signing: https://open.dingtalk.com/document/robots/customize-robot-security-settings)
* Feishu custom bot: https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest

from services.notify.core import Notification, load_config
from services.notify.core.render import Templates, render
from services.notify.core.render.signing import sign, vendor_error

from .factory import T0, alert

CFG = load_config("""\
receivers:
  - {name: hook, kind: webhook, url: "http://x/"}
  - {name: wecom, kind: wecom, url: "http://x/", language: zh, mentions: ["lead-1"]}
  - {name: ding, kind: dingtalk, url: "http://x/?access_token=t", mentions: ["13800001111", "@all"]}
  - {name: feishu, kind: feishu, url: "http://x/", language: en}
  - {name: mail, kind: email, to: [a@b.c], from: f@b.c, smarthost: "127.0.0.1:25", language: zh}
  - name: custom
    kind: webhook
    url: "http://x/"
    templates:
      body: >-
        {"text": "{{ firing|length }} firing at {{ group_labels.site }}",
        "first": "{{ payload.alerts[0].fingerprint }}"}
  - name: evil
    kind: wecom
    url: "http://x/"
    templates:
      text: "{{ ''.__class__.__mro__[1].__subclasses__() }}"
route: {receiver: hook, group_by: [site]}
""")


def note(n_firing: int = 2, resolved: int = 1, summary: str = "AHT 412 s") -> Notification:
    firing = tuple(alert(queue=f"q{i}", at=T0 + i, summary=summary) for i in range(n_firing))
    gone = tuple(alert(state="resolved", queue=f"r{i}", at=T0 + 100, started=T0) for i in range(resolved))
    return Notification(id="p0-abc-1", route="root", receiver="hook", group_key='{}/root:{site="bj-01"}',
                        group_labels=(("site", "bj-01"),), firing=firing, resolved=gone, at=T0 + 120)


def test_webhook_is_alertmanager_v4() -> None:
    n = note()
    doc = json.loads(render(n, CFG.receiver("hook"), external_url="http://fw:8000").body)
    assert set(doc) == {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                        "commonLabels", "commonAnnotations", "externalURL", "alerts"}
    assert (doc["version"], doc["status"], doc["receiver"]) == ("4", "firing", "hook")
    assert doc["groupKey"] == '{}/root:{site="bj-01"}' and doc["truncatedAlerts"] == 0
    assert doc["groupLabels"] == {"site": "bj-01"}
    assert doc["commonLabels"]["alertname"] == "aht-spike" and "queue" not in doc["commonLabels"]
    assert [a["status"] for a in doc["alerts"]] == ["firing", "firing", "resolved"]
    first, last = doc["alerts"][0], doc["alerts"][-1]
    assert set(first) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                          "fingerprint"}
    assert first["endsAt"] == "0001-01-01T00:00:00Z" and last["endsAt"] == n.resolved[0].updated_text
    assert first["labels"]["severity"] == "warning" and first["annotations"]["summary"] == "AHT 412 s"
    assert first["fingerprint"] == n.firing[0].fingerprint
    assert first["generatorURL"].startswith("http://fw:8000/")


def test_webhook_body_template_shapes_the_request() -> None:
    body = render(note(), CFG.receiver("custom")).body
    assert json.loads(body) == {"text": "2 firing at bj-01", "first": note().firing[0].fingerprint}


def test_wecom_markdown_in_chinese_with_mentions() -> None:
    doc = json.loads(render(note(), CFG.receiver("wecom")).body)
    assert set(doc) == {"msgtype", "markdown"} and doc["msgtype"] == "markdown"
    content = doc["markdown"]["content"]
    assert "告警" in content and "已恢复" in content and "<@lead-1>" in content
    assert "AHT 412 s" in content


def test_dingtalk_markdown_with_at() -> None:
    doc = json.loads(render(note(), CFG.receiver("ding")).body)
    assert doc["msgtype"] == "markdown" and set(doc["markdown"]) == {"title", "text"}
    assert doc["at"] == {"atMobiles": ["13800001111"], "atUserIds": [], "isAtAll": True}
    assert "FIRING" in doc["markdown"]["title"]


def test_feishu_interactive_card() -> None:
    doc = json.loads(render(note(), CFG.receiver("feishu")).body)
    assert doc["msg_type"] == "interactive"
    card = doc["card"]
    assert card["header"]["title"]["tag"] == "plain_text" and card["header"]["template"] == "orange"
    assert card["elements"][0]["tag"] == "markdown" and "AHT 412 s" in card["elements"][0]["content"]


@pytest.mark.parametrize(("name", "limit"), [("wecom", 4096), ("feishu", 20 * 1024), ("ding", 20_000)])
def test_a_big_group_fits_the_vendor_size_limit_by_listing_fewer_alerts(name: str, limit: int) -> None:
    big = note(n_firing=400, resolved=0, summary="x" * 80)
    msg = render(big, CFG.receiver(name))
    doc = json.loads(msg.body)
    measured = doc["markdown"]["content"] if name == "wecom" else msg.body
    assert len(measured.encode()) <= limit
    assert msg.alerts == 400 and 1 <= msg.shown < 400
    assert f"{400 - msg.shown} " in msg.body  # "… N more alerts not shown"


def test_email_has_subject_text_and_escaped_html() -> None:
    msg = render(note(summary="<script>x</script>"), CFG.receiver("mail"))
    assert msg.subject.startswith("[Floorwatch] 告警")
    assert "<script>" in msg.body and "<script>" not in msg.html and "&lt;script&gt;" in msg.html


def test_the_sandbox_refuses_internals_and_the_default_takes_over() -> None:
    body = render(note(), CFG.receiver("evil"), templates=Templates()).body
    assert "subclasses" not in body and "class" not in body
    assert "AHT 412 s" in json.loads(body)["markdown"]["content"]


def test_dingtalk_signature_matches_an_independent_computation() -> None:
    signed = sign("dingtalk", "http://x/robot/send?access_token=t", "{}", "SECabc", 1700000000.123, "id-1")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(signed.url).query))
    assert query["access_token"] == "t" and query["timestamp"] == "1700000000123"
    mac = hmac.new(b"SECabc", b"1700000000123\nSECabc", hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    assert query["sign"] == expected
    assert ("Idempotency-Key", "id-1") in signed.headers


def test_feishu_signature_goes_in_the_body() -> None:
    signed = sign("feishu", "http://x/", '{"msg_type":"text"}', "s3", 1700000000.9, "id-2")
    doc = json.loads(signed.body)
    expected = base64.b64encode(hmac.new(b"1700000000\ns3", b"", hashlib.sha256).digest()).decode()
    assert doc == {"timestamp": "1700000000", "sign": expected, "msg_type": "text"}


def test_webhook_hmac_header() -> None:
    signed = sign("webhook", "http://x/", '{"a":1}', "k", 1700000000.0, "id-3")
    headers = dict(signed.headers)
    expected = hmac.new(b"k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert headers["X-Floorwatch-Signature"] == f"sha256={expected}"
    assert headers["X-Floorwatch-Timestamp"] == "1700000000"


def test_robot_errors_in_the_answer_body_rate_limits_retried() -> None:
    limited = vendor_error("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}')
    assert limited is not None and limited.retry and "45009" in limited.message
    assert vendor_error("dingtalk", 200, b'{"errcode":0,"errmsg":"ok"}') is None
    feishu = vendor_error("feishu", 400, b'{"code":9499,"msg":"too many request","data":{}}')
    assert feishu is not None and feishu.retry
    refused = vendor_error("dingtalk", 200, b'{"errcode":310000,"errmsg":"sign not match"}')
    assert refused is not None and not refused.retry
    assert vendor_error("webhook", 200, b"whatever") is None


@pytest.mark.parametrize("source", [
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",  # endless recursion
    "{{ 'ab' * 300000000 }}",  # a 600 MB string
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",  # 10^10 steps
    "{% for i in range(9999) %}{% for j in range(9999) %}{{ '' }}{% endfor %}{% endfor %}",
    "{% for i in range(9999) %}{{ 'x' * 200 }}{% endfor %}",  # a 2 MB text
])
def test_a_template_that_fails_or_runs_away_falls_back_to_the_default_and_is_reported(source: str) -> None:
    errors: list[BaseException] = []
    tpl = Templates(on_error=errors.append)
    default = tpl.render("{{ status }} default", {"status": "firing"})
    t0 = time.monotonic()
    assert tpl.render(source, {"status": "firing"}, fallback="{{ status }} default") == default
    assert time.monotonic() - t0 < 5
    assert len(errors) == 1


def test_a_recursive_template_renders_the_default_message() -> None:
    cfg = load_config("""\
receivers:
  - name: loop
    kind: wecom
    url: "http://x/"
    templates: {text: "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"}
route: {receiver: loop}
""")
    body = render(note(), cfg.receiver("loop"), templates=Templates()).body
    assert "AHT 412 s" in json.loads(body)["markdown"]["content"]
