"""The house rules a tool can check: viewer/ is Qt-free, typed strictly, linted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_viewer_is_qt_free() -> None:
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_viewer_imports_without_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, viewer\n"
        "for m in pkgutil.walk_packages(viewer.__path__, 'viewer.'): importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'ui')]\n"
        "assert not bad, bad\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr


def test_ruff() -> None:
    result = _run(str(BIN / "ruff"), "check", "viewer", "ui", "migrations", "tests", "main.py")
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_mypy_strict_on_viewer() -> None:
    result = _run(sys.executable, "-m", "mypy", "--no-error-summary")
    assert result.returncode == 0, result.stdout
