"""Compare the live catalog with the seed's contract and report each item.

This reads ``pg_catalog`` directly rather than trusting Alembic's version
table: a database can be stamped at head and still have lost a CHECK, had a
foreign key recreated with the wrong ON DELETE, or an index rebuilt without
its DESC key.  The report mirrors the seed's (one line per column, index,
key and check, each marked pass or fail) and lists every mismatch by name.

It also checks what the privacy rules stand on, as a privacy officer (or a
DBA after a restore) would want to see: every table under row-level security
that app logins cannot bypass, every function with ``pg_temp`` last on its
search path, and no temporary tables or objects in ``public`` for anyone but
the owner.  A hand-made ``ALTER`` that undoes one of these is named.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from viewer.db import contract, migrate

PASS = "PASS"
FAIL = "FAIL"

_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


@dataclass(frozen=True)
class CheckResult:
    section: str
    item: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class VerifyReport:
    revision: str | None
    results: list[CheckResult] = field(default_factory=list)
    head: str | None = None  # the newest migration this build ships, when known

    @property
    def upgrade_hint(self) -> str | None:
        """What to do when the failures come from a database that was never (fully) migrated.

        A new home or server that nobody upgraded fails every check, and a list
        of FAILs alone reads like a corrupted schema.
        """
        if self.ok or self.head is None or self.revision == self.head:
            return None
        state = "has never been migrated" if self.revision is None else f"is at revision {self.revision}"
        return (
            f"The database {state}; this version of Caseline expects {self.head}. "
            "Run `python main.py db upgrade`, then verify again."
        )

    @property
    def mismatches(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.mismatches and bool(self.results)

    def render(self) -> str:
        lines = [f"Schema verification of {contract.TABLE} (alembic revision: {self.revision or 'none'})", ""]
        section = None
        for result in self.results:
            if result.section != section:
                section = result.section
                lines.append(f"## {section}")
            mark = PASS if result.ok else FAIL
            detail = result.actual if result.ok else f"expected {result.expected}, found {result.actual}"
            lines.append(f"  [{mark}] {result.item}: {detail}")
        lines.append("")
        if self.ok:
            lines.append(f"All {len(self.results)} checks passed.")
        else:
            lines.append(f"{len(self.mismatches)} of {len(self.results)} checks FAILED:")
            lines.extend(f"  - {r.section} {r.item}" for r in self.mismatches)
            if self.upgrade_hint:
                lines += ["", self.upgrade_hint]
        return "\n".join(lines)


def _normalise_default(default: str | None) -> str | None:
    if default is None:
        return None
    return re.sub(r"::[a-z ]+(\([0-9]+\))?", "", default).strip()


def _type_name(data_type: str, length: int | None) -> str:
    names = {
        "character varying": "varchar",
        "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz",
    }
    base = names.get(data_type, data_type)
    return f"{base}({length})" if length else base


def verify_schema(conn: sa.Connection, schema: str = "public") -> VerifyReport:
    """Read the catalog of ``timeline_events`` and compare it with the contract."""
    try:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.ProgrammingError:
        conn.rollback()
        revision = None
    report = VerifyReport(revision, head=migrate.head_revision())
    add = report.results.append
    table_oid = conn.execute(
        sa.text("SELECT to_regclass(:name)::oid"), {"name": f"{schema}.{contract.TABLE}"}
    ).scalar()
    add(CheckResult("Table", contract.TABLE, "present", "present" if table_oid else "missing"))
    if table_oid is None:
        return report

    columns = {
        row.column_name: row
        for row in conn.execute(
            sa.text(
                "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = :schema AND table_name = :table"
            ),
            {"schema": schema, "table": contract.TABLE},
        )
    }
    seed_present = sum(1 for name in columns if name in {c.name for c in contract.COLUMNS})
    add(CheckResult("Columns", "count", str(len(contract.COLUMNS)), str(seed_present)))
    for section, spec in [("Columns", c) for c in contract.COLUMNS] + [
        ("Caseline columns", c) for c in contract.EXTENSION_COLUMNS
    ]:
        row = columns.get(spec.name)
        expected = _describe_column(spec.type, spec.nullable, spec.default)
        if row is None:
            add(CheckResult(section, spec.name, expected, "missing"))
            continue
        actual = _describe_column(
            _type_name(row.data_type, row.character_maximum_length),
            row.is_nullable == "YES",
            _normalise_default(row.column_default),
        )
        add(CheckResult(section, spec.name, expected, actual))
    known = {c.name for c in contract.COLUMNS} | {c.name for c in contract.EXTENSION_COLUMNS}
    for extra in sorted(set(columns) - known):
        add(CheckResult("Columns", extra, "absent (not in the seed)", "present"))

    pk = conn.execute(
        sa.text(
            "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.conrelid = :oid AND c.contype = 'p'"
        ),
        {"oid": table_oid},
    ).scalar()
    add(CheckResult("Primary key", "columns", ", ".join(contract.PRIMARY_KEY), ", ".join(pk or []) or "none"))

    indexes = _indexes(conn, table_oid)
    for index in contract.INDEXES:
        add(CheckResult("Indexes", index.name, ", ".join(index.columns), indexes.get(index.name, "missing")))

    fks = {
        row.conname: row
        for row in conn.execute(
            sa.text(
                "SELECT c.conname, c.confdeltype, a.attname AS col, rt.relname AS ref_table, "
                "ra.attname AS ref_col FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "JOIN pg_class rt ON rt.oid = c.confrelid "
                "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
                "WHERE c.conrelid = :oid AND c.contype = 'f'"
            ),
            {"oid": table_oid},
        )
    }
    for fk in contract.FOREIGN_KEYS:
        expected = f"{fk.column} -> {fk.references} ON DELETE {fk.on_delete}"
        row = fks.get(fk.name)
        actual = (
            f"{row.col} -> {row.ref_table}({row.ref_col}) ON DELETE {_ON_DELETE.get(row.confdeltype, '?')}"
            if row
            else "missing"
        )
        add(CheckResult("Foreign keys", fk.name, expected, actual))

    checks: dict[str, str] = {
        row.conname: row.definition
        for row in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                "WHERE conrelid = :oid AND contype = 'c'"
            ),
            {"oid": table_oid},
        )
    }
    for check in contract.CHECKS:
        expected = f"{check.column} IN {_render_values(check.values)}"
        definition = checks.get(check.name)
        if definition is None:
            actual = "missing"
        else:
            column_ok = check.column in definition
            values = frozenset(re.findall(r"'((?:[^']|'')*)'", definition))
            actual = f"{check.column} IN {_render_values(values)}" if column_ok else f"other: {definition}"
        add(CheckResult("Check constraints", check.name, expected, actual))
    _privacy(conn, schema, add)
    return report


# A function's search path is safe when pg_temp comes last (or nothing is searched at all): a caller's
# temporary table can then never stand in for a catalog or app table a SECURITY DEFINER helper reads.
_SAFE_SEARCH_PATH = re.compile(r'^search_path=(""|(pg_catalog, )?pg_temp)$')


def _privacy(conn: sa.Connection, schema: str, add: Callable[[CheckResult], None]) -> None:
    tables = conn.execute(
        sa.text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'r' AND c.relname <> 'alembic_version' ORDER BY 1"
        ),
        {"schema": schema},
    ).all()
    for table in tables:
        state = ("enabled" if table.relrowsecurity else "disabled") + (
            ", forced" if table.relforcerowsecurity else ", not forced"
        )
        add(CheckResult("Row-level security", table.relname, "enabled, forced", state))
    functions = conn.execute(
        sa.text(
            "SELECT p.oid::regprocedure::text AS name, coalesce(p.proconfig, '{}') AS config FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema ORDER BY 1"
        ),
        {"schema": schema},
    ).all()
    for function in functions:
        paths = [setting for setting in function.config if setting.startswith("search_path=")]
        safe = any(_SAFE_SEARCH_PATH.match(setting) for setting in paths)
        actual = "pg_temp last" if safe else (paths[0] if paths else "search_path not set")
        add(CheckResult("Function search paths", function.name, "pg_temp last", actual))
    temp = conn.execute(
        sa.text(
            "SELECT CASE WHEN d.datacl IS NULL THEN ARRAY['PUBLIC (the default)'] ELSE ARRAY("
            "  SELECT coalesce(r.rolname, 'PUBLIC') FROM aclexplode(d.datacl) a "
            "  LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "  WHERE a.privilege_type = 'TEMPORARY' AND a.grantee <> d.datdba ORDER BY 1) END "
            "FROM pg_database d WHERE d.datname = current_database()"
        )
    ).scalar_one()
    add(CheckResult("Privileges", "TEMPORARY on the database", "owner only", ", ".join(temp) or "owner only"))
    public_create = conn.execute(
        sa.text("SELECT has_schema_privilege('public', :schema, 'CREATE')"), {"schema": schema}
    ).scalar_one()
    add(
        CheckResult(
            "Privileges",
            f"CREATE on schema {schema}",
            "not for PUBLIC",
            "granted to PUBLIC" if public_create else "not for PUBLIC",
        )
    )


def _describe_column(type_name: str, nullable: bool, default: str | None) -> str:
    text = f"{type_name} {'NULL' if nullable else 'NOT NULL'}"
    return f"{text} DEFAULT {default}" if default is not None else text


def _render_values(values: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(values)) + "}"


def _indexes(conn: sa.Connection, table_oid: int) -> dict[str, str]:
    """Index name -> "col, col DESC" from pg_index (indoption bit 1 means DESC)."""
    rows = conn.execute(
        sa.text(
            "SELECT ic.relname AS name, k.ord, a.attname, (i.indoption[k.ord - 1] & 1) = 1 AS descending "
            "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = :oid ORDER BY ic.relname, k.ord"
        ),
        {"oid": table_oid},
    )
    result: dict[str, list[str]] = {}
    for row in rows:
        column = row.attname or "(expression)"
        result.setdefault(row.name, []).append(f"{column} DESC" if row.descending else column)
    return {name: ", ".join(cols) for name, cols in result.items()}
