"""Caseline's Qt-free core: domain rules, database access and services.

Nothing under this package may import PySide6, pyqtgraph or ``ui``; an
import-linter contract in ``pyproject.toml`` enforces it, so every rule here is
testable without a QApplication.
"""
