"""Exceptions of the wanllmdb package.

Every exception the package raises for a registry, network or file problem is a
:class:`wanllmdb.Error`, and also subclasses the Python built-in a caller would catch
(``LookupError``, ``PermissionError``, ``ValueError``, ``ConnectionError``, ``OSError`` ...).
Errors the server answered keep its problem document in ``problem``.
"""

from __future__ import annotations

import builtins
from typing import Any, Optional


class Error(Exception):
    """The root of the package's exceptions."""

    #: The HTTP status of the server's answer, when there was one.
    status: Optional[int] = None
    #: The server's error code (``not_found``, ``conflict``, ...), when there was one.
    code: Optional[str] = None
    #: The server's problem document (``status``, ``code``, ``detail``), when there was one.
    problem: Optional[dict[str, Any]] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(Error):
    """The server refused a request for a reason no narrower class names."""


class NotFoundError(ApiError, LookupError):
    """No such project, artifact, version, alias or file (HTTP 404)."""


class PermissionError(ApiError, builtins.PermissionError):
    """The API key is missing, wrong, or lacks the role for this (HTTP 401 or 403)."""


class ConflictError(ApiError):
    """The request contradicts the registry's state, e.g. a name taken (HTTP 409)."""


class InvalidError(Error, ValueError):
    """A malformed name, reference, path, filter or argument."""


class IntegrityError(Error, ValueError):
    """Bytes that do not hash to what the registry recorded; ``path`` names the file."""

    path: Optional[str] = None


class ConnectionError(Error, builtins.ConnectionError):
    """The server or the object store could not be reached."""


class TimeoutError(ConnectionError, builtins.TimeoutError):
    """The server or the object store stopped answering."""


class StoreError(ConnectionError):
    """The object store refused a transfer after retries; ``status`` is its answer."""


class ConfigError(Error):
    """No server configured: call ``wanllmdb.login(url, key)`` or set ``WANLLMDB_URL``."""


class UsageError(Error, RuntimeError):
    """The package was used out of order, e.g. ``log_artifact`` before ``init``."""


class LocalIOError(Error, OSError):
    """A local file or folder could not be read or written; ``filename`` names it."""



class FileNotFoundError(LocalIOError, builtins.FileNotFoundError):
    """A local file or folder that does not exist."""


class FilePermissionError(LocalIOError, builtins.PermissionError):
    """A local file or folder this process may not read or write."""


class FileExistsError(LocalIOError, builtins.FileExistsError):
    """A local path that exists where it must not."""


class IsADirectoryError(LocalIOError, builtins.IsADirectoryError):
    """A folder where a file was expected."""


class NotADirectoryError(LocalIOError, builtins.NotADirectoryError):
    """A file where a folder was expected."""


__all__ = [
    "ApiError",
    "ConfigError",
    "ConflictError",
    "ConnectionError",
    "Error",
    "FileExistsError",
    "FileNotFoundError",
    "FilePermissionError",
    "IntegrityError",
    "InvalidError",
    "IsADirectoryError",
    "LocalIOError",
    "NotADirectoryError",
    "NotFoundError",
    "PermissionError",
    "StoreError",
    "TimeoutError",
    "UsageError",
]
