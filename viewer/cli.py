"""Command-line interface: ``main.py`` subcommands, Qt-free.

Every subcommand prints a plain message and returns an exit code: 0 success,
1 a check failed (``db verify``), 2 bad usage or a user-correctable error
(bad configuration, unreachable database).  Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import util as alembic_util
from alembic.script.revision import RevisionError

from viewer.db import migrate
from viewer.db.embedded import EmbeddedServer, EmbeddedServerError
from viewer.db.engine import make_engine, owner_url
from viewer.db.settings import ConfigError, Settings, resolve_settings
from viewer.db.verify import verify_schema

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2

log = logging.getLogger("caseline")


class UserError(Exception):
    """A problem the user can fix; shown as a message, exit code 2."""


UNREACHABLE_STATES = (
    "08",
    "28",
    "53",
    "57",
)  # SQLSTATE classes: connection, authorisation, resources, shutdown


def unreachable(exc: sa.exc.OperationalError) -> UserError:
    """The one-line reason a database could not be reached (libpq adds hints on later lines).

    A refusal the schema raised itself ("the audit log holds re-key rows",
    object in use) reached the server fine and is said as it is; only the
    connection, authorisation, resource and shutdown classes are "cannot reach".
    """
    reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None and not state.startswith(UNREACHABLE_STATES):
        return UserError(reason)
    return UserError(f"cannot reach the database: {reason}")


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a demo of no patients is an error, said so)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Caseline: clinical timelines for psychotherapy practices. "
        "With no command, opens the app.",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="PostgreSQL URL (overrides CASELINE_DATABASE_URL and the config file; "
        "default: the embedded server in the Caseline home)",
    )
    parser.add_argument(
        "--screenshot", metavar="FILE", help="render the main window offscreen to FILE and exit"
    )
    parser.add_argument(
        "--patient", metavar="ID", help="with --screenshot: the patient (id or username) to show"
    )
    parser.add_argument("--size", metavar="WxH", default="1600x900", help="with --screenshot: window size")
    parser.add_argument(
        "--user",
        metavar="DEMO_USERNAME",
        help="sign in as this demo account (password from demo-credentials.json); "
        "without it --screenshot shows the owner's view",
    )
    parser.add_argument(
        "--range",
        choices=["all", "year", "month", "week", "day"],
        default="all",
        help="with --screenshot: how much time to show (default: the whole history)",
    )
    parser.add_argument(
        "--at", metavar="YYYY-MM-DD", help="with --screenshot and --range: the day to centre on"
    )
    parser.add_argument(
        "--min-importance",
        choices=["low", "normal", "high", "critical"],
        default="low",
        help="with --screenshot: hide events below this importance",
    )
    parser.add_argument(
        "--types",
        metavar="TYPE,...",
        help="with --screenshot: show only these event types (e.g. session,note)",
    )
    parser.add_argument(
        "--select",
        action="store_true",
        help="with --screenshot: select the latest event in view, so the detail pane shows it",
    )
    parser.add_argument(
        "--editor",
        action="store_true",
        help="with --screenshot and --user: open that event in the editor and render the editor",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    db = commands.add_parser("db", help="manage the database schema and the embedded server")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_commands.add_parser("upgrade", help="migrate to the latest schema (or --revision)")
    up.add_argument("--revision", default="head")
    down = db_commands.add_parser("downgrade", help="migrate down to REVISION (e.g. base, -1)")
    down.add_argument("revision")
    db_commands.add_parser("current", help="print the schema revision of the database")
    db_commands.add_parser(
        "verify", help="compare the live schema with the seed contract; exit 1 on mismatch"
    )
    db_commands.add_parser(
        "url", help="start the embedded server if needed and print the owner's URL (no password)"
    )
    db_commands.add_parser("start", help="start the embedded server and leave it running")
    db_commands.add_parser("stop", help="stop the embedded server")

    bench = commands.add_parser(
        "bench", help="measure timeline load, paint and hover speed on a throwaway synthetic patient"
    )
    bench.add_argument("--events", type=int, default=1_000_000, help="events to seed (default: %(default)s)")
    bench.add_argument(
        "--import-events",
        type=int,
        default=None,
        help="events in the synthetic FHIR bundle for import_events_per_s "
        "(default: a tenth of --events, 5000 to 100000)",
    )
    bench.add_argument(
        "--table-events",
        type=int,
        default=0,
        help="also time a therapist opening a 2,000-event patient in a throwaway database of this many "
        "events (10000000 for performance.md's figure; default: skipped)",
    )
    bench.add_argument("--frames", type=int, default=200, help="frames in the gesture (default: %(default)s)")
    bench.add_argument("--dpr", type=float, default=1.0, help="device pixel ratio (default: %(default)s)")
    bench.add_argument("--seed", type=int, default=20261124, help="random seed (default: %(default)s)")
    bench.add_argument("--json", action="store_true", help="print only the JSON object")
    audit = commands.add_parser("audit", help="check the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_commands.add_parser(
        "verify", help="recompute the HMAC chain; exit 1 naming every edited, deleted or reordered row"
    )
    rekey = audit_commands.add_parser(
        "rekey",
        help="sign the audit log with a new key from now on (the clinic's key is lost or leaked); "
        "the log records who, when and why, and the old key file is kept aside",
    )
    rekey.add_argument("--reason", required=True, help="why the key is replaced (kept in the log)")
    fhir_in = commands.add_parser(
        "import-fhir",
        help="import FHIR R4 Bundles (.json) or NDJSON bulk exports (.ndjson); folders are searched",
    )
    fhir_in.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    fhir_in.add_argument(
        "--assign-to", metavar="USERNAME", help="assign the imported patients to this therapist's care"
    )
    fhir_out = commands.add_parser(
        "export-fhir", help="write one patient's timeline as a FHIR R4 Bundle (collection)"
    )
    fhir_out.add_argument("--patient", required=True, metavar="ID", help="patient id or username")
    fhir_out.add_argument("--out", required=True, metavar="FILE", type=Path)
    fhir_out.add_argument(
        "--user",
        metavar="USERNAME",
        help="export as this clinician (password from CASELINE_PASSWORD, the demo credentials, or a prompt); "
        "without it the owner exports, without any private event",
    )
    staff = commands.add_parser("staff", help="manage clinicians who leave (never deleted)")
    staff_commands = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    leave = staff_commands.add_parser(
        "deactivate",
        help="close a clinician's login and links; their private events need --hand-over-to or --keep-private",
    )
    leave.add_argument("username")
    fate = leave.add_mutually_exclusive_group()  # handing over cannot be undone: never both at once
    fate.add_argument(
        "--hand-over-to", metavar="USERNAME", help="the colleague who becomes author of their private events"
    )
    fate.add_argument(
        "--keep-private",
        action="store_true",
        help="leave their private events with them (only a supervisor may read them)",
    )
    demo = commands.add_parser("demo", help="load the deterministic demo practice")
    demo.add_argument("--seed", type=int, default=20261124, help="random seed (default: %(default)s)")
    demo.add_argument(
        "--patients", type=_positive_int, default=14, help="number of patients (default: %(default)s)"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return resolve_settings(args.database_url)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc


def _engine(settings: Settings) -> sa.Engine:
    try:
        return make_engine(owner_url(settings), poolclass=sa.pool.NullPool)
    except EmbeddedServerError as exc:
        raise UserError(f"cannot start the embedded database: {exc}") from exc


def engine_for(args: argparse.Namespace) -> sa.Engine:
    """The owner engine for the database the command line points at (starting the embedded one if needed)."""
    settings = _settings(args)
    engine = _engine(settings)
    with engine.begin() as conn:
        migrate.upgrade(conn)
    return engine


def cmd_db(args: argparse.Namespace) -> int:
    settings = _settings(args)
    action = args.db_command
    if action in ("url", "start", "stop"):
        if not settings.uses_embedded:
            if action == "url":
                print(sa.make_url(settings.database_url or "").render_as_string(hide_password=True))
                return EXIT_OK
            raise UserError(
                f"'db {action}' applies to the embedded server; the database comes from {settings.url_source.value}"
            )
        try:
            server = EmbeddedServer(settings.home)
        except EmbeddedServerError as exc:  # a home path the server cannot take
            raise UserError(str(exc)) from exc
        if action == "stop":
            print("embedded server stopped" if server.stop() else "embedded server was not running")
            return EXIT_OK
        try:
            server.start()
        except EmbeddedServerError as exc:
            raise UserError(f"cannot start the embedded database: {exc}") from exc
        if action == "start":
            print("embedded server running; stop it with: main.py db stop")
        else:
            print(server.libpq_owner_url())
        return EXIT_OK
    engine = _engine(settings)
    try:
        if action == "upgrade":
            with engine.begin() as conn:
                migrate.upgrade(conn, args.revision)
                print(f"database at revision {migrate.current_revision(conn)}")
        elif action == "downgrade":
            with engine.begin() as conn:
                migrate.downgrade(conn, args.revision)
                print(f"database at revision {migrate.current_revision(conn) or 'base (empty)'}")
        elif action == "current":
            with engine.connect() as conn:
                current = migrate.current_revision(conn)
                head = migrate.head_revision()
                state = "(head)" if current == head else f"(head is {head})"
                print(f"{current or 'none'} {state}")
        elif action == "verify":
            with engine.connect() as conn:
                report = verify_schema(conn)
            print(report.render())
            return EXIT_OK if report.ok else EXIT_CHECK_FAILED
    except sa.exc.OperationalError as exc:
        raise unreachable(exc) from exc
    except (alembic_util.CommandError, RevisionError) as exc:  # an unknown or ambiguous revision
        raise UserError(f"{args.revision}: {exc}") from None
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from viewer.services.demo import load_demo  # late: pulls in the generator only when asked

    settings = _settings(args)
    engine = _engine(settings)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn)
        summary = load_demo(engine, settings, seed=args.seed, patients=args.patients)
    finally:
        engine.dispose()
    print(summary.describe())
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from viewer.services.audit import AuditKey, AuditKeyError, verify

    settings = _settings(args)
    if args.audit_command == "rekey":
        return _rekey(settings, args.reason)
    try:
        key: AuditKey | None = AuditKey.load(settings.home, create=False)
    except AuditKeyError as exc:
        key, missing = None, exc
    engine = _engine(settings)
    try:
        _require_current_schema(engine)
        with engine.connect() as conn:
            if key is None:
                # A fresh install has signed nothing yet (the key comes with the first audited
                # write): an empty log is intact, not an error.  A log with rows needs its key.
                if not conn.execute(sa.text("SELECT EXISTS (SELECT FROM audit_log)")).scalar_one():
                    print("Audit log empty: nothing has been audited yet, so nothing to verify.")
                    return EXIT_OK
                raise UserError(str(missing)) from missing
            report = verify(conn, key)
    finally:
        engine.dispose()
    print(report.render())
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _require_current_schema(engine: sa.Engine) -> None:
    """A one-line error, not a traceback, on a database never migrated (or not yet to the head)."""
    try:
        with engine.connect() as conn:
            current, head = migrate.current_revision(conn), migrate.head_revision()
    except sa.exc.OperationalError as exc:
        raise unreachable(exc) from exc
    if current != head:
        raise UserError(
            f"the database schema is at {current or 'no revision'}: run 'main.py db upgrade' first"
        )


def _rekey(settings: Settings, reason: str) -> int:
    from viewer.services.audit import AuditKeyError, rekey

    engine = _engine(settings)
    try:
        _require_current_schema(engine)
        done = rekey(engine, settings.home, reason)
    except AuditKeyError as exc:
        raise UserError(str(exc)) from exc
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege: not the owner
            raise UserError("only the database owner can start a new audit key") from exc
        raise
    except sa.exc.OperationalError as exc:
        raise unreachable(exc) from exc
    finally:
        engine.dispose()
    print(f"A new audit key signs the log from row {done.seq}: {done.key_file} (readable by you only).")
    if done.retired_file is not None:
        print(f"The key it replaces was kept as {done.retired_file}.")
    print(
        "Copy the new key to every machine that writes to this database (or set CASELINE_AUDIT_KEY to it): "
        "a machine still holding the old key is refused at its next audited write."
    )
    return EXIT_OK


def cmd_staff(args: argparse.Namespace) -> int:
    from viewer.services.audit import AuditKey, AuditKeyError
    from viewer.services.errors import ServiceError
    from viewer.services.staff import deactivate

    settings = _settings(args)
    try:
        key = AuditKey.load(settings.home)
    except AuditKeyError as exc:
        raise UserError(str(exc)) from exc
    engine = _engine(settings)
    try:
        _require_current_schema(engine)
        with engine.begin() as conn:
            done = deactivate(
                conn, key, args.username, hand_over_to=args.hand_over_to, keep_private=args.keep_private
            )
    except ServiceError as exc:
        raise UserError(str(exc)) from exc
    finally:
        engine.dispose()
    said = [f"Deactivated {done.username}: login closed, care and supervision links ended."]
    if done.successor:
        said.append(f"{done.handed_over} private events handed over to {done.successor}.")
    if done.kept_private:
        said.append(f"{done.kept_private} private events stay with them.")
    print(" ".join(said))
    return EXIT_OK


def cmd_import_fhir(args: argparse.Namespace) -> int:
    import getpass

    from viewer.services.audit import AuditKey, AuditKeyError
    from viewer.services.fhir_import import ImportProgress, expand_paths, import_paths

    settings = _settings(args)
    try:
        key = AuditKey.load(settings.home)
    except AuditKeyError as exc:
        raise UserError(str(exc)) from exc
    files = expand_paths(args.paths)
    if not files:
        raise UserError("no .json or .ndjson files found in the paths given")
    engine = engine_for(args)
    try:
        assign_to = None
        if args.assign_to:
            with engine.connect() as conn:
                assign_to = conn.execute(
                    sa.text(
                        "SELECT id FROM users WHERE username = :u AND role IN ('therapist', 'supervisor')"
                    ),
                    {"u": args.assign_to},
                ).scalar()
            if assign_to is None:
                raise UserError(f"--assign-to: no therapist named {args.assign_to!r}")

        def progress(step: ImportProgress) -> None:
            if step.entries == 0 and step.done < 1.0:  # a file begins
                print(f"[{step.file}/{step.files}] {step.path.name}…", file=sys.stderr)

        by = f"{getpass.getuser()} (command line)"
        done, failed = import_paths(
            engine, key, files, assign_to=assign_to, imported_by=by, progress=progress
        )
    finally:
        engine.dispose()
    for summary in done:
        print(summary.render())
    for error in failed:
        print(f"error: {error} (nothing from this file was imported)", file=sys.stderr)
    total = sum(s.created for s in done)
    print(f"{len(done)} of {len(files)} files imported, {total} new events.")
    return EXIT_USAGE if failed else EXIT_OK


def cmd_export_fhir(args: argparse.Namespace) -> int:
    import getpass

    from viewer.services.audit import AuditKey, AuditKeyError
    from viewer.services.demo import read_credentials
    from viewer.services.errors import ServiceError
    from viewer.services.fhir_export import export_patient, write_bundle
    from viewer.services.patients import find_patient
    from viewer.services.sign_in import sign_in

    settings = _settings(args)
    try:
        key = AuditKey.load(settings.home)
    except AuditKeyError as exc:
        raise UserError(str(exc)) from exc
    if not args.out.parent.is_dir():
        raise UserError(f"--out: the folder {args.out.parent} does not exist")
    engine = engine_for(args)
    try:
        if args.user:
            password = os.environ.get("CASELINE_PASSWORD") or read_credentials(settings.home).get(args.user)
            if not password:
                try:
                    password = getpass.getpass(f"Password for {args.user}: ")
                except EOFError:  # no terminal to ask on
                    raise UserError(
                        f"--user {args.user}: no password (set CASELINE_PASSWORD, or run it in a terminal)"
                    ) from None
            base = engine.url.set(username=None, password=None)
            engine.dispose()
            engine, _identity = sign_in(base, args.user, password)
        with engine.begin() as conn:
            patient = find_patient(conn, args.patient)
            if patient is None:
                raise UserError(f"--patient: no patient {args.patient!r} that you may see")
            bundle = export_patient(conn, key, patient)
            write_bundle(bundle, args.out)
    except ServiceError as exc:
        raise UserError(str(exc)) from exc
    finally:
        engine.dispose()
    events = sum(
        1 for entry in bundle["entry"] if entry["resource"]["resourceType"] not in ("Patient", "Practitioner")
    )
    print(f"Wrote {events} events to {args.out}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "export-fhir": cmd_export_fhir,
    "import-fhir": cmd_import_fhir,
    "db": cmd_db,
    "demo": cmd_demo,
    "audit": cmd_audit,
    "staff": cmd_staff,
}


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def run_command(args: argparse.Namespace) -> int:
    """Run one parsed subcommand; user errors become a message and exit code 2."""
    from viewer.services.audit import AuditKeyError

    try:
        try:
            return COMMANDS[args.command](args)
        except sa.exc.OperationalError as exc:  # any command: the server went away or never answered
            raise unreachable(exc) from exc
    except (UserError, AuditKeyError) as exc:  # an audited write without the chain's key, say
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for subcommands (the GUI is started by ``main.py``)."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.command is None:
        print("no command given; run main.py without arguments to open the app", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    os._exit(main())
