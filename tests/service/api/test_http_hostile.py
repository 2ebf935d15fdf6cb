"""REST against hostile and careless callers (issue 9, defects 5, 6, 10): the token is checked before
a body is read, bodies are capped, 64-bit ids are validated, every response says nosniff, and the
wallboard page carries its CSP / no-store headers whichever URL serves it."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from services.api.wallboard import CSP

from .conftest import ADMIN, SUP_SALES, LiveServer


async def raw_request(server: LiveServer, head: str, body: bytes, within: float = 5.0) -> tuple[int, bytes]:
    """Send ``head`` and only ``body`` (the request may announce far more), then read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        async with asyncio.timeout(within):
            status_line = await reader.readline()
            rest = await reader.read(65536)
        return int(status_line.split()[1]), rest
    finally:
        writer.close()


def post_head(path: str, length: int | None, token: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: api.test", "Content-Type: application/json"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_an_unauthenticated_body_is_refused_before_it_is_sent(server: LiveServer,
                                                                    token: str | None) -> None:
    # 300 MB announced, 1 kB sent: the answer must come without the rest
    status, rest = await raw_request(server, post_head("/v1/tokens", 300_000_000, token), b"{" * 1024)
    assert status == 401
    assert b"token" in rest


async def test_a_body_over_the_limit_is_413_at_once(server: LiveServer) -> None:
    status, rest = await raw_request(server, post_head("/v1/tokens", 300_000_000, ADMIN), b"{" * 1024)
    assert status == 413
    assert b"larger than 65536 bytes" in rest


async def test_a_chunked_body_over_the_limit_is_413_once_it_passes_the_limit(server: LiveServer) -> None:
    chunk = b"x" * 16_384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))  # 96 kB, never terminated
    status, _ = await raw_request(server, post_head("/v1/tokens", None, ADMIN), body)
    assert status == 413


async def test_bodies_within_the_limit_still_work_and_are_authenticated_once(
        http: httpx.AsyncClient) -> None:
    created = await http.post("/v1/tokens", json={"name": "n", "role": "wallboard", "scope": {}},
                              headers={"Authorization": f"Bearer {ADMIN}"})
    assert created.status_code == 201
    refused = await http.post("/v1/tokens", json={"name": "n", "role": "wallboard"},
                              headers={"Authorization": f"Bearer {SUP_SALES}"})
    assert refused.status_code == 403  # authenticated by the guard, then refused by the route's role


@pytest.mark.parametrize("path", ["/v1/tokens/9223372036854775808", "/v1/tokens/99999999999999999999999",
                                  "/v1/audit?before_id=99999999999999999999999",
                                  "/v1/audit?before_id=9223372036854775808"])
async def test_ids_beyond_64_bits_are_422(http: httpx.AsyncClient, path: str) -> None:
    method = "DELETE" if path.startswith("/v1/tokens") else "GET"
    response = await http.request(method, path, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 422
    assert "less than or equal to 9223372036854775807" in response.json()["detail"]


async def test_the_largest_64_bit_id_is_a_plain_404(http: httpx.AsyncClient) -> None:
    response = await http.delete("/v1/tokens/9223372036854775807",
                                 headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/v1/floor", "/v1/nothing", "/wallboard",
                                  "/static/wallboard.js", "/openapi.json"])
async def test_every_response_says_nosniff(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/wallboard", "/static/wallboard.html"])
async def test_the_wallboard_page_has_its_headers_wherever_it_is_served(http: httpx.AsyncClient,
                                                                        path: str) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert b"<html" in response.content.lower()


async def test_nosniff_on_a_refused_body_too(server: LiveServer) -> None:
    _, rest = await raw_request(server, post_head("/v1/tokens", 300_000_000), b"{")
    assert b"x-content-type-options: nosniff" in rest.lower()
    assert orjson.loads(rest.split(b"\r\n\r\n", 1)[1])["detail"].startswith("missing token")
