"""The file commands (`stats`, `replay`, `rules backtest`, `rules check`) on files they cannot use
say why in one line and exit non-zero: no traceback, no hang, no exit 0 on a file with nothing
readable (until 2026-12-08: a directory or an unreadable file gave a traceback in `stats`, a FIFO
hung it, a huge line or rules file ran out of memory, an unreachable broker gave a 13-frame
traceback in `replay`, and random bytes exited 0)."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path

import pytest

from floorwatch import cli

ROW = (
    b"AA0101\t46087\t0\t0\tPS\t991001\t7:15:55\t7:16:08\t13\t0:00:00\t0:00:00\t0\tAGENT\t7:16:08\t"
    b"7:17:10\t62\tBASCH\n"
)
HEADER = (
    b"vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\t"
    b"q_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n"
)
HUGE = 5 * 1024 * 1024  # over the 4 MiB a line may have


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err.splitlines()


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "{}", "--format", "canonical"],
        ["replay", "{}", "--format", "canonical"],
        ["rules", "backtest", "--events", "{}"],
    ],
)
def test_a_directory_is_refused_in_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, err = run([a.format(tmp_path) for a in command], capsys)
    assert rc == 2
    assert err == [
        f"floorwatch {' '.join(command[:-3] if command[0] != 'rules' else command[:2])}: "
        f"{tmp_path}: a directory, not a regular file; give a recorded events file"
    ]


@pytest.mark.timeout(20)
def test_stats_refuses_a_fifo_without_waiting_for_a_writer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rc, err = run(["stats", str(fifo), "--format", "canonical"], capsys)
    assert (rc, err) == (
        2,
        [f"floorwatch stats: {fifo}: a FIFO, not a regular file; give a recorded events file"],
    )


def test_stats_on_a_file_it_may_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.jsonl"
    path.write_bytes(b"{}\n")
    real_open = pathlib.Path.open

    def deny(self: Path, *a: object, **kw: object):  # type: ignore[no-untyped-def]
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pathlib.Path, "open", deny)  # a mode-000 file, even when the tests run as root
    rc, err = run(["stats", str(path), "--format", "canonical"], capsys)
    assert (rc, err) == (2, [f"floorwatch stats: {path}: cannot be read: Permission denied"])


@pytest.mark.parametrize("fmt", ["canonical", "anonymous-bank", "amazon-connect-ctr"])
def test_stats_exits_1_when_no_record_is_readable(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(bytes(range(1, 256)).replace(b"\n", b"") * 4 + b"\nnot a record\n")
    rc, err = run(["stats", str(path), "--format", fmt], capsys)
    assert rc == 1
    assert err[-1].startswith(f"{path}: none of its ") and err[-1].endswith(
        f"could be read as {fmt} (the wrong --format?)"
    )


@pytest.mark.parametrize("fmt", ["canonical", "asterisk-ami"])
def test_stats_exits_1_on_a_file_without_records(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"" if fmt == "canonical" else b"garbage without a single Key: Value block\x00\xff\n")
    rc, err = run(["stats", str(path), "--format", fmt], capsys)
    assert (rc, err) == (1, [f"{path}: no {fmt} records in it (empty, or not in the {fmt} format?)"])


def test_stats_names_a_utf16_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "u16.jsonl"
    path.write_bytes('{"a": 1}\n{"b": 2}\n'.encode("utf-16"))
    rc, err = run(["stats", str(path), "--format", "canonical"], capsys)
    assert rc == 2
    assert len(err) == 1 and "UTF-16 (little-endian) text (byte-order mark FF FE)" in err[0]


def test_stats_counts_a_huge_line_unreadable_and_reads_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.txt"
    path.write_bytes(HEADER + ROW + b"x" * HUGE + b"\n" + ROW.replace(b"46087", b"46088"))
    rc, err = run(["stats", str(path), "--format", "anonymous-bank"], capsys)
    assert rc == 0
    assert err[0] == "3 records, 6 events (1 unreadable, 0 duplicates)"
    assert err[1] == f"  unreadable x1: line too long: {HUGE + 1} bytes, over the 4 MiB a line may have"


def test_backtest_exits_1_when_no_record_is_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "noise.jsonl"
    path.write_bytes(b"not json\n\x00\x01\n")
    rc, err = run(["rules", "backtest", "--events", str(path)], capsys)
    assert (rc, err) == (
        1,
        [f"{path}: none of its 2 records could be read as canonical (the wrong --format?)"],
    )


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append(value)

    def flush(self) -> None: ...

    def close(self) -> None: ...


def test_replay_skips_a_huge_line_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shared.kafka

    producer = FakeProducer()
    monkeypatch.setattr(shared.kafka, "ensure_topics", lambda *a, **kw: None)
    monkeypatch.setattr(shared.kafka, "make_producer", lambda *a, **kw: producer)
    path = tmp_path / "bank.txt"
    path.write_bytes(HEADER + ROW + b"x" * HUGE + b"\n")
    rc, err = run(["replay", str(path), "--format", "anonymous-bank", "--raw"], capsys)
    assert rc == 0
    assert producer.sent == [ROW.rstrip(b"\n")]
    assert err == [f"{path}: 1 line(s) over the 4 MiB a line may have; skipped"]


def test_replay_names_the_broker_it_cannot_reach(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kafka.errors import KafkaTimeoutError

    import shared.kafka

    def unreachable(*a: object, **kw: object) -> None:
        raise KafkaTimeoutError("Unable to bootstrap from [('127.0.0.1', 1, <AddressFamily.AF_INET: 2>)]")

    monkeypatch.setattr(shared.kafka, "ensure_topics", unreachable)
    monkeypatch.setenv("FLOORWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    path = tmp_path / "bank.txt"
    path.write_bytes(HEADER + ROW)
    rc, err = run(["replay", str(path), "--format", "anonymous-bank"], capsys)
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("floorwatch replay: Kafka at 127.0.0.1:1: KafkaTimeoutError")


def test_rules_check_refuses_a_rules_file_over_10_mib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rules.yaml"
    with path.open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)  # sparse: no disk, and read whole it is 11 MiB of NULs
    rc, err = run(["rules", "check", str(path)], capsys)
    assert (rc, err) == (
        1,
        [f"{path}: {11 * 1024 * 1024} bytes, over the 10 MiB a rules file may have; not loaded"],
    )
