"""Read one patient's timeline as columnar numpy arrays.

The timeline draws from arrays, never from ORM objects: a million events as
objects cost gigabytes and seconds, as columns a few dozen bytes each.  Text
(title, description) is not part of the columns; it is fetched lazily by id
for the one event the user hovers or opens (:func:`fetch_event`).

Pages are keyset pages over ``(event_date, id)`` within the patient, so a page
never skips or repeats a row however many rows share a timestamp, and each
page is an index range scan on ``idx_timeline_patient_date``.

A supervisor's row-level security no longer returns a supervisee's private
rows; their markers (no text) come from ``caseline_private_markers`` and are
merged in, and their text only from ``caseline_read_private`` after the read's
audit row is committed (migration ``m3n4o5p6q7r8``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.accents import fold_accents
from viewer.domain import EventDetail, EventType, Importance
from viewer.services.audit import AuditKey, append, holds_append_lock
from viewer.services.errors import EventNotFound, NotPermitted, PurposeRequired

FLAG_PRIVATE = 1
DEFAULT_PAGE_SIZE = 50_000
PURPOSE_MAX = 500  # characters of a stated purpose kept in the audit log

_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)

# Lane and importance are computed in SQL so the driver hands us small ints.
_LANE_SQL = "CASE event_type " + " ".join(f"WHEN '{t.value}' THEN {t.lane}" for t in EventType) + " END"
_IMPORTANCE_SQL = (
    "CASE importance " + " ".join(f"WHEN '{i.db_value}' THEN {int(i)}" for i in Importance) + " END"
)
_MS_SQL = "floor(EXTRACT(EPOCH FROM event_date) * 1000)::bigint"  # floor, like to_epoch_ms

_PAGE_SQL = sa.text(
    f"""
    SELECT id, event_date, {_MS_SQL} AS ms, {_LANE_SQL} AS lane, {_IMPORTANCE_SQL} AS importance,
           is_private
    FROM timeline_events
    WHERE patient_id = :patient_id AND deleted_at IS NULL
      AND event_date >= :start AND event_date < :end
      AND (event_date, id) > (:after_date, :after_id)
    ORDER BY event_date, id
    LIMIT :limit
    """
)

# The same page of the supervisees' private events on this patient (markers only: no text).
_MARKER_PAGE_SQL = sa.text(
    f"""
    SELECT id, event_date, {_MS_SQL} AS ms, {_LANE_SQL} AS lane, {_IMPORTANCE_SQL} AS importance,
           is_private
    FROM caseline_private_markers(:patient_id)
    WHERE event_date >= :start AND event_date < :end
      AND (event_date, id) > (:after_date, :after_id)
    ORDER BY event_date, id
    LIMIT :limit
    """
)

_MIN_DATE = datetime(1, 1, 1)
_MAX_DATE = datetime(9999, 12, 31)
_MIN_UUID = uuid.UUID(int=0)


def uuid_from_s16(value: bytes | np.bytes_) -> uuid.UUID:
    """The UUID stored in one element of an ``S16`` array.

    numpy strips trailing NUL bytes when it hands out an ``S16`` element (the
    stored 16 bytes, equality and ``isin`` stay exact), so a UUID ending in
    ``00`` comes back short and must be padded again.
    """
    return uuid.UUID(bytes=bytes(value).ljust(16, b"\0"))


@dataclass(frozen=True)
class Cursor:
    """Where the next keyset page starts: after this (event_date, id)."""

    event_date: datetime
    event_id: uuid.UUID


@dataclass(frozen=True)
class TimelineColumns:
    """One patient's events as parallel arrays, sorted by time.

    ``ids`` holds the 16 raw bytes of each UUID (``np.dtype('S16')``);
    :meth:`event_id` turns one back into a :class:`uuid.UUID`.
    """

    ids: npt.NDArray[np.bytes_]
    time_ms: npt.NDArray[np.int64]
    lane: npt.NDArray[np.int8]
    importance: npt.NDArray[np.int8]
    flags: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])

    def event_id(self, row: int) -> uuid.UUID:
        return uuid_from_s16(self.ids[row])

    @property
    def is_private(self) -> npt.NDArray[np.bool_]:
        return np.asarray((self.flags & FLAG_PRIVATE) != 0, dtype=np.bool_)

    @classmethod
    def empty(cls) -> TimelineColumns:
        return cls(
            np.empty(0, "S16"),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
            np.empty(0, np.int8),
            np.empty(0, np.uint8),
        )

    @classmethod
    def concatenate(cls, parts: list[TimelineColumns]) -> TimelineColumns:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.ids for p in parts]),
            np.concatenate([p.time_ms for p in parts]),
            np.concatenate([p.lane for p in parts]),
            np.concatenate([p.importance for p in parts]),
            np.concatenate([p.flags for p in parts]),
        )

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.ids, self.time_ms, self.lane, self.importance, self.flags))


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a naive-UTC stored timestamp."""
    return (moment - _EPOCH) // _MS


