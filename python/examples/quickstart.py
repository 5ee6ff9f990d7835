"""Log a model and a dataset, then use them in another run: the package's everyday calls,
type-checked with ``mypy --strict`` in the test suite."""

from __future__ import annotations

import pathlib
import sys

import wanllmdb


def train(project: str, workdir: pathlib.Path) -> wanllmdb.Artifact:
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "train.csv").write_text("x,y\n1,2\n")
    with wanllmdb.init(project=project, job_type="train", config={"lr": 0.001}) as run:
        dataset = wanllmdb.Artifact("toy-data", type="dataset", metadata={"rows": 1})
        dataset.add_dir(data)
        run.log_artifact(dataset)

        model = wanllmdb.Artifact("toy-model", type="model", description="a tiny model")
        with model.new_file("model.json") as f:
            f.write('{"weights": [0.5]}')
        model.metadata["accuracy"] = 0.9
        logged = run.log_artifact(model, aliases=["best"])
        stats = logged.log_stats
        if stats is not None:
            print(f"{logged.qualified_name}: {stats.uploaded_bytes} bytes sent")
        return logged


def evaluate(project: str, workdir: pathlib.Path) -> float:
    with wanllmdb.init(project=project, job_type="eval") as run:
        model = run.use_artifact("toy-model:best", type="model")
        root = pathlib.Path(model.download(workdir / "restored"))
        model.verify(root)
        entry: wanllmdb.ArtifactEntry = model.get_entry("model.json")
        print(entry.path, entry.size, entry.digest)
        accuracy = model.metadata.get("accuracy", 0.0)
        return float(accuracy)


def search(project: str) -> list[str]:
    api = wanllmdb.Api()
    found = api.artifacts(project, type="model", filter="metadata.accuracy >= 0.5")
    names = [c.name for c in found]
    for version in api.artifact_versions(f"{project}/toy-model", sort="-created_at"):
        print(version.version, version.aliases, version.created_at)
    try:
        api.artifact(f"{project}/no-such-model:latest")
    except wanllmdb.NotFoundError as e:
        print("not found:", e.status, e.problem)
    return names


if __name__ == "__main__":
    where = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else ".")
    project = sys.argv[1] if len(sys.argv) > 1 else "examples"
    train(project, where)
    print(evaluate(project, where), search(project))
