"""Fixtures shared by the whole suite: both core implementations, loopback servers, TLS."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trustme
from aiohttp import web

from pathlib import Path

from support import CORPORA, IMPLEMENTATIONS


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    """Run a test once on the pure-Python twins and once on the compiled cores."""
    return str(request.param)


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.fail(f"the conformance corpora are missing: expected {CORPORA} (../shared beside the repo)")
    return CORPORA


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    cert = tls_ca.issue_cert("localhost", "127.0.0.1", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
async def serve(
    tls_server_context: ssl.SSLContext,
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Start aiohttp apps on 127.0.0.1; ``await serve(app, tls=False)`` returns the base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application, *, tls: bool = False, host: str = "127.0.0.1") -> str:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, host, 0, ssl_context=tls_server_context if tls else None)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        scheme = "https" if tls else "http"
        return f"{scheme}://{host if ':' not in host else f'[{host}]'}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(scope="session")
def tls_client_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (what a system trust store would hold)."""
    ctx = ssl.create_default_context()
    tls_ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="session", autouse=True)
def user_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep every persistent session of the suite under a temporary user data root."""
    import websession

    root = tmp_path_factory.mktemp("user-data")
    websession.set_user_data_path(root)
    return root


_partition_counter = itertools.count()


@pytest.fixture
def partition_name(request: pytest.FixtureRequest) -> str:
    """A partition name no other test uses."""
    return f"test-{next(_partition_counter)}-{request.node.name[:40]}"


@pytest.fixture
async def ses(
    implementation: str, partition_name: str, tls_client_context: ssl.SSLContext
) -> AsyncIterator[Any]:
    """A fresh in-memory session on one core implementation, trusting the test CA."""
    from websession import _impl, session

    previous = _impl.implementation()
    _impl.use(implementation)
    created = session.from_partition(partition_name)
    created._transport.ssl_context = tls_client_context
    try:
        yield created
    finally:
        await created.close()
        _impl.use(previous)
