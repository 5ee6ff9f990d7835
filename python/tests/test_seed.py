"""The usage the original design showed runs unchanged, in a fresh interpreter."""

from __future__ import annotations

import pathlib

from conftest import read_tree, run_python

SEED = '''
import wanllmdb as wandb

run = wandb.init(project="my-project")
model_artifact = wandb.Artifact(name="my-model", type="model", description="Trained CNN model")
model_artifact.add_file("model.pth")
model_artifact.add_dir("checkpoints/")
wandb.log_artifact(model_artifact)

run = wandb.init(project="my-project")
model_artifact = wandb.use_artifact("my-model:latest")
path = model_artifact.download()
'''

REPORT = '''
import json
print(json.dumps({
    "path": path,
    "version": model_artifact.version,
    "type": model_artifact.type,
    "description": model_artifact.description,
    "aliases": model_artifact.aliases,
    "files": sorted(e.path for e in model_artifact.files()),
    "producer": model_artifact.run_id,
}))
'''


def test_the_seed_snippet_runs_verbatim(env: dict[str, str], tmp_path: pathlib.Path) -> None:
    work = tmp_path / "work"
    (work / "checkpoints" / "epoch-2").mkdir(parents=True)
    (work / "model.pth").write_bytes(b"\x80weights" * 1000)
    (work / "checkpoints" / "epoch-1.pt").write_bytes(b"one" * 500)
    (work / "checkpoints" / "epoch-2" / "state.pt").write_bytes(b"two" * 700)
    # A fresh environment per run: "my-project" is this test's own server's.
    first = run_python(SEED + REPORT, env, work)
    assert first["version"] == "v0"
    assert first["type"] == "model"
    assert first["description"] == "Trained CNN model"
    assert "latest" in first["aliases"]
    assert first["files"] == ["epoch-1.pt", "epoch-2/state.pt", "model.pth"]
    assert first["producer"], "the version names the run that logged it"
    downloaded = read_tree(work / first["path"])
    assert downloaded == {
        "model.pth": (work / "model.pth").read_bytes(),
        "epoch-1.pt": (work / "checkpoints" / "epoch-1.pt").read_bytes(),
        "epoch-2/state.pt": (work / "checkpoints" / "epoch-2" / "state.pt").read_bytes(),
    }
    # Run again unchanged: the same files are the same version, not a new one.
    again = run_python(SEED + REPORT, env, work)
    assert again["version"] == "v0"
