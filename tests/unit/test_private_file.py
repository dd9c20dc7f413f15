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


def test_a_file_claimed_for_a_printer_is_private_even_if_it_was_not(tmp_path: Path) -> None:
    from viewer.private_file import claim_private

    target = tmp_path / "printed.pdf"
    target.write_bytes(b"an older, public print")
    os.chmod(target, 0o644)
    claim_private(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_bytes() == b""
    fresh = tmp_path / "fresh.pdf"
    claim_private(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
