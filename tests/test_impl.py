"""The implementation switch: ``c`` really loads every compiled core, ``python`` the twins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import websession
from websession import _impl

CORES = ("urlpattern", "psl", "cookiestore", "cacheindex", "netlog", "bypass", "devices")
SRC = str(Path(websession.__file__).parents[1])


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WEBSESSION_")}
    environment.update(PYTHONPATH=SRC, **env)
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)


@pytest.mark.parametrize("name", CORES)
def test_compiled_cores_load(name: str) -> None:
    module = _impl.core(name) if _impl.implementation() == "c" else __import__(f"websession._{name}_c", fromlist=["x"])
    assert module.__name__ == f"websession._{name}_c"
    assert module.__file__ is not None and module.__file__.endswith(".so")


def test_the_suite_runs_on_the_compiled_cores_when_asked() -> None:
    if os.environ.get("WEBSESSION_IMPLEMENTATION") == "c":
        assert all(_impl.compiled(name) for name in CORES)


def test_python_choice_and_no_extensions_flag() -> None:
    code = "from websession import _impl; print(_impl.core('psl').__name__, _impl.core('netlog').__name__)"
    assert run(code, WEBSESSION_IMPLEMENTATION="python").stdout.split() == [
        "websession._psl_py", "websession._netlog_py"]
    assert run(code, WEBSESSION_NO_EXTENSIONS="1").stdout.split() == ["websession._psl_py", "websession._netlog_py"]


def test_c_fails_loudly_when_a_core_is_missing() -> None:
    code = "from websession import _impl; _impl.core('nonexistent')"
    out = run(code, WEBSESSION_IMPLEMENTATION="c")
    assert out.returncode != 0 and "WEBSESSION_IMPLEMENTATION=c but the compiled core" in out.stderr


def test_bad_choice_is_an_error() -> None:
    out = run("import websession", WEBSESSION_IMPLEMENTATION="fast")
    assert out.returncode != 0 and "WEBSESSION_IMPLEMENTATION must be one of auto, c, python" in out.stderr
    with pytest.raises(ValueError, match="implementation must be one of"):
        _impl.use("fast")
