from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from viewer.private_file import private_file


def test_the_file_is_the_owners_only_even_over_a_stale_wide_partial(tmp_path: Path) -> None:
    target = tmp_path / "view.png"
    stale = tmp_path / ".view.png.partial"
    stale.write_bytes(b"old")
    os.chmod(stale, 0o644)
    target.write_bytes(b"before")
    os.chmod(target, 0o644)
    with private_file(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not stale.exists()


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    target.write_bytes(b"kept")
    with pytest.raises(RuntimeError), private_file(target) as handle:
        handle.write(b"half")
        raise RuntimeError("disk full, say")
    assert target.read_bytes() == b"kept" and list(tmp_path.iterdir()) == [target]
