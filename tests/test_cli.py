"""The ``websession`` command: fetch through a persistent partition, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

import websession

SRC = str(Path(websession.__file__).parents[1])


async def run_cli(*args: str, root: Path) -> subprocess.CompletedProcess[bytes]:
    import asyncio

    env = dict(os.environ, PYTHONPATH=SRC, WEBSESSION_USER_DATA=str(root))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "websession", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode or 0, out, err)


async def test_fetch_command(serve: Any, tmp_path: Path) -> None:
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        seen = request.headers.get("Cookie", "")
        return web.Response(text=f"cookie=[{seen}]", headers={"Set-Cookie": "id=7; Max-Age=600"})

    app.router.add_get("/", page)
    base = await serve(app)
    first = await run_cli("fetch", base + "/", "--partition", "persist:cli-test", root=tmp_path)
    assert first.returncode == 0 and first.stdout == b"cookie=[]"
    second = await run_cli("fetch", "-i", base + "/", "--partition", "persist:cli-test", root=tmp_path)
    assert second.stdout.startswith(b"HTTP/1.1 200 OK\r\n")
    assert second.stdout.endswith(b"cookie=[id=7]")
    out = tmp_path / "body.txt"
    third = await run_cli("fetch", base + "/", "-o", str(out), "--partition", "other", root=tmp_path)
    assert third.returncode == 0 and out.read_bytes() == b"cookie=[]"


async def test_fetch_command_reports_net_errors(tmp_path: Path) -> None:
    result = await run_cli("fetch", "http://127.0.0.1:9/", "--partition", "x", root=tmp_path)
    assert result.returncode == 1 and b"net::ERR_CONNECTION_REFUSED" in result.stderr


async def test_demo_crawls_and_narrates(tmp_path: Path) -> None:
    result = await run_cli("demo", root=tmp_path)
    text = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "301 redirect" in text and "net::ERR_TIMED_OUT" in text
    assert "from cache" in text and "demo://bundle/help.html" in text
    assert "cookies stored: visitor=v1" in text and "NetLog written to" in text
    again = (await run_cli("demo", root=tmp_path)).stdout.decode()
    assert "sending Cookie: visitor=v1" in again
