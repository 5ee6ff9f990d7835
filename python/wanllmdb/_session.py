"""The process's connection to the registry, and progress reporting."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Callable, Optional, Union

from . import _core

#: ``callback(what, done_bytes, total_bytes)``; ``what`` is ``"upload"`` or ``"download"``.
ProgressCallback = Callable[[str, int, int], None]

PathLike = Union[str, "os.PathLike[str]"]

_lock = threading.Lock()
_session: Optional[_core.Session] = None
_quiet: Optional[bool] = None


def session() -> _core.Session:
    """The session ``login`` made, else one from ``WANLLMDB_URL`` / ``WANLLMDB_API_KEY`` or the
    credentials ``wanllmdb login`` saved."""
    global _session
    with _lock:
        if _session is None:
            _session = _core.Session()
        return _session


def login(
    url: Optional[str] = None,
    key: Optional[str] = None,
    *,
    save: bool = True,
    quiet: Optional[bool] = None,
    cache_dir: Optional[PathLike] = None,
    cache_max_bytes: Optional[int] = None,
) -> bool:
    """Connects to the registry at ``url`` with the API ``key`` (each defaulting as the CLI's
    do), checks the key, and with ``save`` keeps both where ``wanllmdb login`` does.

    Returns True; raises :class:`wanllmdb.PermissionError` for a wrong key and
    :class:`wanllmdb.ConnectionError` when the server cannot be reached.
    """
    global _session, _quiet
    made = _core.Session(
        url, key, os.fspath(cache_dir) if cache_dir is not None else None, cache_max_bytes
    )
    made.me()
    if save:
        made.save_credentials()
    with _lock:
        _session = made
        if quiet is not None:
            _quiet = quiet
    return True


def set_quiet(quiet: Optional[bool]) -> None:
    global _quiet
    _quiet = quiet


def quiet(override: Optional[bool] = None) -> bool:
    """Whether progress bars are off: the call's choice, else ``login``'s or ``init``'s, else
    ``WANLLMDB_QUIET``."""
    if override is not None:
        return override
    if _quiet is not None:
        return _quiet
    return os.environ.get("WANLLMDB_QUIET", "").strip().lower() in ("1", "true", "yes", "on")


def _bar_delay() -> float:
    """Seconds a transfer runs before its bar shows: ``WANLLMDB_PROGRESS_DELAY``, default 0.5."""
    try:
        return max(0.0, float(os.environ.get("WANLLMDB_PROGRESS_DELAY", "0.5")))
    except ValueError:
        return 0.5


def _can_draw() -> bool:
    """Whether a bar would be seen: in a notebook (its kernel is loaded), or with stderr a
    terminal. Elsewhere (a log file, a pipe) none is drawn, as tqdm's ``disable=None`` does,
    and tqdm is not even imported (that alone costs 40 to 100 ms)."""
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Turns the core's byte counts into a tqdm bar (``tqdm.auto``: a widget in notebooks)
    and a user's callback. Used as a context manager around one transfer."""

    def __init__(self, quiet: bool, callback: Optional[ProgressCallback] = None) -> None:
        self._quiet = quiet
        self._callback = callback
        self._bar: Any = None
        # No bar for a transfer done within the delay (importing tqdm alone costs 0.15 s).
        self._shown_after = time.monotonic() + _bar_delay()

    def __call__(self, what: str, done: int, total: int) -> None:
        if self._callback is not None:
            self._callback(what, done, total)
        if self._quiet:
            return
        if self._bar is None:
            if total == 0 or time.monotonic() < self._shown_after:
                return
            if not _can_draw():
                self._quiet = True
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=what,
                file=sys.stderr,
                leave=False,
            )
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def active(self) -> Optional["Progress"]:
        """Self when anyone listens; None spares the core the ticks."""
        return None if self._quiet and self._callback is None else self

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
