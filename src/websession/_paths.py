"""Where persistent sessions live, and the per-process lock on a session's folder."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import platformdirs

from ._errors import SessionError

_user_data_path: Path | None = None
LOCK_NAME = "websession.lock"


def set_user_data_path(path: str | os.PathLike[str]) -> None:
    """Set the root under which persistent sessions store their data (sessions made later)."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError("set_user_data_path: path must be a non-empty string or path")
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        raise TypeError(f"set_user_data_path: path must be absolute, not {str(path)!r}")
    global _user_data_path
    _user_data_path = resolved


def get_user_data_path() -> Path:
    """Return the root of persistent session data (set path, ``WEBSESSION_USER_DATA``, or platformdirs)."""
    if _user_data_path is not None:
        return _user_data_path
    env = os.environ.get("WEBSESSION_USER_DATA")
    if env:
        return Path(env).expanduser().absolute()
    return Path(platformdirs.user_data_dir("websession", appauthor=False))


_SAFE = set("abcdefghijklmnopqrstuvwxyz0123456789-_.+,=@!~")


def escape_partition(name: str) -> str:
    """Escape a ``persist:`` partition name into one folder name (Chromium lowercases it first)."""
    lowered = name.lower()
    escaped = "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in lowered)
    if escaped in ("", ".", ".."):
        escaped = "".join(f"%{ord(c):02X}" for c in escaped) or "%00"
    return escaped


class FolderLock:
    """An exclusive lock on a session folder, held for the life of the process."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LOCK_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                try:
                    owner = self.path.read_text().strip() or "unknown"
                except OSError:
                    owner = "unknown"
                raise SessionError(
                    f"The session folder {folder} is in use by another process (pid {owner}); "
                    "a persistent session can be open in one process at a time"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
