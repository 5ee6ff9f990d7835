"""The native core (Rust). Answers are JSON text of the REST API's types."""

from os import PathLike
from typing import Callable, Optional, Sequence, Union, final

__version__: str
__all__ = ["Session", "__version__", "_panic_in_worker"]

_Path = Union[str, PathLike[str]]
_Progress = Callable[[str, int, int], None]

def _panic_in_worker(message: str) -> None: ...

@final
class Session:
    def __new__(
        cls,
        url: Optional[str] = None,
        key: Optional[str] = None,
        cache_dir: Optional[_Path] = None,
        cache_max_bytes: Optional[int] = None,
    ) -> "Session": ...
    @property
    def url(self) -> str: ...
    def save_credentials(self) -> str: ...
    def me(self) -> str: ...
    def ensure_project(self, name: str) -> str: ...
    def create_run(self, project: str, name: str, metadata: Optional[str] = None) -> str: ...
    def runs(self, project: str) -> str: ...
    def log_artifact(
        self,
        project: str,
        name: str,
        artifact_type: str,
        description: Optional[str],
        metadata: Optional[str],
        files: Sequence[tuple[_Path, str]],
        dirs: Sequence[tuple[_Path, str]],
        aliases: Sequence[str],
        run_id: Optional[str] = None,
        rehash: bool = False,
        progress: Optional[_Progress] = None,
    ) -> str: ...
    def use_artifact(self, reference: str, run_id: Optional[str] = None) -> str: ...
    def download(
        self,
        reference: str,
        root: _Path,
        prefix: Optional[str] = None,
        skip_cache: bool = False,
        progress: Optional[_Progress] = None,
        exact: bool = False,
    ) -> str: ...
    def verify(self, reference: str, root: _Path, prefix: Optional[str] = None) -> int: ...
    def files(self, reference: str, prefix: Optional[str] = None) -> str: ...
    def resolve(self, reference: str) -> str: ...
    def artifact(self, reference: str) -> str: ...
    def search_artifacts(
        self,
        project: str,
        types: Sequence[str] = ...,
        q: Optional[str] = None,
        alias: Optional[str] = None,
        filter: Optional[str] = None,
        sort: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> str: ...
    def search_versions(
        self,
        project: str,
        artifact: str,
        alias: Optional[str] = None,
        filter: Optional[str] = None,
        sort: Optional[str] = None,
        limit: Optional[int] = None,
    ) -> str: ...
    def set_alias(self, reference: str, alias: str) -> str: ...
    def remove_alias(self, artifact: str, alias: str) -> None: ...
    def update_version(
        self,
        version_id: str,
        description: Optional[str] = None,
        metadata: Optional[str] = None,
    ) -> str: ...
    def delete_version(self, version_id: str) -> None: ...
    def delete_artifact(self, artifact: str) -> None: ...
    def lineage(self, reference: str, depth: int = 1) -> str: ...
