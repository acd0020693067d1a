"""Fixtures for the benchmarks: a fast loopback server in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fast_server() -> Iterator[str]:
    """Start ``fast_server.py`` in a child process and yield its base URL."""
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fast_server.py")), str(port_file)])
    try:
        for _ in range(500):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.01)
        else:
            raise RuntimeError("the benchmark server did not start")
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        proc.kill()
        proc.wait()
        os.unlink(port_file)
