"""Runs: what produces and uses artifact versions, and the module-level W&B-style calls."""

from __future__ import annotations

import datetime as _dt
import json
import os
import threading
from typing import Any, Optional, Union

from . import _core, _session, errors
from ._session import PathLike, ProgressCallback
from .artifact import Artifact, LogStats

_lock = threading.Lock()
_current: Optional["Run"] = None


def _qualify(project: str, reference: str) -> str:
    """``name`` -> ``project/name:latest``; ``name:v3`` -> ``project/name:v3``."""
    if "/" not in reference:
        reference = f"{project}/{reference}"
    if ":" not in reference.split("/", 1)[1]:
        reference = f"{reference}:latest"
    return reference


class Run:
    """A run in the registry: the versions it logs are its outputs, those it uses its inputs.
    A context manager: ``with wanllmdb.init(project="p") as run: ...``."""

    def __init__(self, session: _core.Session, project: str, info: dict[str, Any]) -> None:
        self._session = session
        self._project = project
        self._info = info
        self._finished = False

    @property
    def id(self) -> str:
        return str(self._info["id"])

    @property
    def name(self) -> str:
        return str(self._info["name"])

    @property
    def project(self) -> str:
        return self._project

    @property
    def job_type(self) -> Optional[str]:
        return (self._info.get("metadata") or {}).get("job_type")

    @property
    def config(self) -> dict[str, Any]:
        return dict((self._info.get("metadata") or {}).get("config") or {})

    @property
    def created_at(self) -> _dt.datetime:
        return _dt.datetime.fromisoformat(str(self._info["created_at"]).replace("Z", "+00:00"))

    def log_artifact(
        self,
        artifact_or_path: Union[Artifact, PathLike],
        name: Optional[str] = None,
        type: Optional[str] = None,
        aliases: Optional[list[str]] = None,
        *,
        rehash: bool = False,
        quiet: Optional[bool] = None,
        progress_callback: Optional[ProgressCallback] = None,
    ) -> Artifact:
        """Logs an artifact as this run's output: hashes its files (unchanged files are known
        from the hash cache), uploads the bytes the registry lacks, finalizes the version and
        points ``aliases`` at it. Returns when all that is done, with the artifact now
        describing the logged version; when its files equal the latest version's, that
        version is returned instead of a new one. A path logs that file or folder as an
        artifact named ``name`` (default: its base name) of ``type`` (default ``file``)."""
        self._check_open()
        if isinstance(artifact_or_path, Artifact):
            artifact = artifact_or_path
        else:
            path = os.fspath(artifact_or_path)
            artifact = Artifact(name or os.path.basename(os.path.abspath(path)), type or "file")
            if os.path.isdir(path):
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
        if artifact.is_logged:
            raise errors.UsageError(f"{artifact.qualified_name} is logged already")
        files, dirs = artifact._entries()
        wanted = list(dict.fromkeys([*artifact.aliases, *(aliases or [])]))
        with _session.Progress(_session.quiet(quiet), progress_callback) as progress:
            logged = json.loads(
                self._session.log_artifact(
                    self._project,
                    artifact.name,
                    artifact.type,
                    artifact.description,
                    json.dumps(artifact.metadata),
                    files,
                    dirs,
                    wanted,
                    self.id,
                    rehash,
                    progress.active(),
                )
            )
        artifact._logged(self._session, self._project, logged["version"])
        artifact._log_stats = LogStats(
            created=bool(logged["created"]),
            uploaded_files=int(logged["uploaded_files"]),
            uploaded_bytes=int(logged["uploaded_bytes"]),
            reused_files=int(logged["reused_files"]),
            hashed_files=int(logged["hashed_files"]),
            hashed_bytes=int(logged["hashed_bytes"]),
        )
        return artifact

    def use_artifact(
        self, artifact_or_name: Union[Artifact, str], type: Optional[str] = None
    ) -> Artifact:
        """The version ``name[:vN|:alias]`` (this run's project) or ``project/name:alias``
        names, recorded as an input of this run."""
        self._check_open()
        if isinstance(artifact_or_name, Artifact):
            reference = artifact_or_name.qualified_name
            if not artifact_or_name.is_logged:
                raise errors.UsageError(f"{reference} is not logged yet")
        else:
            reference = _qualify(self._project, artifact_or_name)
        resolved = json.loads(self._session.use_artifact(reference, self.id))
        if type is not None and resolved["artifact"]["type"] != type:
            raise errors.InvalidError(
                f"{reference} is a {resolved['artifact']['type']}, not a {type}"
            )
        project = reference.split("/", 1)[0]
        return Artifact._from_server(
            self._session, project, resolved["artifact"], resolved["version"]
        )

    def finish(self) -> None:
        """Ends the run in this process; ``wanllmdb.run`` becomes None."""
        global _current
        self._finished = True
        with _lock:
            if _current is self:
                _current = None

    def _check_open(self) -> None:
        if self._finished:
            raise errors.UsageError(f"run {self.name} is finished: call wanllmdb.init() again")

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def __repr__(self) -> str:
        return f"<Run {self._project}/{self.name} ({self.id})>"


def _default_name(job_type: Optional[str]) -> str:
    import secrets  # Only here: importing it costs a run that names itself 5 ms.

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{job_type or 'run'}-{stamp}-{secrets.token_hex(3)}"


def init(
    project: Optional[str] = None,
    name: Optional[str] = None,
    job_type: Optional[str] = None,
    config: Optional[dict[str, Any]] = None,
    *,
    quiet: Optional[bool] = None,
) -> Run:
    """Starts a run in ``project`` (default ``$WANLLMDB_PROJECT``, else ``uncategorized``),
    making the project, with you as its admin, when it does not exist. The run becomes
    ``wanllmdb.run``, which ``wanllmdb.log_artifact`` and ``use_artifact`` act on; a run that
    was current is finished."""
    global _current
    project = project or os.environ.get("WANLLMDB_PROJECT") or "uncategorized"
    if config is not None and not isinstance(config, dict):
        raise errors.InvalidError("config must be a dict")
    if quiet is not None:
        _session.set_quiet(quiet)
    session = _session.session()
    session.ensure_project(project)
    metadata: dict[str, Any] = {}
    if job_type:
        metadata["job_type"] = job_type
    if config:
        metadata["config"] = config
    info = json.loads(
        session.create_run(project, name or _default_name(job_type), json.dumps(metadata))
    )
    run = Run(session, project, info)
    with _lock:
        previous, _current = _current, run
    if previous is not None:
        previous._finished = True
    return run


def current() -> Optional[Run]:
    return _current


def _require_run(what: str) -> Run:
    run = _current
    if run is None:
        raise errors.UsageError(f"wanllmdb.{what} needs a run: call wanllmdb.init(project=...) first")
    return run


def log_artifact(
    artifact_or_path: Union[Artifact, PathLike],
    name: Optional[str] = None,
    type: Optional[str] = None,
    aliases: Optional[list[str]] = None,
    **kwargs: Any,
) -> Artifact:
    """``wanllmdb.run.log_artifact(...)``."""
    return _require_run("log_artifact").log_artifact(
        artifact_or_path, name, type, aliases, **kwargs
    )


def use_artifact(artifact_or_name: Union[Artifact, str], type: Optional[str] = None) -> Artifact:
    """``wanllmdb.run.use_artifact(...)``."""
    return _require_run("use_artifact").use_artifact(artifact_or_name, type)


def finish() -> None:
    """Finishes ``wanllmdb.run``, if any."""
    run = _current
    if run is not None:
        run.finish()
