"""Bytes that do not match, and a server that names a path outside the target."""

from __future__ import annotations

import http.server
import json
import pathlib
import threading
import urllib.request
from typing import Any, Iterator

import pytest

import wanllmdb
from conftest import Server


def test_a_corrupted_blob_is_an_integrity_error_naming_the_file(
    server: Server, project: str, tmp_path: pathlib.Path
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "good.txt").write_bytes(b"fine" * 100)
    (src / "sub" / "bad.txt").write_bytes(b"original bytes" * 100)
    run = wanllmdb.init(project=project)
    art = wanllmdb.Artifact("corpus", type="dataset")
    art.add_dir(src)
    run.log_artifact(art)
    entry = art.get_entry("sub/bad.txt")
    assert art._version is not None
    server.tamper(str(art._version["project_id"]), entry.digest)

    target = tmp_path / "target"
    with pytest.raises(wanllmdb.IntegrityError) as bad:
        art.download(target)
    assert bad.value.path == "sub/bad.txt"
    assert "sub/bad.txt" in str(bad.value)
    assert isinstance(bad.value, ValueError)
    assert not (target / "sub" / "bad.txt").exists(), "no corrupt file is left behind"
    leftovers = [p.name for p in target.rglob("*") if "wanllmdb-part" in p.name]
    assert leftovers == [], "no partial file either"

    # verify() finds a local file edited after a good download.
    good = tmp_path / "good"
    (src / "sub" / "bad.txt").write_bytes(b"original bytes" * 100)
    other = wanllmdb.Artifact("clean", type="dataset")
    other.add_file(src / "sub" / "good.txt")
    run.log_artifact(other)
    other.download(good)
    other.verify(good)
    edited = good / "good.txt"
    edited.chmod(0o644)
    edited.write_bytes(b"edited")
    with pytest.raises(wanllmdb.IntegrityError, match="good.txt"):
        other.verify(good)


@pytest.fixture
def hostile(server: Server, project: str, tmp_path: pathlib.Path) -> Iterator[str]:
    """A server answering like the real one, except that a file's path is ``../escaped.txt``."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "inside.txt").write_bytes(b"inside")
    run = wanllmdb.init(project=project)
    art = wanllmdb.Artifact("evil", type="file")
    art.add_file(src / "inside.txt")
    run.log_artifact(art)
    run.finish()

    def tampered(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ("../escaped.txt" if k == "path" and v == "inside.txt" else tampered(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [tampered(v) for v in value]
        return value

    class Proxy(http.server.BaseHTTPRequestHandler):
        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            req = urllib.request.Request(server.url + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(req) as resp:
                    status, payload, kind = resp.status, resp.read(), resp.headers.get("Content-Type", "")
            except urllib.error.HTTPError as e:
                status, payload, kind = e.code, e.read(), e.headers.get("Content-Type", "")
            if "json" in kind and payload:
                payload = json.dumps(tampered(json.loads(payload))).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _relay

        def log_message(self, *args: Any) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}"
    proxy.shutdown()


def test_a_hostile_path_writes_nothing_outside_the_target(
    hostile: str, server: Server, project: str, tmp_path: pathlib.Path
) -> None:
    api = wanllmdb.Api(url=hostile, api_key=server.key)
    art = api.artifact(f"{project}/evil:latest")
    assert [e.path for e in art.files()] == ["../escaped.txt"], "the proxy rewrites paths"
    target = tmp_path / "deep" / "target"
    with pytest.raises(ValueError, match="escaped"):
        art.download(target)
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert [p for p in tmp_path.joinpath("deep").rglob("*") if p.is_file()] == []
