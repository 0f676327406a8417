"""The database's files: private to the server's user, and descriptors of our own on
them, shared by every store of the process.

Tokens are stored hashed, but a database still holds who was issued what, and the master
key sits in the same directory: the directory is 0700 and the files 0600. SQLite gives the
`-wal` and `-shm` the permissions of the database file, so creating that file 0600 before
SQLite does is enough; files of an older installation are tightened when opened.

Closing any descriptor of a file drops every POSIX lock the process holds on that file,
SQLite's included (https://www.sqlite.org/howtocorrupt.html, section 2.2); a mapping made
with Python's mmap holds a duplicate descriptor and closes it too. Another process may then
take the database's `-shm` for abandoned and truncate it under the mappings of our
connections (a SIGBUS). So the descriptors the store opens itself on the database file
(early writeback) and on the `-shm` (the reader's view of the WAL-index header) are shared
per file, and closed with the last store of the process using that file, after that
store's connections.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from pathlib import Path

_LOCK = threading.Lock()
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(database: Path) -> None:
    """Create the database's directory (0700) and file (0600) if missing, and take group
    and other permissions off the database and its companion files that exist."""
    private_directory(database.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            mode = os.stat(f"{database}{suffix}").st_mode
            if mode & 0o077:
                os.chmod(f"{database}{suffix}", mode & 0o700)


def private_directory(path: Path) -> None:
    """Create a data directory readable by its owner only (an existing one is left as the
    operator made it: it may hold other things)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


_OPEN: dict[str, SharedFile] = {}


class SharedFile:
    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.users = 0
        self._map: mmap.mmap | None = None

    def mapping(self, size: int) -> mmap.mmap | None:
        """A read-only mapping of the file's first `size` bytes, once the file is that
        large (made once, kept until the file is closed)."""
        with _LOCK:
            if self._map is None:
                try:
                    if os.fstat(self.fd).st_size < size:
                        return None
                    self._map = mmap.mmap(self.fd, size, access=mmap.ACCESS_READ)
                except (OSError, ValueError):
                    return None
            return self._map

    def release(self) -> None:
        """One user fewer; the last one closes the mapping and the descriptor. Call it
        only once your connections to the database are closed."""
        with _LOCK:
            self.users -= 1
            if self.users > 0:
                return
            del _OPEN[self.path]
            if self._map is not None:
                self._map.close()
                self._map = None
            os.close(self.fd)


def acquire(path: Path | str) -> SharedFile:
    """The process's descriptor on this file (opened read-only if no store holds one).
    Raises OSError when the file cannot be opened."""
    key = os.path.realpath(path)
    with _LOCK:
        shared = _OPEN.get(key)
        if shared is None:
            shared = _OPEN[key] = SharedFile(key, os.open(key, os.O_RDONLY | os.O_CLOEXEC))
        shared.users += 1
        return shared
