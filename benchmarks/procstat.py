"""A process's CPU time and resident memory, from /proc (Linux), for the benchmarks that watch
other processes (the embedded broker, the API, the engine processes); and stopping one."""

from __future__ import annotations

import os
import signal
import subprocess


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        # the command name (field 2) may hold spaces: split what follows its closing parenthesis
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: 14, 15


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (``VmRSS`` of ``/proc/<pid>/status``); NaN if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def interrupt(proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Stop ``proc`` as Ctrl-C would (it drains); killed if it has not exited within ``timeout_s``."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
