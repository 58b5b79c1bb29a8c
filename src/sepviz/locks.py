"""One writer per output: a lock file that names the process holding it.

``sepviz train --out RUN`` holds ``RUN/.sepviz.lock`` while it runs, ``sepviz swap --out
fig.png`` holds ``.fig.png.sepviz.lock`` beside the figure. A second run that wants the same
output is refused at once with the lock's path and the running process's id, instead of both
writing and one silently losing the other's files.

On POSIX the lock is an ``flock`` on that file: the kernel drops it when its process ends,
however it ends, so a lock left by a killed run (a *stale* lock, its process gone) is taken
over by the next run, with a note naming the dead process. The file holds the holder's pid,
host, start time and command, for the message. Elsewhere (no ``fcntl``) the file is created
exclusively and a lock whose pid no longer runs is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOCK_NAME = ".sepviz.lock"
"""The lock of an output folder: ``FOLDER/.sepviz.lock``."""
LOCK_SUFFIX = ".sepviz.lock"
"""The lock of an output file ``fig.png``: ``.fig.png.sepviz.lock`` beside it."""


class OutputBusy(Exception):
    """Another process holds the lock of this output; the message names the lock and its pid."""


def lock_path(out: Path, folder: bool) -> Path:
    """The lock file of the output folder or file ``out``."""
    return out / LOCK_NAME if folder else out.with_name(f".{out.name}{LOCK_SUFFIX}")


def _holder_text(what: str) -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:500],
            "output": what,
        }
    )


def _read_holder(text: str) -> dict[str, Any]:
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return "another process (just starting: its id is not written yet)"
    text = f"process {pid}"
    if holder.get("host") and holder["host"] != socket.gethostname():
        text += f" on {holder['host']}"
    if holder.get("started"):
        text += f", started {holder['started']}"
    return text


def pid_running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (one of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # not POSIX-like: assume it runs, a lock is never taken from a live run
        return True
    return True


@contextlib.contextmanager
def hold(lock: Path, what: str, note: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold ``lock`` (a file, created in an existing folder) for the output ``what`` while the
    ``with`` block runs; the file is removed afterwards.

    Args:
        lock: the lock file (:func:`lock_path`).
        what: the output, for the messages (e.g. ``"--out run"``).
        note: called with one sentence when a stale lock (its process gone) is taken over.

    Raises:
        OutputBusy: another process holds it (the message names the lock and that process).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        with _hold_exclusive(lock, what, note):
            yield lock
        return
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(_read_fd(fd))
            os.close(fd)
            raise OutputBusy(
                f"{what} is being written by {_describe(holder)} (it holds the lock {lock}); "
                "wait for it to finish, or choose another output"
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed it as we opened it: take the new one
    try:
        previous = _read_holder(_read_fd(fd))
        if previous and note is not None:
            note(
                f"took over the stale lock {lock} of {_describe(previous)}: that process "
                "ended without releasing it"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_text(what).encode(), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still locked: a waiting opener sees another inode
        os.close(fd)


def _read_fd(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode("utf-8", errors="replace")


@contextlib.contextmanager
def _hold_exclusive(
    lock: Path, what: str, note: Callable[[str], None] | None
) -> Iterator[None]:  # pragma: no cover (used where fcntl is missing)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            holder = _read_holder(lock.read_text(errors="replace"))
            pid = holder.get("pid")
            if not isinstance(pid, int) or pid_running(pid):
                raise OutputBusy(
                    f"{what} is being written by {_describe(holder)} (it holds the lock "
                    f"{lock}); wait for it to finish, or choose another output"
                ) from None
            if note is not None:
                note(f"took over the stale lock {lock} of {_describe(holder)}: it no longer runs")
            lock.unlink(missing_ok=True)
    else:
        raise OutputBusy(f"{what}: could not take the lock {lock}; try again")
    try:
        os.write(fd, _holder_text(what).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)
