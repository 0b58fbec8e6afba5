"""Writing output files atomically: a temp file of this process's own in the same folder, then a rename.

A reader (or a second process) sees either the old file or the whole new one, never a truncated
one; a full disk or a read-only folder is an `io-error` that leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .diagnostics import cannot_write


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, make_folder: bool = True) -> Iterator[Path]:
    """A temp path beside `target` to write; renamed onto `target` when the block ends without an error."""
    path = Path(target)
    try:
        if make_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # unique per process
        os.close(fd)
    except OSError as e:
        raise cannot_write(path, e) from None
    tmp = Path(name)
    try:
        yield tmp
        _keep_mode(tmp)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise cannot_write(path, e) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(target: str | os.PathLike[str], data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to `target` atomically; SpecError `io-error` when it cannot be written."""
    write_with(target, lambda f: f.write(data.encode("utf-8") if isinstance(data, str) else data))


def write_with(target: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Call `write` on a binary file that becomes `target` atomically once it returns (flushed to disk first)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _keep_mode(tmp: Path) -> None:
    """mkstemp makes 0600 files; an output gets the mode a plain open() would give it (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
