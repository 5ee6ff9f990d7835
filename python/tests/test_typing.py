"""The package is typed: ``mypy --strict`` accepts the examples, and the stubs of the native
core match what it exports (``stubtest``)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from conftest import run_python

HERE = pathlib.Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=HERE, capture_output=True, text=True, timeout=600
    )


def test_mypy_strict_accepts_the_examples() -> None:
    done = _run("mypy", "--strict", "examples/quickstart.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stubs_match_the_runtime() -> None:
    done = _run("mypy.stubtest", "wanllmdb")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_runs(env: dict[str, str], project: str, tmp_path: pathlib.Path) -> None:
    out = subprocess.run(
        [sys.executable, str(HERE / "examples" / "quickstart.py"), project, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "toy-model:v0" in out.stdout and "['toy-model']" in out.stdout
    assert run_python("import json, wanllmdb; print(json.dumps(wanllmdb.__version__))", env, tmp_path)
