"""Log lines go through a writer thread (``shared/logs.py``): none lost or reordered, none written
twice, on a normal exit, from a forked child that calls ``logging.shutdown()`` before ``os._exit``
(what the API's workers do), and with an exception's traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, logging, os, sys, threading
    from shared.logs import setup_logging

    writers = set()

    class Out:
        def write(self, text):
            writers.add(threading.current_thread().name)
            sys.stdout.write(text)

        def flush(self):
            sys.stdout.flush()

    setup_logging("INFO", service="t", stream=Out(), fmt="json")
    log = logging.getLogger("t")
    args = {"n": 0}

    def lines(tag):
        for i in range(2000):
            log.info("%s line %d", tag, i, extra={"seq": i})

    threads = [threading.Thread(target=lines, args=(f"th{k}",), name=f"th{k}") for k in range(3)]
    for t in threads:
        t.start()
    log.info("rendered at the call: %s", args["n"])
    args["n"] = 1  # changed before the writer formats the line: must not show
    for t in threads:
        t.join()
    pid = os.fork()
    if pid == 0:
        log.info("child line")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("child failed")
        logging.shutdown()
        os._exit(0)
    os.waitpid(pid, 0)
    log.info("parent last line")
    logging.shutdown()
    print(json.dumps(sorted(writers)), file=sys.stderr)
""")


def test_every_line_written_once_in_order_by_the_writer_thread() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                         check=True)
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    msgs = [d["msg"] for d in docs]
    for k in range(3):
        mine = [d["seq"] for d in docs if d["msg"].startswith(f"th{k} ")]
        assert mine == list(range(2000)), f"thread {k}: lost, doubled or reordered"
    assert "rendered at the call: 0" in msgs
    assert msgs.count("child line") == 1 and msgs.count("parent last line") == 1
    assert msgs[-1] == "parent last line"
    (failed,) = [d for d in docs if d["msg"] == "child failed"]
    assert "ValueError: boom" in failed["exc"] and failed["service"] == "t"
    assert len(docs) == 3 * 2000 + 4
    # written by the writer thread, never by a thread that logs
    writers = set(json.loads(out.stderr.strip().splitlines()[-1]))
    assert writers and not writers & {"MainThread", "th0", "th1", "th2"}, writers
