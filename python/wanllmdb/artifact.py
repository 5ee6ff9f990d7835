"""Artifacts: build one file by file and log it, or use a logged version and download it."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import posixpath
from dataclasses import dataclass, field
from typing import IO, Any, Iterator, Optional

from . import _core, _session, errors
from ._session import PathLike, ProgressCallback

ARTIFACT_TYPES = ("model", "dataset", "file", "code")


@dataclass(frozen=True)
class ArtifactEntry:
    """One file of a logged version."""

    path: str
    size: int
    #: The file's SHA-256, hex.
    digest: str
    md5: str
    content_type: str
    _artifact: Optional["Artifact"] = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def download(
        self,
        root: Optional[PathLike] = None,
        *,
        skip_cache: bool = False,
        quiet: Optional[bool] = None,
        progress_callback: Optional[ProgressCallback] = None,
    ) -> str:
        """Downloads this file alone into ``root`` (default as :meth:`Artifact.download`),
        verified against its SHA-256, and returns its local path."""
        if self._artifact is None:
            raise errors.UsageError(f"{self.path!r} belongs to no logged artifact")
        target = self._artifact._fetch(
            root, self.path, True, skip_cache, quiet, progress_callback
        )
        return os.path.join(target, *self.path.split("/"))

    @property
    def sha256(self) -> str:
        return self.digest


@dataclass(frozen=True)
class LogStats:
    """What logging a version did."""

    #: False when the files equalled the latest version's, which was returned instead.
    created: bool
    #: Files whose bytes were sent, and how many bytes.
    uploaded_files: int
    uploaded_bytes: int
    #: Files whose bytes the registry held already.
    reused_files: int
    #: Files read to hash them (the rest were known to the hash cache), and their bytes.
    hashed_files: int
    hashed_bytes: int


def _timestamp(text: Optional[str]) -> Optional[_dt.datetime]:
    if not text:
        return None
    # The server writes RFC 3339 with a Z; fromisoformat takes +00:00 on Python < 3.11.
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _remove_tree(path: str) -> None:
    # Imported here: only `new_file` makes a folder to remove, and importing costs 5 ms.
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _entry_path(name: str) -> str:
    """A path inside an artifact: relative, ``/``-separated, no ``..``."""
    path = posixpath.normpath(name.replace(os.sep, "/"))
    if path.startswith("/") or path == "." or path.split("/")[0] == "..":
        raise errors.InvalidError(f"{name!r} is not a relative path inside the artifact")
    return path


class Artifact:
    """An artifact version: a new one to fill and log, or a logged one to use.

    ``Artifact(name, type)`` starts a new version; ``add_file``, ``add_dir`` and ``new_file``
    fill it and ``Run.log_artifact`` logs it (hash, upload what the registry lacks, finalize),
    after which the same object describes the logged version. ``use_artifact`` and
    ``Api().artifact`` give logged versions, whose files ``download`` fetches.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: Optional[str] = None,
        metadata: Optional[dict[str, Any]] = None,
    ) -> None:
        if not isinstance(name, str) or not name or "/" in name or ":" in name:
            raise errors.InvalidError(
                f"artifact name {name!r}: give a plain name (no project/ and no :version)"
            )
        if type not in ARTIFACT_TYPES:
            raise errors.InvalidError(
                f"artifact type {type!r} is not one of {', '.join(ARTIFACT_TYPES)}"
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise errors.InvalidError("metadata must be a dict")
        self._name = name
        self._type = type
        self._description = description or ""
        self._metadata: dict[str, Any] = dict(metadata or {})
        self._aliases: list[str] = []
        self._files: list[tuple[str, str]] = []
        self._dirs: list[tuple[str, str]] = []
        self._staging: Optional[str] = None
        self._project: Optional[str] = None
        self._version: Optional[dict[str, Any]] = None
        self._session: Optional[_core.Session] = None
        self._saved_aliases: list[str] = []
        self._log_stats: Optional[LogStats] = None

    @classmethod
    def _from_server(
        cls,
        session: _core.Session,
        project: str,
        artifact: dict[str, Any],
        version: dict[str, Any],
    ) -> "Artifact":
        a = cls(artifact["name"], artifact["type"])
        a._logged(session, project, version)
        return a

    def _logged(self, session: _core.Session, project: str, version: dict[str, Any]) -> None:
        self._session = session
        self._project = project
        self._version = version
        self._description = version.get("description") or ""
        self._metadata = dict(version.get("metadata") or {})
        self._aliases = list(version.get("aliases") or [])
        self._saved_aliases = list(self._aliases)
        self._files, self._dirs = [], []
        if self._staging is not None:
            _remove_tree(self._staging)
            self._staging = None

    # -- building ---------------------------------------------------------------------------

    def _draft(self) -> None:
        if self._version is not None:
            raise errors.UsageError(
                f"{self.qualified_name} is logged and cannot change: start a new "
                f"Artifact({self._name!r}, {self._type!r}) for the next version"
            )

    def add_file(self, local_path: PathLike, name: Optional[str] = None) -> None:
        """Adds a local file, at ``name`` (default: its file name) inside the artifact."""
        self._draft()
        local = os.path.abspath(os.fspath(local_path))
        if not os.path.isfile(local):
            if os.path.isdir(local):
                raise errors.IsADirectoryError(f"{local} is a folder: use add_dir")
            raise errors.FileNotFoundError(f"{local}: no such file")
        self._files.append((local, _entry_path(name or os.path.basename(local))))

    def add_dir(self, local_path: PathLike, name: Optional[str] = None) -> None:
        """Adds every file under a local folder, at its relative path, under ``name`` if given.
        The folder is listed when the artifact is logged."""
        self._draft()
        local = os.path.abspath(os.fspath(local_path))
        if not os.path.isdir(local):
            raise errors.NotADirectoryError(f"{local}: no such folder")
        self._dirs.append((local, _entry_path(name) if name else ""))

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "w", encoding: Optional[str] = None
    ) -> Iterator[IO[Any]]:
        """Writes a file into the artifact: ``with artifact.new_file("labels.json") as f: ...``"""
        self._draft()
        if "r" in mode or "a" in mode or "+" in mode:
            raise errors.InvalidError(f"new_file writes a new file: mode {mode!r} is not 'w'/'wb'")
        path = _entry_path(name)
        if self._staging is None:
            import tempfile

            self._staging = tempfile.mkdtemp(prefix="wanllmdb-new-files-")
        local = os.path.join(self._staging, *path.split("/"))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        if "b" in mode:
            f: IO[Any] = open(local, mode)
        else:
            f = open(local, mode, encoding=encoding or "utf-8")
        with f:
            yield f
        self._files.append((local, path))

    def _entries(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return list(self._files), list(self._dirs)

    # -- what it is ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def project(self) -> Optional[str]:
        return self._project

    @property
    def version(self) -> Optional[str]:
        """``v0``, ``v1``, ... once logged; None before."""
        return None if self._version is None else str(self._version["version"])

    @property
    def qualified_name(self) -> str:
        """``project/name:vN`` once logged, else the bare name."""
        if self._version is None or self._project is None:
            return self._name
        return f"{self._project}/{self._name}:{self._version['version']}"

    @property
    def id(self) -> Optional[str]:
        return None if self._version is None else str(self._version["id"])

    @property
    def description(self) -> str:
        return self._description

    @description.setter
    def description(self, text: Optional[str]) -> None:
        self._description = text or ""

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise errors.InvalidError("metadata must be a dict")
        self._metadata = dict(value)

    @property
    def aliases(self) -> list[str]:
        """The version's aliases; edit the list and ``save()`` (``latest`` moves by itself)."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._aliases = list(value)

    @property
    def digest(self) -> Optional[str]:
        """The manifest digest: equal for versions with equal files."""
        return None if self._version is None else self._version.get("digest")

    @property
    def size(self) -> int:
        """Total bytes of the version's files (0 before logging)."""
        return 0 if self._version is None else int(self._version["total_size"])

    @property
    def file_count(self) -> int:
        return 0 if self._version is None else int(self._version["file_count"])

    @property
    def created_at(self) -> Optional[_dt.datetime]:
        return None if self._version is None else _timestamp(self._version.get("created_at"))

    @property
    def run_id(self) -> Optional[str]:
        """The run that produced this version, if one did."""
        return None if self._version is None else self._version.get("run_id")

    @property
    def log_stats(self) -> Optional[LogStats]:
        """What ``log_artifact`` did with this artifact (None unless it logged it)."""
        return self._log_stats

    @property
    def is_logged(self) -> bool:
        return self._version is not None

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} ({self._type})>"

    # -- using a logged version -------------------------------------------------------------

    def _require_logged(self) -> tuple[_core.Session, str]:
        if self._version is None or self._session is None:
            raise errors.UsageError(
                f"artifact {self._name!r} is not logged yet: log it with run.log_artifact"
            )
        return self._session, self.qualified_name

    def download(
        self,
        root: Optional[PathLike] = None,
        path_prefix: Optional[str] = None,
        *,
        skip_cache: bool = False,
        quiet: Optional[bool] = None,
        progress_callback: Optional[ProgressCallback] = None,
    ) -> str:
        """Downloads the version's files (those under ``path_prefix``) into ``root`` (default
        ``./artifacts/<name>:<version>``), each verified against its SHA-256, taking what the
        local cache holds from it. Returns ``root``."""
        return self._fetch(root, path_prefix, False, skip_cache, quiet, progress_callback)

    def _default_root(self, root: Optional[PathLike]) -> str:
        if root is not None:
            return os.fspath(root)
        return os.path.join("artifacts", f"{self._name}:{self.version}")

    def _fetch(
        self,
        root: Optional[PathLike],
        prefix: Optional[str],
        exact: bool,
        skip_cache: bool,
        quiet: Optional[bool],
        progress_callback: Optional[ProgressCallback],
    ) -> str:
        session, ref = self._require_logged()
        target = self._default_root(root)
        with _session.Progress(_session.quiet(quiet), progress_callback) as progress:
            stats = json.loads(
                session.download(ref, target, prefix, skip_cache, progress.active(), exact)
            )
        if exact and not stats["files"]:
            raise errors.NotFoundError(f"{self.qualified_name} has no file {prefix!r}")
        return target

    def verify(self, root: Optional[PathLike] = None) -> None:
        """Checks that ``root`` (default as ``download``) holds every file of this version with
        its recorded bytes; raises :class:`IntegrityError` naming the first that differs, or
        :class:`FileNotFoundError` for a missing one."""
        session, ref = self._require_logged()
        session.verify(ref, self._default_root(root))

    def files(self, prefix: Optional[str] = None) -> list[ArtifactEntry]:
        """The version's files, by path."""
        session, ref = self._require_logged()
        return [
            ArtifactEntry(
                path=f["path"],
                size=int(f["size"]),
                digest=f["sha256_hash"],
                md5=f["md5_hash"],
                content_type=f.get("content_type", ""),
                _artifact=self,
            )
            for f in json.loads(session.files(ref, prefix))
        ]

    def get_entry(self, name: str) -> ArtifactEntry:
        """The file at ``name``; :class:`NotFoundError` (a ``LookupError``) if there is none."""
        path = _entry_path(name)
        for entry in self.files(prefix=path):
            if entry.path == path:
                return entry
        raise errors.NotFoundError(f"{self.qualified_name} has no file {path!r}")

    def save(self) -> None:
        """Writes an edited description, metadata and aliases back to the registry."""
        session, ref = self._require_logged()
        assert self._version is not None and self._project is not None
        version = json.loads(
            session.update_version(
                str(self._version["id"]), self._description, json.dumps(self._metadata)
            )
        )
        wanted = list(dict.fromkeys(self._aliases))
        for alias in wanted:
            if alias not in self._saved_aliases:
                session.set_alias(ref, alias)
        for alias in self._saved_aliases:
            if alias not in wanted and alias != "latest":
                session.remove_alias(f"{self._project}/{self._name}", alias)
        version["aliases"] = json.loads(session.resolve(ref))["version"]["aliases"]
        self._logged(session, self._project, version)

    def delete(self) -> None:
        """Deletes this version from the registry."""
        session, _ = self._require_logged()
        assert self._version is not None
        session.delete_version(str(self._version["id"]))
        self._version = None
        self._session = None

    def wait(self) -> "Artifact":
        """Returns at once: ``log_artifact`` returns only when the version is finalized."""
        return self

    def __del__(self) -> None:
        staging = getattr(self, "_staging", None)
        if staging is not None:
            try:
                _remove_tree(staging)
            except ImportError:  # The interpreter is shutting down.
                pass
