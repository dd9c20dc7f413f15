"""Load a whole patient timeline through binary COPY, straight into numpy.

Keyset pages (:mod:`viewer.services.timeline_query`) build Python objects per
row; for a patient with a million events that is seconds.  Binary ``COPY ...
TO STDOUT`` sends fixed-width tuples (every column here is NOT NULL and fixed
size), so the whole result is one numpy structured array view over the bytes:
no per-row Python at all.  Row-level security applies to the inner SELECT
exactly as it does to any query.  A supervisor's view adds the supervisees'
private markers, which row-level security no longer returns (they come from
``caseline_private_markers``, few, and are inserted in time order).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import psycopg
import sqlalchemy as sa

from viewer.services.timeline_query import (
    _IMPORTANCE_SQL,
    _LANE_SQL,
    FLAG_PRIVATE,
    TimelineColumns,
)

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER_FIXED = len(_SIGNATURE) + 4 + 4  # signature, flags, header-extension length
# psycopg hands over a COPY one row at a time: reporting each one made the app's load of a million
# events take 11-16 s (a cross-thread signal per row) where the transfer takes 0.7 s.  Every 256 KiB
# (about 7,000 events) a million-event load reports some 140 times and still stops within milliseconds.
PROGRESS_EVERY_BYTES = 1 << 18
_FIELDS = 3
# One tuple: field count, then (length, value) per field: the uuid, the timestamp
# (int64 microseconds since 2000-01-01), and lane, importance and privacy packed in one int2.
_TUPLE = np.dtype(
    [
        ("fields", ">i2"),
        ("id_len", ">i4"),
        ("id", "S16"),
        ("date_len", ">i4"),
        ("date_us", ">i8"),
        ("code_len", ">i4"),
        ("code", ">i2"),
    ]
)
_EXPECTED_LENGTHS = {"id_len": 16, "date_len": 8, "code_len": 2}
_PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 in Unix milliseconds

# Sent in index order (a backward scan of idx_timeline_patient_date); ties in
# time are put in id order here, as the keyset pages order them.
#
# The planner keeps no statistics on patient_id (migration o5p6q7r8s9t0: estimates
# would reveal hidden rows), so it guesses a few thousand rows per patient and picks
# a bitmap scan plus a sort, which spills to disk for a big history (1.05 s instead
# of 0.66 s at 1M events).  We know better: the index already gives the order.
# ``SET LOCAL`` lasts only for the loading transaction.
PLAN_SETTINGS = "SET LOCAL enable_bitmapscan = off"
_COPY_SQL = f"""
COPY (
    SELECT id, event_date, (({_LANE_SQL}) * 8 + ({_IMPORTANCE_SQL}) * 2 + is_private::int)::int2
    FROM timeline_events
    WHERE patient_id = %s AND deleted_at IS NULL
    ORDER BY event_date
) TO STDOUT (FORMAT BINARY)
"""


_MARKER_COPY_SQL = f"""
COPY (
    SELECT id, event_date, (({_LANE_SQL}) * 8 + ({_IMPORTANCE_SQL}) * 2 + is_private::int)::int2
    FROM caseline_private_markers(%s)
    ORDER BY event_date
) TO STDOUT (FORMAT BINARY)
"""


class CopyFormatError(RuntimeError):
    """The server sent COPY data in a shape this reader does not expect (a bug, not user input)."""


def parse_binary_copy(data: bytes | bytearray | memoryview) -> TimelineColumns:
    """Columns from the bytes of the binary COPY above."""
    view = memoryview(data)
    if len(view) < _HEADER_FIXED + 2 or bytes(view[: len(_SIGNATURE)]) != _SIGNATURE:
        raise CopyFormatError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(view[_HEADER_FIXED - 4 : _HEADER_FIXED], "big")
    body = view[_HEADER_FIXED + extension : len(view) - 2]
    if bytes(view[len(view) - 2 :]) != b"\xff\xff" or len(body) % _TUPLE.itemsize:
        raise CopyFormatError("binary COPY stream has a bad trailer or a partial tuple")
    tuples = np.frombuffer(body, dtype=_TUPLE)
    if len(tuples) and not (tuples["fields"] == _FIELDS).all():
        raise CopyFormatError("binary COPY tuple with an unexpected field count")
    for field, size in _EXPECTED_LENGTHS.items():
        if len(tuples) and not (tuples[field] == size).all():
            raise CopyFormatError(f"binary COPY field {field.removesuffix('_len')} is NULL or resized")
    code = tuples["code"].astype(np.int16)
    columns = TimelineColumns(
        ids=tuples["id"].copy(),
        time_ms=tuples["date_us"].astype(np.int64) // 1000 + _PG_EPOCH_MS,  # floor, as to_epoch_ms does
        lane=(code >> 3).astype(np.int8),
        importance=((code >> 1) & 3).astype(np.int8),
        flags=np.where(code & 1, FLAG_PRIVATE, 0).astype(np.uint8),
    )
    return order_ties_by_id(columns)


def order_ties_by_id(columns: TimelineColumns) -> TimelineColumns:
    """Put events that share a timestamp in id order (the keyset order), touching only those rows.

    Rows arrive sorted by time; only runs of equal times can be out of order,
    and they occupy the same positions whatever their inner order, so sorting
    just the tied rows by (time, id) and writing them back fixes everything.
    """
    t = columns.time_ms
    tied = np.flatnonzero(t[1:] == t[:-1])
    if not len(tied):
        return columns
    rows = np.union1d(tied, tied + 1)
    raw = columns.ids[rows].view(">u8").reshape(-1, 2)  # uuid order is byte order: two big-endian halves
    inner = np.lexsort((raw[:, 1], raw[:, 0], t[rows]))
    order = np.arange(len(t))
    order[rows] = rows[inner]
    return TimelineColumns(
        columns.ids[order], t[order], columns.lane[order], columns.importance[order], columns.flags[order]
    )


def _received(buffer: bytearray) -> int:
    """Whole events in a COPY buffer so far."""
    return max(len(buffer) - _HEADER_FIXED, 0) // _TUPLE.itemsize


def copy_timeline(
    conn: sa.Connection,
    patient_id: uuid.UUID,
    *,
    progress: Callable[[int], bool] | None = None,
) -> TimelineColumns | None:
    """All of a patient's events, time-sorted, through binary COPY.

    ``progress`` is called with the number of events received so far every
    :data:`PROGRESS_EVERY_BYTES` and once at the end; returning False stops the
    transfer (a cancelled load) and the function returns None.  The server is told to cancel the COPY, which aborts
    the caller's transaction: roll it back (closing the connection does).
    """
    driver = conn.connection.driver_connection
    assert driver is not None
    buffer = bytearray()
    cancelled = False
    reported = 0
    try:
        with driver.cursor() as cursor:
            cursor.execute(PLAN_SETTINGS)
            with cursor.copy(_COPY_SQL, (patient_id,)) as copy:
                for chunk in copy:
                    if cancelled:
                        continue  # drain what was already in flight until the server stops
                    buffer += chunk
                    if progress is not None and len(buffer) - reported >= PROGRESS_EVERY_BYTES:
                        reported = len(buffer)
                        if not progress(_received(buffer)):
                            cancelled = True
                            driver.cancel_safe()
    except psycopg.errors.QueryCanceled:
        if not cancelled:
            raise
    if cancelled or (progress is not None and not progress(_received(buffer))):
        return None
    return merge_in_time_order(parse_binary_copy(buffer), copy_private_markers(conn, patient_id))


def copy_private_markers(conn: sa.Connection, patient_id: uuid.UUID) -> TimelineColumns:
    """A supervisor's text-free markers of supervisees' private events, through binary COPY.

    The same rows as :func:`~viewer.services.timeline_query.fetch_private_markers`
    (the same function decides them), without a Python row each: 34,000
    markers took 0.8 s in keyset pages, more than the rest of a 500k load.
    Empty for anyone but a supervisor.
    """
    driver = conn.connection.driver_connection
    assert driver is not None
    buffer = bytearray()
    with driver.cursor() as cursor, cursor.copy(_MARKER_COPY_SQL, (patient_id,)) as copy:
        for chunk in copy:
            buffer += chunk
    return parse_binary_copy(buffer)


def merge_in_time_order(columns: TimelineColumns, extra: TimelineColumns) -> TimelineColumns:
    """``columns`` with the (time-sorted) ``extra`` rows inserted where they belong, ties by id."""
    if not len(extra):
        return columns
    at = np.searchsorted(columns.time_ms, extra.time_ms, side="right")
    merged = TimelineColumns(
        np.insert(columns.ids, at, extra.ids),
        np.insert(columns.time_ms, at, extra.time_ms),
        np.insert(columns.lane, at, extra.lane),
        np.insert(columns.importance, at, extra.importance),
        np.insert(columns.flags, at, extra.flags),
    )
    return order_ties_by_id(merged)
