"""The reader's language over the API (issue 15): a token's own language (REST and CLI create it,
the SQL store keeps it), then the site default, then the browser's; ``GET /v1/i18n`` answers it
with the catalogue; every human-readable error ``detail`` follows it, machine-readable parts do not."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.api import error_texts
from services.api.app import create_app
from services.api.auth import StoreUnavailable
from services.api.guard import INVALID_TOKEN, MISSING_TOKEN, store_away
from services.api.runtime import ApiOptions
from services.reports.settings import report_config
from services.reports.store import ReportStore
from shared.config import Settings
from shared.db import make_engine
from shared.i18n import load_catalogue

from .conftest import ADMIN, token_store
from .fakes import QueueFeed, RecordingSink

API = Path(__file__).resolve().parents[3] / "services" / "api"
EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


async def _token(http: httpx.AsyncClient, name: str, language: str | None) -> str:
    body = {"name": name, "role": "supervisor", "scope": {"sites": ["bj-01"]}, "language": language}
    r = await http.post("/v1/tokens", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    assert r.json()["language"] == language
    return str(r.json()["token"])


async def test_the_token_language_comes_before_the_browser_and_a_page_first(http: httpx.AsyncClient) -> None:
    zh, en, none = await _token(http, "zh-user", "zh"), await _token(http, "en-user", "en"), await _token(
        http, "no-lang", None)

    async def chosen(token: str | None, headers: dict[str, str], query: str = "") -> str:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        r = await http.get(f"/v1/i18n{query}", headers={**headers, **auth})
        assert r.status_code == 200
        body = r.json()
        assert set(body["texts"]) == {"zh", "en"} and body["texts"]["zh"]["wallboard.title"] == "现场监控"
        return str(body["language"])

    assert await chosen(zh, EN) == "zh"
    assert await chosen(en, ZH) == "en"
    assert await chosen(none, ZH) == "zh" and await chosen(none, EN) == "en"
    assert await chosen(None, ZH) == "zh" and await chosen("not-a-token", ZH) == "zh"
    assert await chosen(zh, EN, "?lang=en") == "en"
    listed = (await http.get("/v1/tokens", headers={"Authorization": f"Bearer {ADMIN}"})).json()["tokens"]
    assert {t["name"]: t["language"] for t in listed if t["name"].endswith(("user", "lang"))} == {
        "zh-user": "zh", "en-user": "en", "no-lang": None}
    bad = await http.post("/v1/tokens", json={"name": "x", "role": "wallboard", "language": "fr"},
                          headers={"Authorization": f"Bearer {ADMIN}"})
    assert bad.status_code == 422


@pytest.fixture
async def zh_site(feed: QueueFeed) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a site whose default language is Chinese (FLOORWATCH_LANGUAGE=zh)."""
    app = create_app(Settings(admin_token=ADMIN, language="zh"), feed=feed, commands=RecordingSink(),
                     registry=CollectorRegistry(), tokens=token_store(),
                     options=ApiOptions(drain_timeout_s=1.0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


async def test_the_site_default_comes_before_the_browser(zh_site: httpx.AsyncClient) -> None:
    assert (await zh_site.get("/v1/i18n", headers=EN)).json()["language"] == "zh"
    r = await zh_site.get("/v1/alerts/nope", headers={**EN, "Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 404 and r.json() == {"detail": "此令牌范围内没有活动告警 'nope'"}


async def test_error_details_follow_the_reader_and_nothing_else_changes(http: httpx.AsyncClient) -> None:
    zh, en = await _token(http, "zh-reader", "zh"), await _token(http, "en-reader", "en")
    r_zh = await http.get("/v1/alerts/nope", headers={"Authorization": f"Bearer {zh}"})
    r_en = await http.get("/v1/alerts/nope", headers={"Authorization": f"Bearer {en}"})
    assert (r_zh.status_code, r_en.status_code) == (404, 404)
    assert r_zh.json() == {"detail": "此令牌范围内没有活动告警 'nope'"}
    assert r_en.json() == {"detail": "no active alert 'nope' in this token's scope"}
    # the guard's early answers: no token, a bad one, a body too large
    r = await http.post("/v1/silences", json={}, headers=ZH)
    assert r.status_code == 401 and r.json()["detail"].startswith("缺少令牌")
    assert r.headers["www-authenticate"] == "Bearer"
    r = await http.post("/v1/silences", json={}, headers={**ZH, "Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["detail"] == "令牌无效或已吊销"
    r = await http.post("/v1/silences", content=b"x" * 70_000,
                        headers={"Authorization": f"Bearer {zh}", "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"] == "请求体超过 65536 字节"
    # a 422: the readable detail in Chinese, the structured errors as they were
    r = await http.post("/v1/silences", json={"comment": 5}, headers={"Authorization": f"Bearer {zh}"})
    assert r.status_code == 422
    assert "缺少必填项" in r.json()["detail"] and "Field required" not in r.json()["detail"]
    assert {e["msg"] for e in r.json()["errors"]} >= {"Field required"}
    # Starlette's own 404 and 405
    r = await http.get("/v1/nothing-here", headers=ZH)
    assert r.status_code == 404 and r.json() == {"detail": "未找到"}
    r = await http.delete("/v1/floor", headers={**ZH, "Authorization": f"Bearer {zh}"})
    assert r.status_code == 405 and r.json() == {"detail": "不允许此请求方法"}


def _raised_texts() -> list[tuple[str, int, str]]:
    """Every English error detail the API's routes raise (HTTPException's second argument), its
    variable parts filled with samples."""
    out = []
    for path in sorted(API.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            if getattr(node.func, "id", getattr(node.func, "attr", "")) != "HTTPException":
                continue
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.append((path.name, node.lineno, arg.value))
            elif isinstance(arg, ast.JoinedStr):
                text = "".join(
                    str(v.value) if isinstance(v, ast.Constant) else f"X{i}q"
                    for i, v in enumerate(arg.values)
                )
                out.append((path.name, node.lineno, text))
    return [*out, ("guard.py", 0, MISSING_TOKEN), ("guard.py", 0, INVALID_TOKEN),
            ("guard.py", 0, "request body larger than 65536 bytes"),
            ("guard.py", 0, store_away(StoreUnavailable("X1q")))]


def test_every_error_detail_the_api_raises_is_in_the_catalogue() -> None:
    raised = _raised_texts()
    assert len(raised) > 30
    cat = load_catalogue()
    # the API's own words: headers, parameters, formats (the Chinese texts name them as they are)
    protocol = {"Authorization", "Bearer", "token", "YYYY-MM-DD", "interval", "day", "by", "agent",
                "matchers", "site", "until", "shift", "from", "to", "API", "JSON"}
    missing = []
    for where, line, english in raised:
        zh = error_texts.translate(english, "zh", cat)
        words = set(re.findall(r"[A-Za-z][A-Za-z-]*", re.sub(r"X\d+q", " ", str(zh)))) - protocol
        if zh == english or words:
            missing.append((where, line, english, zh, sorted(words)))
    assert missing == []


SITES_RULES = """\
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 0}
definitions:
  sites:
    bj-01: {time_zone: Asia/Shanghai, language: zh}
    lon-01: {language: en}
"""


@pytest.fixture
async def two_sites(feed: QueueFeed, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API as ``floorwatch api`` builds it: the rules file (read for the reports) says bj-01
    speaks Chinese; no FLOORWATCH_LANGUAGE."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(SITES_RULES, encoding="utf-8")
    settings = Settings(admin_token=ADMIN, rules_file=rules, report_refresh_s=0)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}")
    app = create_app(settings, feed=feed, commands=RecordingSink(), registry=CollectorRegistry(),
                     tokens=token_store(), options=ApiOptions(drain_timeout_s=1.0),
                     reports=ReportStore(engine, report_config(settings)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client
    await engine.dispose()


async def test_a_site_s_own_language_for_readers_of_that_one_site(two_sites: httpx.AsyncClient) -> None:
    http = two_sites

    async def lang(query: str = "", token: str | None = None) -> str:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        r = await http.get(f"/v1/i18n{query}", headers={**EN, **auth})
        assert r.status_code == 200
        return str(r.json()["language"])

    # a page of one site (?site=), a token of one site, a token of its own language, several sites
    assert await lang("?site=bj-01") == "zh"
    assert await lang("?site=lon-01") == "en" and await lang("?site=sh-02") == "en" and await lang() == "en"
    assert await lang("?site=bj-01,lon-01") == "en"
    mine = await _token(http, "bj-reader", None)  # scope: bj-01 only
    assert await lang(token=mine) == "zh"
    assert await lang(token=await _token(http, "bj-en", "en")) == "en"
    assert await lang("?lang=en&site=bj-01") == "en"
    many = (await http.post("/v1/tokens", headers={"Authorization": f"Bearer {ADMIN}"}, json={
        "name": "two", "role": "supervisor", "scope": {"sites": ["bj-01", "lon-01"]}})).json()["token"]
    assert await lang(token=many) == "en" and await lang("?site=bj-01", many) == "zh"
    # the errors' detail follows it too: a route's, and the guard's early answers
    r = await http.get("/v1/alerts/nope", headers={**EN, "Authorization": f"Bearer {mine}"})
    assert r.status_code == 404 and r.json() == {"detail": "此令牌范围内没有活动告警 'nope'"}
    r = await http.get("/v1/alerts/nope", headers={**EN, "Authorization": f"Bearer {many}"})
    assert r.json() == {"detail": "no active alert 'nope' in this token's scope"}
    r = await http.post("/v1/silences?site=bj-01", json={}, headers=EN)
    assert r.status_code == 401 and r.json()["detail"].startswith("缺少令牌")
    r = await http.post("/v1/silences?site=lon-01", json={}, headers=EN)
    assert r.status_code == 401 and r.json()["detail"].startswith("missing token")
    # a report page of the site (its JSON detail and its handover PDF's language come from here)
    admin = {**EN, "Authorization": f"Bearer {ADMIN}"}
    r = await http.get("/v1/handover?site=bj-01&shift=nope", headers=admin)
    assert r.status_code == 422 and r.json()["detail"].startswith("shift：'nope' 不是现场 'bj-01' 的班次")
