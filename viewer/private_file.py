"""Files holding patient data: readable by their owner only, and whole or not there at all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle that becomes ``path`` (mode 0600) when the block ends; on any error, nothing.

    Exports and bundles carry a patient's name and history: written with the
    default umask they were readable by every account on the machine, and a
    failed write left the data in a hidden ``.partial`` beside the target.
    The partial is made afresh, so a stale one's wider mode is not inherited.
    """
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def claim_private(path: Path) -> None:
    """Make ``path`` an empty file only its owner may read, for a writer that opens it itself.

    A print to a PDF file is written by Qt's printer, with the default umask
    (0644): made first, and made private, the file keeps its mode when Qt
    truncates and fills it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    finally:
        os.close(fd)
