"""The message catalogue (shared/i18n): complete in both languages, placeholders that match, every
key the engine emits present; the renderer's formats; the choice of a reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.alerts.core.detectors.agent_efficiency import LABELS
from services.alerts.core.detectors.options import BY, GROUP_MESSAGES
from services.alerts.core.detectors.threshold import THRESHOLD_MESSAGES
from shared.i18n import (
    LANGS,
    SiteLanguages,
    choose_language,
    from_accept_language,
    load_catalogue,
    one_site,
    render_message,
)
from shared.i18n.catalogue import read_catalogue
from shared.i18n.render import PLACEHOLDER

REPO = Path(__file__).resolve().parents[3]
CAT = load_catalogue()
KEYS = sorted(set().union(*(CAT.texts[lang] for lang in LANGS)))
SPECS = {"", "term", "dur", "mins", "spct", "counts", "num", ".0f", ".1f", ".0%", "g", "said"}


def placeholders(text: str) -> set[tuple[str, str]]:
    return {(m.group(1), m.group(2) or "") for m in PLACEHOLDER.finditer(text)}


def test_the_catalogue_is_not_empty_and_has_every_language() -> None:
    assert set(CAT.texts) == {"zh", "en"} and len(KEYS) > 150


@pytest.mark.parametrize("key", KEYS)
def test_every_key_has_both_languages_with_the_same_placeholders(key: str) -> None:
    en, zh = CAT.texts["en"].get(key), CAT.texts["zh"].get(key)
    assert en and zh, f"{key}: missing in {'en' if not en else 'zh'}"
    names_en, names_zh = ({n for n, _ in placeholders(t)} for t in (en, zh))
    if key.startswith("fmt."):  # the formats' parts, supplied by the renderer: each language takes its own
        assert names_en | names_zh <= {"h", "m", "s", "ss", "n", "name"}, key
    else:
        assert names_en == names_zh, key
    assert {spec for _, spec in placeholders(en) | placeholders(zh)} <= SPECS, key


def test_every_message_key_the_engine_emits_is_there() -> None:
    core = REPO / "services" / "alerts" / "core"
    literal = {m for p in core.rglob("*.py") for m in re.findall(r'"(alert\.[\w.-]+)"', p.read_text())}
    made = (
        {f"alert.{m}.{s}" for m in (*THRESHOLD_MESSAGES, "threshold") for s in ("firing", "resolved")}
        | {f"alert.occupancy.{side}" for side in ("below", "above")}
        | {f"alert.efficiency.{m}" for m in LABELS}
        | {f"alert.group.{g}" for g in (*GROUP_MESSAGES, *BY)}
        | {f"alert.state.{s}{tail}" for s in ("firing", "resolved") for tail in ("", "_reason")}
    )
    keys = {k for k in literal | made if not k.endswith(".")}
    assert len(literal) > 20
    assert sorted(k for k in keys if k not in CAT.texts["zh"] or k not in CAT.texts["en"]) == []


def test_a_missing_language_entry_is_found(tmp_path: Path) -> None:
    """The check above can fail: a zh file missing one entry reads without it."""
    for lang in LANGS:
        src = REPO / "shared" / "i18n" / "locales" / lang / "LC_MESSAGES" / "floorwatch.po"
        text = src.read_text(encoding="utf-8")
        if lang == "zh":
            text = text.replace('msgid "wallboard.title"\nmsgstr "现场监控"\n', "")
        dst = tmp_path / lang / "LC_MESSAGES"
        dst.mkdir(parents=True)
        (dst / "floorwatch.po").write_text(text, encoding="utf-8")
    cut = read_catalogue(tmp_path)
    assert "wallboard.title" in cut.texts["en"] and "wallboard.title" not in cut.texts["zh"]


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [(74, "1分14秒", "1:14"), (45, "45秒", "0:45"), (120, "2分钟", "2:00"), (3723, "1小时2分3秒", "1:02:03")],
)
def test_durations(seconds: float, zh: str, en: str) -> None:
    msg = {"key": "alert.longest-wait.firing", "params": {"queue": "q", "value": seconds, "threshold": 90}}
    assert render_message(msg, "zh", CAT) == f"q：最长等待 {zh}（> 1分30秒）"
    assert render_message(msg, "en", CAT) == f"q: oldest call waiting {en} (> 1:30)"


def test_terms_counts_nested_messages_and_fallbacks() -> None:
    seats = {
        "key": "alert.seats.firing_why",
        "params": {"scope_name": "t1", "staffed": 1, "logged_in": 5, "needed": 2,
                   "reasons": {"lunch": 3, "x": 1}},
    }
    assert render_message(seats, "zh", CAT) == "t1：5 名签入坐席中仅 1 名在岗，至少需要 2 名（午餐 3，x 1）"
    assert render_message(seats, "en", CAT) == "t1: 1 of 5 seats staffed, 2 needed (lunch 3, x 1)"
    generic = {"key": "alert.threshold.firing",
               "params": {"scope_name": "s", "metric": "asa_s", "op": ">", "value": 1234.5, "threshold": 6}}
    assert render_message(generic, "zh", CAT) == "s：平均应答时长 1,234 > 6"
    own = {**generic, "text": {"zh": "自定义"}}  # a rules file's own zh template, no en one
    assert render_message(own, "zh", CAT) == "自定义"
    assert render_message(own, "en", CAT) == "s: ASA 1,234 > 6"  # the catalogue's
    assert render_message(None, "zh", CAT, "old summary") == "old summary"  # a transition from before
    assert render_message({"key": "alert.nope"}, "zh", CAT, "old") == "old"


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({}, "en"),
        ({"accept": "zh-CN,zh;q=0.9,en;q=0.8"}, "zh"),
        ({"accept": "fr-FR, en-GB;q=0.5, zh;q=0.7"}, "zh"),
        ({"site": "zh", "accept": "en-US"}, "zh"),
        ({"token": "en", "site": "zh", "accept": "zh"}, "en"),
        ({"page": "zh", "token": "en", "site": "en"}, "zh"),
        ({"page": "fr", "token": "zh_Hans"}, "zh"),
    ],
)
def test_language_choice_order(kw: dict[str, str], want: str) -> None:
    assert choose_language(**kw) == want


SITES = SiteLanguages({"bj-01": "zh", "lon-01": "en"}, default="en")  # FLOORWATCH_LANGUAGE=en


@pytest.mark.parametrize(
    ("asked_site", "scope", "token", "page", "want"),
    [
        ("bj-01", None, None, None, "zh"),  # the page names one site: that site's language
        ("lon-01", None, None, None, "en"),
        (None, ["bj-01"], None, None, "zh"),  # a token of exactly one site
        (None, ["bj-01", "lon-01"], None, None, "en"),  # several sites: the global default
        ("bj-01,lon-01", None, None, None, "en"),  # a list names no one site
        ("sh-02", None, None, None, "en"),  # a site that declares none: the global default
        ("bj-01", None, "en", None, "en"),  # the token's own language comes first
        ("lon-01", ["lon-01"], None, "zh", "zh"),  # and a page's ?lang= before it
        ("bj-01", ["lon-01"], None, None, "zh"),  # the site the page shows, not the scope's
    ],
)
def test_a_site_s_own_language_comes_after_the_token_and_before_the_global_default(
    asked_site: str | None, scope: list[str] | None, token: str | None, page: str | None, want: str
) -> None:
    site = one_site(asked_site, scope)
    assert choose_language(page=page, token=token, site=SITES.of(site), accept="en-GB") == want
    # the browser comes last: with no global default it decides for a site that declares none
    only_bj = SiteLanguages({"bj-01": "zh"})
    assert choose_language(site=only_bj.of(one_site("sh-02", None)), accept="zh") == "zh"
    assert choose_language(site=only_bj.of(one_site("bj-01", None)), accept="en") == "zh"


def test_accept_language_is_bounded_and_tolerant() -> None:
    assert from_accept_language("x;q=abc, " * 10_000 + "zh") is None  # only the first 32 entries count
    assert from_accept_language("en;q=0, zh;q=0.1") == "zh"


def test_the_rules_readers_languages_are_the_catalogues() -> None:
    """The pure rules reader keeps its own list (the core imports no shared.i18n): it must be this."""
    from services.alerts.core.rules.reader import definitions
    from shared.i18n import LANGS

    assert tuple(LANGS) == definitions.LANGS
