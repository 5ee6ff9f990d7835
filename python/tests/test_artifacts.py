"""Logging, using, searching and editing artifacts through the W&B-style API."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import shutil
import time

import pytest

import wanllmdb
from conftest import read_tree, write_tree


def test_a_nested_folder_of_a_thousand_files_round_trips(
    project: str, tmp_path: pathlib.Path
) -> None:
    data = tmp_path / "data"
    made = write_tree(data, 999, size=200)
    # A path that another one starts with, for the single-file download below.
    (data / "d1/d0/d0/f00001.bin.bak").write_bytes(b"neighbour")
    made["d1/d0/d0/f00001.bin.bak"] = b"neighbour"
    with wanllmdb.init(project=project, job_type="prepare", config={"seed": 7}) as run:
        assert wanllmdb.run is run
        art = wanllmdb.Artifact("corpus", type="dataset", metadata={"rows": 1000})
        art.add_dir(data)
        logged = run.log_artifact(art, aliases=["best"])
        assert logged is art
        assert (art.version, art.file_count, art.size) == ("v0", 1000, 200 * 999 + 9)
        assert sorted(art.aliases) == ["best", "latest"]
        assert art.metadata == {"rows": 1000}
        assert art.run_id == run.id
        assert isinstance(art.created_at, dt.datetime)
        assert art.log_stats is not None and art.log_stats.uploaded_files == 1000
    assert wanllmdb.run is None, "leaving the with block finishes the run"

    with wanllmdb.init(project=project, job_type="train") as run:
        used = run.use_artifact("corpus:best", type="dataset")
        assert used.version == "v0" and used.digest == art.digest
        root = used.download(tmp_path / "restored")
        assert read_tree(pathlib.Path(root)) == made
        used.verify(root)
        entry = used.get_entry("d1/d0/d0/f00001.bin")
        assert (entry.size, entry.name) == (200, "f00001.bin")
        with pytest.raises(LookupError):
            used.get_entry("no/such/file")
        # One file alone: not its neighbours whose paths it prefixes.
        one = entry.download(tmp_path / "one")
        assert pathlib.Path(one) == tmp_path / "one" / "d1" / "d0" / "d0" / "f00001.bin"
        assert read_tree(tmp_path / "one") == {entry.path: made[entry.path]}
        # Only a part of it.
        part = used.download(tmp_path / "part", path_prefix="d2/")
        wanted = {k: v for k, v in made.items() if k.startswith("d2/")}
        assert wanted and read_tree(pathlib.Path(part)) == wanted


def test_relogging_unchanged_uploads_nothing_and_one_change_uploads_one_blob(
    project: str, tmp_path: pathlib.Path
) -> None:
    data = tmp_path / "data"
    write_tree(data, 50, size=1000)
    # Files modified within two seconds of hashing are hashed again next time (their time
    # stamp cannot tell a later edit apart): this dataset was written a while ago.
    hour_ago = time.time() - 3600
    for f in data.rglob("*.bin"):
        os.utime(f, (hour_ago, hour_ago))
    run = wanllmdb.init(project=project)

    def log() -> wanllmdb.Artifact:
        art = wanllmdb.Artifact("ckpt", type="model")
        art.add_dir(data, name="weights")
        return wanllmdb.log_artifact(art)

    first = log()
    again = log()
    assert again.version == first.version == "v0"
    assert again.log_stats is not None
    assert (again.log_stats.created, again.log_stats.uploaded_bytes) == (False, 0)
    assert again.log_stats.hashed_files == 0, "the hash cache knew every file"

    changed = sorted(data.rglob("*.bin"))[7]
    changed.write_bytes(b"new bytes" * 50)
    third = log()
    assert third.version == "v1"
    assert third.log_stats is not None
    assert (third.log_stats.uploaded_files, third.log_stats.uploaded_bytes) == (1, 450)
    assert third.log_stats.hashed_files == 1
    assert third.log_stats.reused_files == 49
    run.finish()


def test_a_script_may_delete_its_folder_right_after_logging(
    project: str, tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "outputs"
    made = write_tree(out, 20, size=300)
    art = wanllmdb.Artifact("scratch", type="dataset")
    art.add_dir(out)
    with art.new_file("notes.txt") as f:
        f.write("written by the script")
    with wanllmdb.init(project=project) as run:
        run.log_artifact(art)
    shutil.rmtree(out)
    restored = pathlib.Path(art.download(tmp_path / "restored"))
    assert read_tree(restored) == {**made, "notes.txt": b"written by the script"}


def test_edits_aliases_and_search(project: str, tmp_path: pathlib.Path) -> None:
    run = wanllmdb.init(project=project)
    for i, acc in enumerate([0.71, 0.93]):
        art = wanllmdb.Artifact("clf", type="model", metadata={"accuracy": acc})
        with art.new_file("config.json") as f:
            f.write(f'{{"i": {i}}}')
        run.log_artifact(art)
    other = wanllmdb.Artifact("tokens", type="dataset", description="word pieces")
    with other.new_file("vocab/words.txt") as f:
        f.write("a\nb\n")
    run.log_artifact(other)

    api = wanllmdb.Api()
    best = api.artifact(f"{project}/clf:v1")
    assert best.metadata == {"accuracy": 0.93}
    best.aliases.append("production")
    best.description = "the good one"
    best.metadata["reviewed"] = True
    best.save()
    again = api.artifact(f"{project}/clf:production")
    assert again.version == "v1"
    assert again.description == "the good one"
    assert again.metadata == {"accuracy": 0.93, "reviewed": True}
    again.aliases.remove("production")
    again.save()
    with pytest.raises(wanllmdb.NotFoundError) as missing:
        api.artifact(f"{project}/clf:production")
    assert isinstance(missing.value, LookupError)
    assert missing.value.status == 404 and missing.value.problem is not None

    models = api.artifacts(project, type="model")
    assert [a.name for a in models] == ["clf"]
    assert models[0].version_count == 2
    found = api.artifacts(project, query="word")
    assert [a.name for a in found] == ["tokens"]
    good = api.artifact_versions(f"{project}/clf", filter="metadata.accuracy >= 0.9")
    assert [v.version for v in good] == ["v1"]
    ordered = api.artifact_versions(f"{project}/clf", sort="-metadata.accuracy")
    assert [v.version for v in ordered] == ["v1", "v0"]
    assert models[0].latest().version == "v1"
    runs = api.runs(project)
    assert [r.id for r in runs] == [run.id]

    old = api.artifact(f"{project}/clf:v0")
    old.delete()
    with pytest.raises(wanllmdb.NotFoundError):
        api.artifact(f"{project}/clf:v0")


def test_mistakes_are_clear_errors(project: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(wanllmdb.UsageError, match="init"):
        wanllmdb.log_artifact(wanllmdb.Artifact("x", type="file"))
    with pytest.raises(wanllmdb.InvalidError):
        wanllmdb.Artifact("x", type="weights")
    with pytest.raises(ValueError):
        wanllmdb.Artifact("proj/x", type="file")
    art = wanllmdb.Artifact("x", type="file")
    with pytest.raises(FileNotFoundError):
        art.add_file(tmp_path / "missing.bin")
    with pytest.raises(NotADirectoryError):
        art.add_dir(tmp_path / "missing")
    with pytest.raises(ValueError):
        art.add_file(__file__, name="../outside.py")
    with pytest.raises(wanllmdb.UsageError, match="not logged"):
        art.download(tmp_path)
    run = wanllmdb.init(project=project)
    with pytest.raises(wanllmdb.NotFoundError):
        run.use_artifact("never-logged:latest")
    with pytest.raises(wanllmdb.InvalidError):
        run.use_artifact("bad name!:v0")
    (tmp_path / "a.txt").write_text("a")
    art.add_file(tmp_path / "a.txt")
    run.log_artifact(art)
    with pytest.raises(wanllmdb.UsageError, match="cannot change"):
        art.add_file(tmp_path / "a.txt")
    run.finish()
    with pytest.raises(wanllmdb.UsageError, match="finished"):
        run.use_artifact("x:latest")


def test_a_wrong_key_and_an_unreachable_server(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(wanllmdb.PermissionError) as denied:
        wanllmdb.login(env["WANLLMDB_URL"], "wlm_not_a_real_key_000000000000000000000", save=False)
    assert isinstance(denied.value, PermissionError)
    with pytest.raises(wanllmdb.ConnectionError) as down:
        wanllmdb.login("http://127.0.0.1:9", "wlm_whatever_000000000000000000000000000", save=False)
    assert isinstance(down.value, ConnectionError)
    assert wanllmdb.login(env["WANLLMDB_URL"], env["WANLLMDB_API_KEY"])
    saved = pathlib.Path(env["WANLLMDB_CONFIG_DIR"]) / "credentials.json"
    assert saved.exists(), "login saves the credentials where the CLI's login does"
    monkeypatch.delenv("WANLLMDB_URL")
    monkeypatch.delenv("WANLLMDB_API_KEY")
    from wanllmdb import _session

    monkeypatch.setattr(_session, "_session", None)
    # No variables now: the saved credentials are used.
    me = json.loads(_session.session().me())
    assert me["name"]
