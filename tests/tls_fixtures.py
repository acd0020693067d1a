"""Loopback TLS servers with chosen certificates and TLS versions for the TLS/auth tests."""

from __future__ import annotations

import datetime
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def peers_app(peers: list[Any]) -> web.Application:
    """An app answering ``ok`` that records the client's (address, port) of every request."""
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername")[:2])
        return web.Response(text="ok")

    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def context_for(pem_cert: bytes, pem_key: bytes, *, minimum: ssl.TLSVersion | None = None,
                maximum: ssl.TLSVersion | None = None, ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp) / "c.pem", Path(tmp) / "k.pem"
        cert_file.write_bytes(pem_cert)
        key_file.write_bytes(pem_key)
        ctx.load_cert_chain(str(cert_file), str(key_file))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def leaf_context(leaf: trustme.LeafCert, **kwargs: Any) -> ssl.SSLContext:
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return context_for(chain, leaf.private_key_pem.bytes(), **kwargs)


def self_signed(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A self-signed certificate for the IP ``host`` and its key, both PEM."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self signed"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "websession tests")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.fixture
async def serve_tls() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``await serve_tls(app, ssl_context)`` → ``https://127.0.0.1:PORT``."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application, context: ssl.SSLContext | None) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"{'https' if context is not None else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def threaded_tls() -> Any:
    """``threaded_tls(ssl_context, peers)`` → URL of a blocking HTTPS server in a thread.

    Its handshakes run on blocking sockets, so a refused handshake reaches the client as the
    TLS alert the server sends (an asyncio server drops the connection without flushing it).
    """
    import http.server
    import threading

    servers: list[http.server.ThreadingHTTPServer] = []

    def start(context: ssl.SSLContext, peers: list[Any] | None = None) -> str:
        seen = peers if peers is not None else []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen.append(self.client_address[:2])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> Any:
                sock, address = self.socket.accept()
                return context.wrap_socket(sock, server_side=True,
                                           do_handshake_on_connect=False), address

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    return
                super().finish_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


__all__ = ["context_for", "leaf_context", "peers_app", "self_signed", "serve_tls", "threaded_tls"]
