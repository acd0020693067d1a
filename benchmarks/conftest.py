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


def _warm_up(url: str, seconds: float = 1.5) -> None:
    """Load the server and this process for a moment so the first benchmark is not the cold one."""
    import asyncio

    import aiohttp

    async def run() -> None:
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as client:
            async def worker() -> None:
                while time.monotonic() < deadline:
                    async with client.get(url) as response:
                        await response.read()

            await asyncio.gather(*(worker() for _ in range(32)))

    asyncio.run(run())


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
        url = f"http://127.0.0.1:{port_file.read_text()}"
        _warm_up(url)
        yield url
    finally:
        proc.kill()
        proc.wait()
        os.unlink(port_file)
