"""``wanllmdb.Api``: read and search the registry outside any run."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from . import _core, _session, errors
from .artifact import Artifact


def _when(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class RunInfo:
    """A run as the registry records it."""

    id: str
    name: str
    project_id: str
    created_at: _dt.datetime
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def job_type(self) -> Optional[str]:
        return self.metadata.get("job_type")

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.metadata.get("config") or {})


@dataclass(frozen=True)
class ArtifactCollection:
    """An artifact with all its versions (what a search finds)."""

    _api: "Api" = field(repr=False, compare=False)
    project: str
    name: str
    type: str
    description: str
    metadata: dict[str, Any]
    version_count: int
    latest_version: Optional[str]
    created_at: _dt.datetime
    updated_at: _dt.datetime

    def versions(self, **search: Any) -> list[Artifact]:
        """Its versions; keyword arguments as ``Api.artifact_versions``."""
        return self._api.artifact_versions(f"{self.project}/{self.name}", **search)

    def latest(self) -> Artifact:
        return self._api.artifact(f"{self.project}/{self.name}:latest")


class Api:
    """Read access to the registry: ``Api().artifact("project/name:alias")``.

    ``url`` and ``api_key`` default as ``wanllmdb.login``'s do; ``overrides={"project": p}``
    sets the project that references without one are in.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        overrides: Optional[dict[str, str]] = None,
    ) -> None:
        if url is None and api_key is None:
            self._session = _session.session()
        else:
            self._session = _core.Session(url, api_key)
        self._project = (overrides or {}).get("project")

    def _split(self, reference: str) -> tuple[str, str]:
        if "/" in reference:
            project, rest = reference.split("/", 1)
            return project, rest
        if self._project is None:
            raise errors.InvalidError(
                f"{reference!r}: give project/name, or Api(overrides={{'project': ...}})"
            )
        return self._project, reference

    def artifact(self, name: str, type: Optional[str] = None) -> Artifact:
        """The version ``project/name:vN`` or ``project/name:alias`` names (``:latest`` when
        no version is given)."""
        project, rest = self._split(name)
        if ":" not in rest:
            rest = f"{rest}:latest"
        resolved = json.loads(self._session.resolve(f"{project}/{rest}"))
        if type is not None and resolved["artifact"]["type"] != type:
            raise errors.InvalidError(
                f"{name} is a {resolved['artifact']['type']}, not a {type}"
            )
        return Artifact._from_server(
            self._session, project, resolved["artifact"], resolved["version"]
        )

    def artifacts(
        self,
        project: Optional[str] = None,
        type: Union[str, list[str], None] = None,
        filter: Optional[str] = None,
        sort: Optional[str] = None,
        *,
        query: Optional[str] = None,
        alias: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> list[ArtifactCollection]:
        """A project's artifacts matching every condition given: ``type`` (one or a list),
        ``filter`` on metadata (``'metadata.accuracy >= 0.9 and metadata.tags contains
        "prod"'``), ``query`` (a substring of name or description), ``alias`` (some version
        carries it); ``sort`` by ``name``, ``created_at``, ``updated_at``, ``version_count`` or
        ``metadata.<key>``, ``-`` first to descend."""
        project = project or self._project
        if project is None:
            raise errors.InvalidError("give a project")
        types = [type] if isinstance(type, str) else list(type or [])
        found = json.loads(
            self._session.search_artifacts(project, types, query, alias, filter, sort, limit)
        )
        return [
            ArtifactCollection(
                _api=self,
                project=project,
                name=a["name"],
                type=a["type"],
                description=a["description"],
                metadata=a["metadata"],
                version_count=int(a["version_count"]),
                latest_version=a.get("latest_version"),
                created_at=_when(a["created_at"]),
                updated_at=_when(a["updated_at"]),
            )
            for a in found
        ]

    def artifact_versions(
        self,
        name: str,
        filter: Optional[str] = None,
        sort: Optional[str] = None,
        *,
        alias: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> list[Artifact]:
        """The versions of the artifact ``project/name`` matching ``filter`` (on version
        metadata) and ``alias``; ``sort`` by ``index``, ``created_at``, ``total_size`` or
        ``metadata.<key>``."""
        project, artifact = self._split(name)
        artifact = artifact.split(":", 1)[0]
        info = json.loads(self._session.artifact(f"{project}/{artifact}"))
        versions = json.loads(
            self._session.search_versions(project, artifact, alias, filter, sort, limit)
        )
        return [Artifact._from_server(self._session, project, info, v) for v in versions]

    def runs(self, project: Optional[str] = None) -> list[RunInfo]:
        """A project's runs."""
        project = project or self._project
        if project is None:
            raise errors.InvalidError("give a project")
        return [
            RunInfo(
                id=r["id"],
                name=r["name"],
                project_id=r["project_id"],
                created_at=_when(r["created_at"]),
                metadata=dict(r.get("metadata") or {}),
            )
            for r in json.loads(self._session.runs(project))
        ]

    def lineage(self, name: str, depth: int = 1) -> dict[str, Any]:
        """The run that produced the version, what that run used, and the runs that used the
        version, ``depth`` steps out (the REST API's lineage document)."""
        project, rest = self._split(name)
        result: dict[str, Any] = json.loads(self._session.lineage(f"{project}/{rest}", depth))
        return result
