"""The planner's estimates say nothing about whose events exist.

An app login cannot read a hidden row, but ``EXPLAIN`` used to show how many
rows the planner expected from the statistics ANALYZE gathered over every
row: ask about a patient one does not treat and the estimate was that
patient's event count.  Without statistics on the identifying columns every
value gets the same estimate, and the patient timeline still uses its index.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice, build_practice, drop_logins
from viewer.db.engine import make_engine


@pytest.fixture(scope="module")
def practice(module_scratch_database: sa.URL) -> Iterator[Practice]:
    built = build_practice(module_scratch_database)
    owner = make_engine(built.url, poolclass=sa.pool.NullPool)
    with owner.begin() as conn:  # a realistic spread: many patients, one with a long hidden history
        others = [
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, role) VALUES (:u, 'Patient', 'patient') RETURNING id"
                ),
                {"u": f"{built.prefix}bulk{n}"},
            ).scalar_one()
            for n in range(30)
        ]
        for n, patient in enumerate([built.patients["P2"], *others]):
            conn.execute(
                sa.text(
                    "INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title, is_private) "
                    "SELECT :p, :t, 'note', timestamp '2024-01-01' + g * interval '1 hour', 'Bulk', g % 3 = 0 "
                    "FROM generate_series(1, :n) g"
                ),
                {"p": patient, "t": built.users["author"], "n": 3000 if n == 0 else 60},
            )
    with owner.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    owner.dispose()
    yield built
    drop_logins(built)


def _plan(conn: sa.Connection, query: str, **params: object) -> dict[str, object]:
    plan = conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {query}"), params).scalar_one()
    document = plan if isinstance(plan, list) else json.loads(plan)
    top: dict[str, object] = document[0]["Plan"]
    return top


def _estimated_scan_rows(plan: dict[str, object]) -> float:
    """The rows the innermost scan expects (before the policy's filter takes its share)."""
    node = plan
    while node.get("Plans"):
        node = node["Plans"][0]  # type: ignore[index]
    return float(node["Plan Rows"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("column", "known"),
    [("patient_id", "P2"), ("therapist_id", "author")],
)
def test_estimates_do_not_count_a_patients_or_authors_hidden_events(
    practice: Practice, column: str, known: str
) -> None:
    """The colleague treats neither P2 nor wrote the author's notes: the estimate must not tell."""
    value = practice.patients.get(known) or practice.users[known]
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        query = f"SELECT 1 FROM timeline_events WHERE {column} = :v"
        real = _estimated_scan_rows(_plan(conn, query, v=value))
        unknown = _estimated_scan_rows(_plan(conn, query, v=uuid.uuid4()))
        visible = conn.execute(
            sa.text(f"SELECT count(*) FROM timeline_events WHERE {column} = :v"), {"v": value}
        )
        assert visible.scalar_one() < 10  # the colleague sees (almost) none of them
    engine.dispose()
    assert real == unknown


def test_the_share_of_private_events_is_not_estimated(practice: Practice) -> None:
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        private = _estimated_scan_rows(_plan(conn, "SELECT 1 FROM timeline_events WHERE is_private"))
        shared = _estimated_scan_rows(_plan(conn, "SELECT 1 FROM timeline_events WHERE NOT is_private"))
    engine.dispose()
    assert private == shared  # a third of the bulk rows are private; the planner does not know


def test_the_patient_timeline_still_uses_its_index(practice: Practice) -> None:
    engine = practice.engine_for("author")
    with engine.connect() as conn:
        plan = json.dumps(
            _plan(
                conn,
                "SELECT id, event_date FROM timeline_events WHERE patient_id = :p AND deleted_at IS NULL "
                "AND event_date >= '2024-01-01' AND event_date < '2024-03-01' ORDER BY event_date DESC",
                p=practice.patients["P2"],
            )
        )
    engine.dispose()
    assert "idx_timeline_patient_date" in plan, plan
