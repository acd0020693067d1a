"""TLS handshakes through the certificate verify proc, and what the issue-7 layers cost a fetch.

Run: ``python -m pytest benchmarks/test_tls_benchmarks.py --benchmark-only
--benchmark-columns=median,ops,rounds``.

- "handshake": ``HANDSHAKES`` HTTPS GETs, each on a new TLS connection (``Connection: close``),
  to a loopback aiohttp server: no proc; a proc answering -3 whose verdict is cached; a proc
  asked every time (the cache emptied before each request).
- "fetch": ``REQUESTS`` GETs of 1 KiB at ``CONCURRENCY`` concurrent to the uvloop server of
  ``fast_server.py``: the session as built (emulation off: one attribute check per hop; auth
  layer: no cache entries), the same session with the emulation check bypassed
  (``_hop`` = ``Transport.send``), and with the whole auth/emulation/preconnect layer bypassed
  (``_network_send`` = ``Transport.send``).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
import trustme
from aiohttp import web

from websession import session

HANDSHAKES = 20
REQUESTS = 1000
CONCURRENCY = 32


@pytest.fixture(scope="module")
def tls_setup() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def run_handshakes(benchmark: Any, tls_setup: Any, proc: Any, clear_cache: bool) -> None:
    server_context, client_context = tls_setup
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def setup() -> tuple[web.AppRunner, str, Any]:
        app = web.Application()

        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app.router.add_get("/", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ses = session.from_partition(f"bench-handshake-{id(benchmark)}")
        ses._transport.ssl_context = client_context
        ses.set_certificate_verify_proc(proc)
        return runner, f"https://127.0.0.1:{port}/", ses

    runner, url, ses = loop.run_until_complete(setup())

    async def round_() -> None:
        for _ in range(HANDSHAKES):
            if clear_cache:
                ses._tls.verdicts.clear()
            response = await ses.fetch(url, headers={"Connection": "close"})
            await response.bytes()

    loop.run_until_complete(round_())
    benchmark.pedantic(lambda: loop.run_until_complete(round_()), rounds=7, iterations=1)
    loop.run_until_complete(ses.close())
    loop.run_until_complete(runner.cleanup())
    loop.close()
    asyncio.set_event_loop(None)


def test_handshake_without_proc(benchmark: Any, tls_setup: Any) -> None:
    benchmark.group = f"TLS handshake + GET x{HANDSHAKES}"
    run_handshakes(benchmark, tls_setup, None, False)


def test_handshake_proc_cached(benchmark: Any, tls_setup: Any) -> None:
    benchmark.group = f"TLS handshake + GET x{HANDSHAKES}"
    run_handshakes(benchmark, tls_setup, lambda request, callback: callback(-3), False)


def test_handshake_proc_every_time(benchmark: Any, tls_setup: Any) -> None:
    benchmark.group = f"TLS handshake + GET x{HANDSHAKES}"
    run_handshakes(benchmark, tls_setup, lambda request, callback: callback(-3), True)


def run_fetches(benchmark: Any, base: str, variant: str) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ses = session.from_partition(f"bench-fetch-{variant}", cache=False)
    if variant == "no-emulation-check":
        ses._hop = ses._transport.send
    elif variant == "no-issue7-layer":
        ses._network_send = ses._transport.send
    url = base + "/"

    async def one() -> None:
        response = await ses.fetch(url)
        await response.bytes()

    async def round_() -> None:
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def guarded() -> None:
            async with semaphore:
                await one()

        await asyncio.gather(*(guarded() for _ in range(REQUESTS)))

    loop.run_until_complete(round_())
    benchmark.pedantic(lambda: loop.run_until_complete(round_()), rounds=15, iterations=1)
    loop.run_until_complete(ses.close())
    loop.close()
    asyncio.set_event_loop(None)


@pytest.mark.parametrize("variant", ["as-built", "no-emulation-check", "no-issue7-layer"])
def test_fetch_emulation_off(benchmark: Any, fast_server: str, variant: str) -> None:
    benchmark.group = f"fetch 1 KiB x{REQUESTS} at {CONCURRENCY} concurrent, emulation off"
    run_fetches(benchmark, fast_server, variant)
