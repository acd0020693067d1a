"""Helpers the tests import: where the corpora are, and loading one core implementation."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = Path(os.environ.get("WEBSESSION_CORPORA", SHARED / "corpora"))

IMPLEMENTATIONS = ("python", "c")


def load_core(name: str, implementation: str) -> ModuleType:
    """Import core ``name`` in one implementation; the compiled one must exist."""
    suffix = "py" if implementation == "python" else "c"
    return importlib.import_module(f"websession._{name}_{suffix}")
