"""Choose between the compiled cores and their pure-Python twins, in one place.

``WEBSESSION_IMPLEMENTATION`` is ``auto`` (compiled when present, the twin otherwise), ``c``
(compiled, and an ImportError when it is missing so a broken build never hides) or ``python``.
``WEBSESSION_NO_EXTENSIONS=1`` is the same as ``python``.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

_CHOICES = ("auto", "c", "python")


def _from_environment() -> str:
    if os.environ.get("WEBSESSION_NO_EXTENSIONS") == "1":
        return "python"
    choice = os.environ.get("WEBSESSION_IMPLEMENTATION", "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(
            f"WEBSESSION_IMPLEMENTATION must be one of {', '.join(_CHOICES)}, not {choice!r}"
        )
    return choice


_implementation = _from_environment()


def implementation() -> str:
    """Return the configured choice: ``auto``, ``c`` or ``python``."""
    return _implementation


def use(choice: str) -> None:
    """Switch the implementation for cores loaded from now on (sessions created later)."""
    global _implementation
    if choice not in _CHOICES:
        raise ValueError(f"implementation must be one of {', '.join(_CHOICES)}, not {choice!r}")
    _implementation = choice


def core(name: str) -> ModuleType:
    """Return the live module of core ``name``: ``websession._<name>_c`` or ``_<name>_py``."""
    if _implementation != "python":
        try:
            return importlib.import_module(f"websession._{name}_c")
        except ImportError:
            if _implementation == "c":
                raise ImportError(
                    f"WEBSESSION_IMPLEMENTATION=c but the compiled core websession._{name}_c "
                    "is missing: build it with `make native` or `pip install .`"
                ) from None
    return importlib.import_module(f"websession._{name}_py")


def compiled(name: str) -> bool:
    """Tell whether core ``name`` is compiled in this process."""
    return core(name).__name__.endswith("_c")
