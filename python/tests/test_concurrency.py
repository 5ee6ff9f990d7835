"""Forked children (PyTorch DataLoader workers fork) and threads share the package safely."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pathlib
import time

import wanllmdb
from conftest import read_tree, write_tree


def _download_in_child(args: tuple[str, str]) -> dict[str, int]:
    reference, root = args
    art = wanllmdb.Api().artifact(reference)
    art.download(root)
    art.verify(root)
    return {"files": len(list(pathlib.Path(root).rglob("*.bin"))), "pid": os.getpid()}


def test_forked_children_download_in_parallel(project: str, tmp_path: pathlib.Path) -> None:
    made = write_tree(tmp_path / "data", 120, size=3000)
    run = wanllmdb.init(project=project)
    art = wanllmdb.Artifact("shards", type="dataset")
    art.add_dir(tmp_path / "data")
    run.log_artifact(art)
    # The parent has used its runtime, connections and cache before forking.
    art.download(tmp_path / "parent")
    reference = art.qualified_name

    ctx = multiprocessing.get_context("fork")
    jobs = [(reference, str(tmp_path / f"child-{i}")) for i in range(4)]
    with ctx.Pool(4) as pool:
        results = pool.map_async(_download_in_child, jobs).get(timeout=120)
    assert [r["files"] for r in results] == [120] * 4
    assert all(r["pid"] != os.getpid() for r in results)
    for _, root in jobs:
        assert read_tree(pathlib.Path(root)) == made

    # A raw os.fork(), then the parent goes on using the package too.
    pid = os.fork()
    if pid == 0:
        try:
            _download_in_child((reference, str(tmp_path / "raw-child")))
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < deadline, "the forked child deadlocked"
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert read_tree(tmp_path / "raw-child") == made
    art.download(tmp_path / "parent-again")
    assert read_tree(tmp_path / "parent-again") == made


def test_eight_threads_log_at_once(project: str, tmp_path: pathlib.Path) -> None:
    run = wanllmdb.init(project=project)

    def log(i: int) -> tuple[str, str, bool]:
        folder = tmp_path / f"t{i}"
        write_tree(folder, 30, size=500 + i)
        art = wanllmdb.Artifact(f"model-{i % 4}", type="model", metadata={"thread": i})
        art.add_dir(folder)
        run.log_artifact(art)
        return art.name, str(art.version), art.log_stats is not None and art.log_stats.created

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        logged = list(pool.map(log, range(8)))
    assert all(created for _, _, created in logged)
    by_name: dict[str, list[str]] = {}
    for name, version, _ in logged:
        by_name.setdefault(name, []).append(version)
    # Two threads per artifact: each got its own version, v0 and v1, race-free.
    assert {n: sorted(v) for n, v in by_name.items()} == {
        f"model-{i}": ["v0", "v1"] for i in range(4)
    }
