"""Notifications in the receiver's language (issue 15): a rules file's Chinese summary reaches
DingTalk and WeCom as written; every default rule's alert, firing and resolved, reads in Chinese
on a zh robot (no English word but the data's names); an old transition shows its summary."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import json
import re
from typing import Any

from services.notify.core import Notification, from_wire, load_config
from services.notify.core.render import Templates, render
from services.notify.service import outbox_row
from shared.i18n import load_catalogue
from tests.service.api.test_wallboard_i18n_browser import english_words
from tests.support.default_alerts import default_rule_alerts
from tests.support.zh_rules import FIRING_EN, FIRING_ZH, RESOLVED_ZH, zh_rule_transitions

from .factory import T0, record

CFG = load_config("""\
receivers:
  - {name: ding, kind: dingtalk, url: "http://x/?access_token=t"}
  - {name: wecom, kind: wecom, url: "http://x/"}
  - {name: ding-en, kind: dingtalk, url: "http://x/?access_token=t", language: en}
  - {name: mail, kind: email, to: [a@b.c], from: f@b.c, smarthost: "127.0.0.1:25"}
route: {receiver: ding, group_by: [site]}
""", language="zh")  # the site default: receivers that name no language speak Chinese
TPL = Templates(load_catalogue())


def note(docs: list[dict[str, Any]]) -> Notification:
    alerts = [from_wire(d) for d in docs]
    return Notification(id="p0-x-1", route="root", receiver="ding", group_key="{}",
                        group_labels=(("site", "bj-01"),),
                        firing=tuple(a for a in alerts if a.state == "firing"),
                        resolved=tuple(a for a in alerts if a.state == "resolved"), at=T0 + 60)


def robot_text(receiver: str, docs: list[dict[str, Any]]) -> str:
    body = json.loads(render(note(docs), CFG.speaking(receiver, "bj-01"), templates=TPL).body)
    md = body["markdown"]
    return md.get("text") or md["content"]


def test_site_default_language_applies_where_the_file_names_none() -> None:
    langs = [CFG.speaking(n, "bj-01").language for n in ("ding", "wecom", "ding-en", "mail")]
    assert langs == ["zh", "zh", "en", "zh"]
    assert [CFG.receiver(n).language for n in ("ding", "ding-en")] == [None, "en"]  # only its own


def test_a_chinese_summary_template_reaches_dingtalk_and_wecom() -> None:
    trs = [t for t in zh_rule_transitions() if t["state"] in ("firing", "resolved")]
    for receiver in ("ding", "wecom"):
        text = robot_text(receiver, trs)
        assert FIRING_ZH in text and RESOLVED_ZH in text, text
        assert "backlog" not in text
    assert FIRING_EN in robot_text("ding-en", trs)


def test_every_default_alert_reads_in_chinese_on_a_zh_robot_and_email() -> None:
    docs = list(default_rule_alerts().values())
    assert len({d["rule"] for d in docs}) == 14
    for doc in docs:
        text = robot_text("ding", [doc])
        text = re.sub(r"https?://\S+", "", text)
        assert english_words(text, doc) == [], (doc["rule"], doc["state"], text)
    for doc in docs:  # email: subject, text and HTML parts (the product's name is a name too)
        mail = render(note([doc]), CFG.speaking("mail", "bj-01"), templates=TPL)
        html = htmllib.unescape(re.sub(r"<[^>]+>", " ", mail.html or ""))
        for part in (mail.subject or "", mail.body, html):
            assert english_words(part.replace("Floorwatch", ""), doc) == [], (doc["rule"], part)


def test_an_old_transition_without_a_message_shows_its_summary() -> None:
    old = record(summary="AHT 412 s vs 290 s baseline")
    assert "AHT 412 s vs 290 s baseline" in robot_text("ding", [old])


SITES_CFG = load_config("""\
receivers:
  - {name: ding, kind: dingtalk, url: "http://x/?access_token=t"}
  - {name: ding-en, kind: dingtalk, url: "http://x/?access_token=t", language: en}
  - {name: wecom, kind: wecom, url: "http://x/"}
route: {receiver: ding, group_by: [site]}
""", site_languages={"bj-01": "zh"})  # the rules file's definitions.sites.bj-01.language; no global default


def test_a_message_speaks_its_alerts_site_s_language_unless_the_receiver_names_one() -> None:
    """Through the notifier's own path (``outbox_row``: the receiver in its language, then render)."""
    trs = zh_rule_transitions()  # the engine's records of a rule loaded from a rules-file text
    bj = [t for t in trs if t["state"] == "firing"]
    lon = [{**t, "scope": {**t["scope"], "site": "lon-01"}} for t in bj]

    def sent(receiver: str, docs: list[dict[str, Any]]) -> str:
        n = note(docs)
        n = Notification(id=n.id, route=n.route, receiver=receiver, group_key=n.group_key,
                         group_labels=(("site", docs[0]["scope"]["site"]),), firing=n.firing,
                         resolved=n.resolved, at=n.at)
        row = outbox_row(n, SITES_CFG, TPL, "", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        md = json.loads(row["body"])["markdown"]
        return str(md.get("text") or md["content"])

    assert FIRING_ZH in sent("ding", bj) and "告警" in sent("ding", bj)
    both = [t for t in trs if t["state"] in ("firing", "resolved")]
    for robot in ("ding", "wecom"):  # the rules file's own Chinese summaries, as the outbox stores them
        assert FIRING_ZH in sent(robot, both) and RESOLVED_ZH in sent(robot, both)
    assert FIRING_EN in sent("ding", lon) and "告警" not in sent("ding", lon)  # lon-01 declares none: English
    assert FIRING_EN in sent("ding-en", bj)  # the receiver's own language first
    mixed = sent("ding", bj + lon)  # two sites in one message: the global default (English)
    assert FIRING_EN in mixed and FIRING_ZH not in mixed
