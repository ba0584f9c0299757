"""Writing files so that nothing is ever half-written: the one atomic-write helper of the package.

Every file the tool makes (colorized photos, models and their cards, run logs and plots) is written to a
temporary file in the target folder and renamed over the target, so a crash, a kill or a full disk leaves
either the previous file or the complete new one, never a truncated one. No heavy imports here."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator

from colorize_cli.errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


NEW_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (read once, at import)

# errors that are about the output folder itself, not one file: every later write there would fail too
OUTPUT_ERRNOS = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space (quota)",
                 errno.EROFS: "choose a writable -o folder", errno.EACCES: "choose a writable -o folder or fix its permissions",
                 errno.EPERM: "choose a writable -o folder or fix its permissions"}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path beside `path` (hidden, named after it, ending in `suffix`); when the block
    ends without an exception it is renamed over `path`, otherwise removed. For writers that need a file
    name (Keras' `model.save` wants `.keras`, matplotlib a known image suffix).

    A folder-level OSError (full disk, read-only, forbidden) becomes an OutputError naming the folder and
    the fix."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # tempfile.mkstemp / os.fdopen looked up at call time: tests simulate full or read-only disks through them
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
        os.fchmod(fd, NEW_FILE_MODE)  # mkstemp makes it private (0600); outputs are ordinary files
        os.close(fd)
        yield Path(tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        if exc.errno in OUTPUT_ERRNOS:
            raise OutputError(f"{path.parent}: cannot write there ({os.strerror(exc.errno)}); {OUTPUT_ERRNOS[exc.errno]}, "
                              "then rerun the same command: finished files are kept and nothing partial was left") from None
        raise
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, payload: bytes) -> None:
    """Write `payload` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as f:
            f.write(payload)
