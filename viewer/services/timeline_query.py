"""Read one patient's timeline as columnar numpy arrays.

The timeline draws from arrays, never from ORM objects: a million events as
objects cost gigabytes and seconds, as columns a few dozen bytes each.  Text
(title, description) is not part of the columns; it is fetched lazily by id
for the one event the user hovers or opens (:func:`fetch_event`).

Pages are keyset pages over ``(event_date, id)`` within the patient, so a page
never skips or repeats a row however many rows share a timestamp, and each
page is an index range scan on ``idx_timeline_patient_date``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.domain import EventDetail, EventType, Importance
from viewer.services.audit import AuditKey, append
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
    """
    rows = conn.execute(
        _PAGE_SQL,
        {
            "patient_id": patient_id,
            "start": start or _MIN_DATE,
            "end": end or _MAX_DATE,
            "after_date": after.event_date if after else _MIN_DATE,
            "after_id": after.event_id if after else _MIN_UUID,
            "limit": limit,
        },
    ).all()
    if not rows:
        return TimelineColumns.empty(), None
    columns = TimelineColumns(
        ids=np.array([row.id.bytes for row in rows], dtype="S16"),
        time_ms=np.fromiter((row.ms for row in rows), np.int64, len(rows)),
        lane=np.fromiter((row.lane for row in rows), np.int8, len(rows)),
        importance=np.fromiter((row.importance for row in rows), np.int8, len(rows)),
        flags=np.fromiter((FLAG_PRIVATE if row.is_private else 0 for row in rows), np.uint8, len(rows)),
    )
    last = rows[-1]
    cursor = Cursor(last.event_date, last.id) if len(rows) == limit else None
    return columns, cursor


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


# Whose is it? Asked before any clinical text leaves the database.
_FACTS_SQL = sa.text(
    """
    SELECT e.patient_id, e.is_private,
           (caseline_is_owner() OR e.therapist_id IS NOT DISTINCT FROM caseline_me()) AS mine
    FROM timeline_events e
    WHERE e.id = :event_id AND e.deleted_at IS NULL
    """
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

    Another author's private event (which only their supervisor can see) is read
    only with a stated ``purpose``, and that read is written to the audit log in
    the caller's transaction (so the caller must commit it): without a purpose
    the answer is :class:`PurposeRequired`, before any of its text is fetched.
    """
    if with_text:
        facts = conn.execute(_FACTS_SQL, {"event_id": event_id}).first()
        if facts is None:
            raise EventNotFound(event_id)
        if facts.is_private and not facts.mine:
            reason = (purpose or "").strip()
            if not reason:
                raise PurposeRequired(event_id)
            if audit is None:
                raise ValueError("reading another author's private event needs the audit key")
            append(
                conn,
                audit,
                "event.read_private",
                event_id=event_id,
                patient_id=facts.patient_id,
                detail={"purpose": reason[:PURPOSE_MAX]},
            )
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


def search_titles(conn: sa.Connection, patient_id: uuid.UUID, text: str) -> npt.NDArray[np.bytes_]:
    """Ids (16 raw bytes each) of the patient's events whose title contains ``text``, any case."""
    needle = text.strip()
    if not needle:
        return np.empty(0, "S16")
    ids = conn.execute(
        sa.text(
            "SELECT id FROM timeline_events WHERE patient_id = :patient_id AND deleted_at IS NULL "
            "AND title ILIKE :pattern ESCAPE '\\'"
        ),
        {"patient_id": patient_id, "pattern": _like_pattern(needle)},
    ).scalars()
    return np.array([event_id.bytes for event_id in ids], dtype="S16")


def rows_of_ids(columns: TimelineColumns, ids: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
    """Row indices (ascending) of the given ids within the columns."""
    if not len(ids) or not len(columns):
        return np.empty(0, np.int64)
    return np.flatnonzero(np.isin(columns.ids, ids)).astype(np.int64)
