"""wanllmdb: version and share models, datasets and code, with W&B's API.

>>> import wanllmdb as wandb
>>> run = wandb.init(project="my-project")                      # doctest: +SKIP
>>> artifact = wandb.Artifact("my-model", type="model")         # doctest: +SKIP
>>> artifact.add_file("model.pth")                              # doctest: +SKIP
>>> wandb.log_artifact(artifact, aliases=["best"])              # doctest: +SKIP
>>> path = wandb.use_artifact("my-model:best").download()       # doctest: +SKIP

The bytes move in Rust (``wanllmdb._core``): hashed once (unchanged files are remembered),
uploaded only where the registry lacks them, verified on download, cached locally.
"""

from __future__ import annotations

from typing import Any

from . import errors
from ._core import __version__
from ._session import login
from .api import Api, ArtifactCollection, RunInfo
from .artifact import Artifact, ArtifactEntry, LogStats
from .errors import (
    ConfigError,
    ConflictError,
    ConnectionError,
    Error,
    IntegrityError,
    InvalidError,
    NotFoundError,
    PermissionError,
    TimeoutError,
    UsageError,
)
from ._run import Run, finish, init, log_artifact, use_artifact


def __getattr__(name: str) -> Any:
    # `wanllmdb.run`: the current run, as `wandb.run` is (None before `init`).
    if name == "run":
        from ._run import current

        return current()
    raise AttributeError(f"module 'wanllmdb' has no attribute {name!r}")


__all__ = [
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactEntry",
    "ConfigError",
    "ConflictError",
    "ConnectionError",
    "Error",
    "IntegrityError",
    "InvalidError",
    "LogStats",
    "NotFoundError",
    "PermissionError",
    "Run",
    "RunInfo",
    "TimeoutError",
    "UsageError",
    "__version__",
    "errors",
    "finish",
    "init",
    "log_artifact",
    "login",
    "use_artifact",
]
