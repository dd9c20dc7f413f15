"""What the lanes say when the window in view holds no event (Qt-free).

Blank lanes look like a broken or empty record; the hint says the record is
fine, this stretch is just empty, and where the nearest events are, with the
keys that get there.
"""

from __future__ import annotations

from viewer.domain import to_local
from viewer.services.timeline_query import from_epoch_ms


def short_date(time_ms: int) -> str:
    """``30 Oct 2026`` in local time."""
    local = to_local(from_epoch_ms(time_ms))
    return f"{local.day} {local:%b %Y}"


def empty_view_hint(previous_ms: int | None, next_ms: int | None) -> str:
    """``No events in this range · ← previous 30 Oct 2026 · → next 3 Jan 2027`` (either side may be missing)."""
    parts = ["No events in this range"]
    if previous_ms is not None:
        parts.append(f"← previous {short_date(previous_ms)}")
    if next_ms is not None:
        parts.append(f"→ next {short_date(next_ms)}")
    return " · ".join(parts)
