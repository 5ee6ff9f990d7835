"""The progress bar: drawn on a terminal, not into a pipe or a log file (where tqdm is not even
imported), and the callback is told either way."""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import pty
import struct
import subprocess
import sys
import termios

SCRIPT = '''
import json, sys
import wanllmdb

calls = []
run = wanllmdb.init(project=sys.argv[1])
art = wanllmdb.Artifact("progress", type="dataset")
art.add_file(sys.argv[2])
run.log_artifact(art, progress_callback=lambda what, done, total: calls.append((what, done, total)))
print(json.dumps({"tqdm": "tqdm" in sys.modules, "last": calls[-1] if calls else None}))
'''


def _env(env: dict[str, str]) -> dict[str, str]:
    shown = dict(env)
    shown.pop("WANLLMDB_QUIET", None)
    # A bar from the first tick, as a long transfer would have.
    shown["WANLLMDB_PROGRESS_DELAY"] = "0"
    return shown


def _data(tmp_path: pathlib.Path) -> pathlib.Path:
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(64 << 20))
    return data


def test_no_bar_and_no_tqdm_when_stderr_is_a_pipe(
    env: dict[str, str], project: str, tmp_path: pathlib.Path
) -> None:
    data = _data(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, project, str(data)],
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["tqdm"] is False, "tqdm was imported for a bar nobody sees"
    assert out["last"] == ["upload", 64 << 20, 64 << 20], "the callback is told all the same"
    assert "%|" not in done.stderr and "upload" not in done.stderr, done.stderr


def test_a_bar_on_a_terminal(env: dict[str, str], project: str, tmp_path: pathlib.Path) -> None:
    data = _data(tmp_path)
    leader, follower = pty.openpty()
    # A terminal 100 columns wide (a new pseudo-terminal has none, and tqdm draws nothing then).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, project, str(data)],
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal.
                break
            if not chunk:
                break
            drawn += chunk
        stdout, _ = child.communicate(timeout=120)
    finally:
        os.close(leader)
    assert child.returncode == 0, drawn.decode(errors="replace")
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["tqdm"] is True
    text = drawn.decode(errors="replace")
    assert "upload" in text and "%|" in text, f"no bar on the terminal: {text!r}"
