"""The real ``wanllmdb-server`` for the suite, on both backends.

``sqlite``: the embedded default (SQLite + filesystem) in a temporary folder. ``postgres``:
PostgreSQL and an S3 store (Garage) named by ``TEST_DATABASE_URL`` and ``TEST_S3_*``, which
``make test`` starts; a missing variable fails the tests that need it and says which.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
KEY = "wlm_pytest_bootstrap_key_0123456789abcdefghijklmn"


def _bin(name: str) -> pathlib.Path:
    path = pathlib.Path(os.environ.get("WANLLMDB_BIN_DIR", REPO / "target" / "debug")) / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build it first (cargo build --workspace --bins)")
    return path


def _need(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(
            f"{var} is not set: the postgres backend needs PostgreSQL and Garage "
            "(make test starts them; by hand: scripts/services.sh start, then "
            "set -a; . target/services/env; set +a)"
        )
    return value


@dataclass
class Server:
    backend: str
    url: str
    key: str
    dir: pathlib.Path
    process: subprocess.Popen[str] = field(repr=False)
    blobs: Optional[pathlib.Path] = None

    def tamper(self, project_id: str, sha256: str) -> None:
        """Overwrites a blob behind the registry's back."""
        if self.blobs is not None:
            found = [p for p in self.blobs.rglob(sha256) if p.is_file()]
            assert found, f"blob {sha256} not under {self.blobs}"
            for p in found:
                p.chmod(0o644)
                p.write_bytes(b"tampered")
        else:
            subprocess.run([str(_bin("e2e-tamper")), project_id, sha256], check=True)


def _start(backend: str) -> Server:
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"wanllmdb-pytest-{backend}-"))
    env = dict(os.environ)
    env.update(
        {
            "WANLLMDB__SERVER__BIND": "127.0.0.1:0",
            "WANLLMDB__SERVER__WORKERS": "2",
            "WANLLMDB__AUTH__BOOTSTRAP_KEY": KEY,
            # Files over 6 MiB go up in 5 MiB parts, so resuming is exercised on small files.
            "WANLLMDB__UPLOADS__MULTIPART_THRESHOLD": str(6 << 20),
            "WANLLMDB__UPLOADS__PART_SIZE": str(5 << 20),
            "RUST_LOG": "warn",
        }
    )
    blobs: Optional[pathlib.Path] = None
    if backend == "sqlite":
        blobs = work / "blobs"
        env["WANLLMDB__DATABASE__URL"] = f"sqlite://{work}/wanllmdb.db"
        env["WANLLMDB__STORAGE__BACKEND"] = "fs"
        env["WANLLMDB__STORAGE__FS__ROOT"] = str(blobs)
    else:
        admin = _need("TEST_DATABASE_URL")
        name = f"wanllmdb_pytest_{uuid.uuid4().hex}"
        subprocess.run(
            ["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True
        )
        base, _, query = admin.partition("?")
        env["WANLLMDB__DATABASE__URL"] = (
            base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
        )
        env["WANLLMDB__STORAGE__BACKEND"] = "s3"
        for part in ("ENDPOINT", "REGION", "BUCKET", "ACCESS_KEY", "SECRET_KEY"):
            env[f"WANLLMDB__STORAGE__S3__{part}"] = _need(f"TEST_S3_{part}")
    process = subprocess.Popen(
        [str(_bin("wanllmdb-server")), "serve"],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    assert process.stdout is not None
    url = None
    for line in process.stdout:
        m = re.match(r"wanllmdb-server listening on (\S+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        process.wait(timeout=10)
        pytest.fail(f"wanllmdb-server ({backend}) exited before it listened: {process.returncode}")
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True).start()
    return Server(backend, url, KEY, work, process, blobs)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    s = _start(request.param)
    yield s
    s.process.terminate()
    try:
        s.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        s.process.kill()
    shutil.rmtree(s.dir, ignore_errors=True)


@pytest.fixture
def env(server: Server, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This test's environment: the server, and its own cache and config folders (also for
    the subprocesses it starts)."""
    values = {
        "WANLLMDB_URL": server.url,
        "WANLLMDB_API_KEY": server.key,
        "WANLLMDB_CACHE_DIR": str(tmp_path / "cache"),
        "WANLLMDB_CONFIG_DIR": str(tmp_path / "config"),
        "WANLLMDB_QUIET": "1",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    import wanllmdb._run
    import wanllmdb._session

    # A fresh session for every test: it reads the variables above.
    monkeypatch.setattr(wanllmdb._session, "_session", None)
    monkeypatch.setattr(wanllmdb._session, "_quiet", None)
    monkeypatch.setattr(wanllmdb._run, "_current", None)
    full = dict(os.environ)
    full.update(values)
    return full


@pytest.fixture
def project(env: dict[str, str]) -> str:
    return f"py-{uuid.uuid4().hex[:12]}"


def write_tree(root: pathlib.Path, files: int, size: int = 64, depth: int = 3) -> dict[str, bytes]:
    """``files`` distinct files in nested folders under ``root``; returns path -> bytes."""
    made: dict[str, bytes] = {}
    for i in range(files):
        parts = [f"d{(i >> (3 * k)) % 8}" for k in range(depth)]
        rel = "/".join([*parts, f"f{i:05d}.bin"])
        data = (f"{i}:".encode() + os.urandom(size))[:size]
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        made[rel] = data
    return made


def read_tree(root: pathlib.Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


def run_python(code: str, env: dict[str, str], cwd: pathlib.Path, timeout: float = 300) -> Any:
    """Runs ``code`` in a fresh interpreter; fails the test with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
