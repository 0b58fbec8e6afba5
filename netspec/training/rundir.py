"""Claiming a run directory: made atomically, locked for the run's life, and left empty by a run that saved nothing.

The lock is an `fcntl.flock` on `.netspec.lock` inside the directory, holding the owner's PID.
The kernel drops it when the process ends, however it ends (a SIGKILL included), so a stale
lock file never blocks a later run. Everything a run checks about the directory's contents is
checked while holding the lock, so two processes can never both decide a directory is theirs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from ..diagnostics import Diagnostic, SpecError, cannot_write

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not protected from a second writer
    fcntl = None  # type: ignore[assignment]

LOCK = ".netspec.lock"
RUN_FILES = ("last.pt", "metrics.csv")  # a directory holding either is a run (`--resume` continues it)


class RunLock:
    """An exclusive lock on a run directory, held until `release`."""

    def __init__(self, directory: Path, fd: int, created: bool) -> None:
        self.directory = directory
        self._fd: int | None = fd
        self.created = created  # this process made the lock file (removed again when it refuses the folder)

    @classmethod
    def acquire(cls, directory: Path) -> RunLock:
        """Lock `directory`; `io-error` naming the holder's PID when another process has it."""
        path = directory / LOCK
        created = not path.exists()
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise cannot_write(path, e) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise in_use(directory, _holder(path)) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:
            os.close(fd)
            raise cannot_write(path, e) from None
        return cls(directory, fd, created)

    def release(self, *, remove: bool = False) -> None:
        """Unlock; the file stays (unless `remove`): a process that opened it meanwhile must lock the same file."""
        if self._fd is None:
            return
        if remove:
            (self.directory / LOCK).unlink(missing_ok=True)  # before unlocking: no one else can hold it meanwhile
        os.close(self._fd)
        self._fd = None


def in_use(directory: Path, pid: int | None) -> SpecError:
    holder = f"netspec process {pid}" if pid is not None else "another netspec process"
    return SpecError(
        [
            Diagnostic(
                "io-error",
                f"{directory} is in use by {holder}",
                source=str(directory),
                help="wait for that run to end (or stop it: Ctrl-C saves last.pt), then `--resume` it;"
                " or choose another `--out`",
            )
        ]
    )


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def claim_new(base: Path) -> tuple[Path, RunLock]:
    """A fresh directory `base` (or `base-2`, `base-3`, ...), made by this process alone, and locked."""
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(base, e) from None
    path, n = base, 1
    while True:
        try:
            path.mkdir()  # atomic: of two processes making one name, exactly one succeeds
            break
        except FileExistsError:  # a run started in the same second
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        except OSError as e:
            raise cannot_write(path, e) from None
    return path, RunLock.acquire(path)


def claim_out(out: Path) -> tuple[bool, RunLock]:
    """`--out`: a new or empty directory, locked; whether this process made it. Refuses anything else."""
    created = False
    try:
        out.mkdir(parents=True)
        created = True
    except FileExistsError:
        if not out.is_dir():
            raise _error(out, f"{out} is a file, not a folder", "choose a new or empty folder for `--out`") from None
    except OSError as e:
        raise cannot_write(out, e) from None
    lock = RunLock.acquire(out)
    try:
        others = sorted(p.name for p in out.iterdir() if p.name != LOCK)
    except OSError as e:
        lock.release(remove=lock.created)
        raise cannot_write(out, e) from None
    if others:
        lock.release(remove=lock.created)  # the user's folder is left as it was
        if any(name in RUN_FILES for name in others):
            help = f"continue it with `--resume {out}`, or choose another `--out`"
            raise _error(out, f"{out} already holds a run", help)
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise _error(
            out,
            f"{out} is not empty and holds no netspec run ({shown})",
            "choose a new or empty folder for `--out`: a run never writes among other files",
        )
    return created, lock


def discard(directory: Path, lock: RunLock, *, created: bool) -> None:
    """Remove what a run that saved no checkpoint wrote: the directory if it made it, else its contents."""
    for child in directory.iterdir():
        if child.name == LOCK:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    lock.release(remove=True)
    if created:
        with contextlib.suppress(OSError):  # something appeared meanwhile: leave it
            directory.rmdir()


def default_name() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _error(path: Path, message: str, help: str) -> SpecError:
    return SpecError([Diagnostic("io-error", message, source=str(path), help=help)])
