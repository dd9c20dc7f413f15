"""Caseline: open the app, or run a subcommand (``main.py --help`` lists them)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from viewer.cli import build_parser, configure_logging, run_command

    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.command == "bench":
        from ui.bench import run_bench  # the benchmark paints with Qt

        return run_bench(args)
    if args.command is not None:
        return run_command(args)
    from ui.app import run_app  # Qt is imported only when a window is wanted

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
