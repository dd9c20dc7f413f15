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
