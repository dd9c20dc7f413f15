"""Encrypted drafts: readable with the password only, tamper-evident, private files."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

from viewer.services.drafts import DRAFTS_DIR, DraftStore


def test_a_draft_round_trips_and_is_not_plain_text_on_disk(tmp_path: Path) -> None:
    store = DraftStore.open(tmp_path, "demo_ana", "correct horse")
    draft_id = uuid.uuid4()
    store.save(draft_id, {"title": "Sensitive words about a patient", "n": 1})
    files = list((tmp_path / DRAFTS_DIR / "demo_ana").glob("*.draft"))
    assert [f.name for f in files] == [f"{draft_id}.draft"]
    assert b"Sensitive" not in files[0].read_bytes()
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / DRAFTS_DIR / "demo_ana").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / DRAFTS_DIR).stat().st_mode) == 0o700  # no list of who keeps drafts
    # A new session (after a crash) with the same password opens it again.
    again = DraftStore.open(tmp_path, "demo_ana", "correct horse")
    drafts, unreadable = again.load_all()
    assert unreadable == 0
    assert [(d.id, d.payload) for d in drafts] == [
        (draft_id, {"title": "Sensitive words about a patient", "n": 1})
    ]
    again.discard(draft_id)
    assert again.load_all() == ([], 0)


def test_a_wrong_password_or_a_tampered_file_opens_nothing_and_deletes_nothing(tmp_path: Path) -> None:
    store = DraftStore.open(tmp_path, "demo_ana", "correct horse")
    first, second = uuid.uuid4(), uuid.uuid4()
    store.save(first, {"title": "one"})
    store.save(second, {"title": "two"})
    assert DraftStore.open(tmp_path, "demo_ana", "wrong").load_all() == ([], 2)
    path = tmp_path / DRAFTS_DIR / "demo_ana" / f"{second}.draft"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    drafts, unreadable = store.load_all()
    assert [d.id for d in drafts] == [first] and unreadable == 1
    assert path.exists()  # kept: it may be the only copy of someone's work