def from_epoch_ms(time_ms: int) -> datetime:
    """The naive-UTC stored timestamp of a ``time_ms`` column value."""
    return _EPOCH + timedelta(milliseconds=time_ms)


def fetch_page(
    conn: sa.Connection,
    patient_id: uuid.UUID,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    after: Cursor | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> tuple[TimelineColumns, Cursor | None]:
    """One keyset page of a patient's events in ``[start, end)`` (naive UTC).

    Returns the columns and the cursor of the next page, or ``None`` at the end.
    A supervisor's page includes the supervisees' private markers (each source's
    page is cut at ``limit`` and the merge again, so the keyset stays exact).
    """
    params = {
        "patient_id": patient_id,
        "start": start or _MIN_DATE,
        "end": end or _MAX_DATE,
        "after_date": after.event_date if after else _MIN_DATE,
        "after_id": after.event_id if after else _MIN_UUID,
        "limit": limit,
    }
    rows = conn.execute(_PAGE_SQL, params).all()
    markers = conn.execute(_MARKER_PAGE_SQL, params).all()
    if markers:
        rows = sorted([*rows, *markers], key=lambda row: (row.event_date, row.id))[:limit]
    if not rows:
        return TimelineColumns.empty(), None
    last = rows[-1]
    cursor = Cursor(last.event_date, last.id) if len(rows) == limit else None
    return _columns(rows), cursor


def _columns(rows: Sequence[sa.Row[Any]]) -> TimelineColumns:
    return TimelineColumns(
        ids=np.array([row.id.bytes for row in rows], dtype="S16"),
        time_ms=np.fromiter((row.ms for row in rows), np.int64, len(rows)),
        lane=np.fromiter((row.lane for row in rows), np.int8, len(rows)),
        importance=np.fromiter((row.importance for row in rows), np.int8, len(rows)),
        flags=np.fromiter((FLAG_PRIVATE if row.is_private else 0 for row in rows), np.uint8, len(rows)),
    )


def iter_pages(
    conn: sa.Connection,
    patient_id: uuid.UUID,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Iterator[TimelineColumns]:
    """Yield every page in time order; the caller may stop early (cancellation)."""
    cursor: Cursor | None = None
    while True:
        page, cursor = fetch_page(conn, patient_id, start=start, end=end, after=cursor, limit=page_size)
        if len(page):
            yield page
        if cursor is None:
            return


def fetch_private_markers(conn: sa.Connection, patient_id: uuid.UUID) -> TimelineColumns:
    """The supervisees' private events on this patient, as columns (empty for anyone else)."""
    parts: list[TimelineColumns] = []
    cursor: Cursor | None = None
    while True:
        rows = conn.execute(
            _MARKER_PAGE_SQL,
            {
                "patient_id": patient_id,
                "start": _MIN_DATE,
                "end": _MAX_DATE,
                "after_date": cursor.event_date if cursor else _MIN_DATE,
                "after_id": cursor.event_id if cursor else _MIN_UUID,
                "limit": DEFAULT_PAGE_SIZE,
            },
        ).all()
        if rows:
            parts.append(_columns(rows))
        if len(rows) < DEFAULT_PAGE_SIZE:
            return TimelineColumns.concatenate(parts)
        cursor = Cursor(rows[-1].event_date, rows[-1].id)


def fetch_timeline(
    conn: sa.Connection,
    patient_id: uuid.UUID,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> TimelineColumns:
    """All of a patient's events in ``[start, end)`` as one set of columns."""
    return TimelineColumns.concatenate(
        list(iter_pages(conn, patient_id, start=start, end=end, page_size=page_size))
    )


_DETAIL_SQL = sa.text(
    """
    SELECT e.*, u.display_name AS therapist_name
    FROM timeline_events e LEFT JOIN users u ON u.id = e.therapist_id
    WHERE e.id = :event_id AND e.deleted_at IS NULL
    """
)
# Metadata only (what an admin may read): no title, description or metadata.
_DETAIL_NO_TEXT_SQL = sa.text(
    """
    SELECT e.id, e.patient_id, e.therapist_id, e.event_type, e.event_subtype, e.event_date,
           NULL::text AS title, NULL::text AS description, NULL::jsonb AS metadata,
           e.related_entity_type, e.related_entity_id, e.importance, e.is_private, e.created_at,
           e.row_version, u.display_name AS therapist_name
    FROM timeline_events e LEFT JOIN users u ON u.id = e.therapist_id
    WHERE e.id = :event_id AND e.deleted_at IS NULL
    """
)


# Is it there for me at all (my row-level security)?  Columns every role may read.
_VISIBLE_SQL = sa.text(
    "SELECT e.patient_id FROM timeline_events e WHERE e.id = :event_id AND e.deleted_at IS NULL"
)
# A supervisee's private event: what the timeline shows of it, no text.
_MARKER_DETAIL_SQL = sa.text(
    """
    SELECT m.id, m.patient_id, m.therapist_id, m.event_type, NULL::text AS event_subtype, m.event_date,
           NULL::text AS title, NULL::text AS description, NULL::jsonb AS metadata,
           NULL::text AS related_entity_type, NULL::uuid AS related_entity_id, m.importance, m.is_private,
           m.created_at, m.row_version, u.display_name AS therapist_name
    FROM caseline_private_marker(:event_id) m LEFT JOIN users u ON u.id = m.therapist_id
    """
)
# Its text, which the database hands out only against a committed purpose.
_PRIVATE_DETAIL_SQL = sa.text(
    """
    SELECT e.*, u.display_name AS therapist_name
    FROM caseline_read_private(:event_id) e LEFT JOIN users u ON u.id = e.therapist_id
    """
)


def record_private_read(
    conn: sa.Connection, audit: AuditKey, event_id: uuid.UUID, patient_id: uuid.UUID, purpose: str
) -> None:
    """Append and commit the read's audit row, on a connection of its own, before any text is read.

    The database gives out another author's private text only against a
    committed ``event.read_private`` row from another transaction: a row in the
    reading transaction would vanish with a rollback after the text was read.
    """
    if holds_append_lock(conn):  # the side connection would wait for this one forever
        raise RuntimeError("read private events before appending audit rows in the same transaction")
    with conn.engine.connect() as side, side.begin():
        append(
            side,
            audit,
            "event.read_private",
            event_id=event_id,
            patient_id=patient_id,
            detail={"purpose": purpose[:PURPOSE_MAX]},
        )


def fetch_event(
    conn: sa.Connection,
    event_id: uuid.UUID,
    *,
    with_text: bool = True,
    purpose: str | None = None,
    audit: AuditKey | None = None,
) -> EventDetail:
    """One event, for its tooltip or detail pane; ``with_text=False`` leaves out the clinical text.

    An event the signed-in user may not see raises :class:`EventNotFound`, exactly as
    a missing one does; a user without the right to the text (an admin) gets
    :class:`NotPermitted` when asking for it.

    Another author's private event (which only their supervisor can see, as a
    marker) is read only with a stated ``purpose``: without one the answer is
    :class:`PurposeRequired`, before any of its text is fetched; with one, the
    read's audit row is committed first on a connection of its own (see
    :func:`record_private_read`), so it stays even if the caller rolls back.
    """
    visible = conn.execute(_VISIBLE_SQL, {"event_id": event_id}).first()
    if visible is None:
        marker = conn.execute(_MARKER_DETAIL_SQL, {"event_id": event_id}).mappings().first()
        if marker is None:
            raise EventNotFound(event_id)
        if not with_text:
            return _detail(marker)
        reason = (purpose or "").strip()
        if not reason:
            raise PurposeRequired(event_id)
        if audit is None:
            raise ValueError("reading another author's private event needs the audit key")
        record_private_read(conn, audit, event_id, marker["patient_id"], reason)
        row = conn.execute(_PRIVATE_DETAIL_SQL, {"event_id": event_id}).mappings().first()
        if row is None:
            raise EventNotFound(event_id)
        return _detail(row)
    try:
        with conn.begin_nested():
            row = (
                conn.execute(_DETAIL_SQL if with_text else _DETAIL_NO_TEXT_SQL, {"event_id": event_id})
                .mappings()
                .first()
            )
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, pg_errors.InsufficientPrivilege):
            raise NotPermitted("read the text of", event_id) from None
        raise
    if row is None:
        raise EventNotFound(event_id)
    return _detail(row)


def _detail(row: sa.RowMapping) -> EventDetail:
    return EventDetail(
        id=row["id"],
        patient_id=row["patient_id"],
        therapist_id=row["therapist_id"],
        therapist_name=row["therapist_name"],
        event_type=EventType(row["event_type"]),
        event_subtype=row["event_subtype"],
        event_date=row["event_date"],
        title=row["title"] or "",
        description=row["description"],
        metadata=row["metadata"],
        related_entity_type=row["related_entity_type"],
        related_entity_id=row["related_entity_id"],
        importance=Importance.from_db(row["importance"]),
        is_private=row["is_private"],
        created_at=row["created_at"],
        row_version=row["row_version"],
    )


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (user text is never a pattern)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_FOLDED_TITLE = r"regexp_replace(normalize(title, NFD), '[\u0300-\u036f]', '', 'g')"  # as fold_accents


def search_titles(conn: sa.Connection, patient_id: uuid.UUID, text: str) -> npt.NDArray[np.bytes_]:
    """Ids (16 raw bytes each) of the patient's events whose title contains ``text``, any case or accent."""
    needle = fold_accents(text.strip())
    if not needle or "\0" in needle:  # no title holds a NUL (PostgreSQL text cannot), so none matches
        return np.empty(0, "S16")
    # One value of 16 bytes per match, not a Python UUID per row: "c" matches a million events,
    # and building their UUIDs took a second.
    packed = conn.execute(
        sa.text(
            "SELECT string_agg(uuid_send(id), ''::bytea) FROM timeline_events "
            "WHERE patient_id = :patient_id AND deleted_at IS NULL AND (title ILIKE :pattern ESCAPE '\\'"
            # Only a title with a character past ASCII (more bytes than characters) can fold
            # differently.  Folding every title took three times as long as the plain match on a
            # 500,000-event patient; asked only of those, the search takes as long as before.
            f" OR (octet_length(title) <> char_length(title) AND {_FOLDED_TITLE} ILIKE :pattern ESCAPE '\\'))"
        ),
        {"patient_id": patient_id, "pattern": _like_pattern(needle)},
    ).scalar_one()
    return np.frombuffer(packed, dtype="S16").copy() if packed else np.empty(0, "S16")


def rows_of_ids(columns: TimelineColumns, ids: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
    """Row indices (ascending) of the given ids within the columns."""
    if not len(ids) or not len(columns):
        return np.empty(0, np.int64)
    # Each id as two big-endian halves: a binary search on the first, then both compared, where
    # np.isin over 16-byte strings sorted them byte by byte (0.7 s for a million matches).
    have = columns.ids.view(">u8").reshape(-1, 2).astype(np.uint64)
    want = np.ascontiguousarray(ids, dtype="S16").view(">u8").reshape(-1, 2).astype(np.uint64)
    want = want[np.lexsort((want[:, 1], want[:, 0]))]
    if len(want) > 1 and bool(np.any(want[1:, 0] == want[:-1, 0])):
        return np.flatnonzero(np.isin(columns.ids, ids)).astype(np.int64)  # two share a first half
    at = np.minimum(np.searchsorted(want[:, 0], have[:, 0]), len(want) - 1)
    return np.flatnonzero((want[at, 0] == have[:, 0]) & (want[at, 1] == have[:, 1])).astype(np.int64)
