"""Ctrl-C during a transfer: ``KeyboardInterrupt`` within a second, nothing left running, and
the next run uploads only what is missing."""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import wanllmdb
from wanllmdb import _core

SIZE = 300 << 20

SCRIPT = '''
import json, sys, threading, time
import wanllmdb

state = {"reported": False}

def progress(what, done, total):
    if what == "upload" and done > 0 and not state["reported"]:
        state["reported"] = True
        print(json.dumps({"uploading": done, "total": total}), flush=True)

run = wanllmdb.init(project=sys.argv[1])
art = wanllmdb.Artifact("big", type="model")
art.add_file(sys.argv[2])
try:
    run.log_artifact(art, progress_callback=progress)
    print(json.dumps({"done": art.log_stats.uploaded_bytes}), flush=True)
except KeyboardInterrupt:
    print(json.dumps({"interrupted": time.monotonic(),
                      "threads": [t.name for t in threading.enumerate()]}), flush=True)
    # The package still works in this process after an interrupt.
    print(json.dumps({"after": wanllmdb.Api().runs(sys.argv[1])[0].id == run.id}), flush=True)
'''


def test_ctrl_c_interrupts_within_a_second_and_the_next_run_resumes(
    env: dict[str, str], project: str, tmp_path: pathlib.Path
) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        block = bytes(range(256)) * 4096
        for i in range(SIZE // len(block)):
            f.write(i.to_bytes(4, "little") + block[4:])
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, project, str(big)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = json.loads(child.stdout.readline())
    assert "uploading" in first, first
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    second = json.loads(child.stdout.readline() or "{}")
    waited = time.monotonic() - sent
    assert "interrupted" in second, f"no KeyboardInterrupt: {second} {child.stderr.read() if child.stderr else ''}"
    assert waited < 1.0, f"KeyboardInterrupt came {waited:.2f} s after SIGINT"
    assert second["threads"] == ["MainThread"], "no Python thread is left running"
    third = json.loads(child.stdout.readline())
    assert third == {"after": True}
    assert child.wait(timeout=30) == 0

    # The next run finishes the upload, sending only what the first did not.
    again = subprocess.run(
        [sys.executable, "-c", SCRIPT, project, str(big)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    done = [line["done"] for line in lines if "done" in line]
    assert done, lines
    assert 0 < done[0] < SIZE, f"the second run sent {done[0]} of {SIZE} bytes"


def test_a_panic_in_the_core_is_an_exception_and_the_next_call_works(project: str) -> None:
    with pytest.raises(wanllmdb.Error, match="deliberate panic"):
        _core._panic_in_worker("deliberate panic")
    _core._panic_in_worker("")
    run = wanllmdb.init(project=project)
    run.finish()
    assert [r.id for r in wanllmdb.Api().runs(project)] == [run.id]
