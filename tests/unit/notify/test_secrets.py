"""Secrets are references, resolved by the shell, and scrubbed from every error text."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notify.core import load_config
from services.notify.delivery import Endpoint, RetryPolicy, SecretError, resolve


def test_references_resolve_from_the_environment_or_a_file(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("SECfromfile\n")
    assert resolve("env:ROBOT", {"ROBOT": "https://robot/x?key=k1"}) == "https://robot/x?key=k1"
    assert resolve(f"file:{key}", {}) == "SECfromfile"
    assert resolve("http://plain/", {}) == "http://plain/" and resolve(None) is None
    with pytest.raises(SecretError, match="ROBOT is not set"):
        resolve("env:ROBOT", {})
    with pytest.raises(SecretError, match="cannot read"):
        resolve(f"file:{tmp_path / 'missing'}", {})


def test_errors_never_carry_the_url_or_the_secret() -> None:
    cfg = load_config("receivers:\n  - {name: r, kind: dingtalk, url: 'env:U', secret: 'env:S'}\n"
                      "route: {receiver: r}\n")
    env = {"U": "https://oapi.example/robot/send?access_token=tok123", "S": "SECabc"}
    endpoint = Endpoint.of(cfg.receiver("r"), env)
    text = endpoint.scrub("ConnectError: https://oapi.example/robot/send?access_token=tok123 (sign SECabc)")
    assert "tok123" not in text and "SECabc" not in text and "<redacted>" in text
    with pytest.raises(SecretError, match="receiver 'r'"):
        Endpoint.of(cfg.receiver("r"), {"U": "x"})


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(max_backoff_s=30)
    assert [policy.backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
