"""Real loopback servers for the proxy and DNS tests: pproxy processes and a dnslib DNS server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

# pproxy's own entry point picks uvloop and then asks for a loop that does not exist yet;
# this runs its server with the standard loop.
_PPROXY = (
    "import sys; sys.modules['uvloop'] = None\n"
    "from pproxy.server import main\n"
    "sys.argv = ['pproxy'] + sys.argv[1:]\n"
    "main()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ProxyProcess:
    """A pproxy server in its own process; ``lines`` are its "proto client -> host:port" logs."""

    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def connections(self) -> list[str]:
        """Return the destinations this proxy connected to (``host:port``)."""
        return [line.split(" -> ", 1)[1] for line in self.lines if " -> " in line]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def pproxy(tmp_path: Path, tls_ca: trustme.CA) -> Iterator[object]:
    """Start pproxy servers: ``pproxy("http+socks4+socks5")`` or ``pproxy("http", tls=True)``."""
    started: list[ProxyProcess] = []

    def start(protocols: str, *, tls: bool = False, auth: str | None = None) -> ProxyProcess:
        port = free_port()
        args = [sys.executable, "-u", "-c", _PPROXY, "-l"]
        if tls:
            cert = tls_ca.issue_cert("127.0.0.1", "localhost")
            cert_file = tmp_path / f"proxy-{port}.pem"
            key_file = tmp_path / f"proxy-{port}.key"
            cert.cert_chain_pems[0].write_to_path(str(cert_file))
            cert.private_key_pem.write_to_path(str(key_file))
            args += [f"{protocols}+ssl://127.0.0.1:{port}", "--ssl", f"{cert_file},{key_file}"]
        else:
            args += [f"{protocols}://127.0.0.1:{port}"]
        if auth is not None:
            args[-1] += "#" + auth  # pproxy reads credentials from the URI's fragment
        args.append("-v")
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        proxy = ProxyProcess(port, process)
        threading.Thread(target=proxy._pump, daemon=True).start()
        started.append(proxy)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("pproxy exited: " + "\n".join(proxy.lines))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return proxy
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("pproxy did not start")

    yield start
    for proxy in started:
        proxy.kill()


# ----------------------------------------------------------------------------- DNS


@dataclass
class DnsServer:
    """A DNS server on 127.0.0.1 answering from ``records`` {(name, "A"|"AAAA"): (addresses, ttl)}."""

    records: dict[tuple[str, str], tuple[list[str], int]]
    port: int = 0
    queries: list[tuple[str, str]] = field(default_factory=list)
    server: object = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    from dnslib import AAAA, QTYPE, RCODE, RR, SOA, A
    from dnslib.server import BaseResolver, DNSLogger
    from dnslib.server import DNSServer as LibServer

    state = DnsServer(records={})

    class Resolver(BaseResolver):  # type: ignore[misc]
        def resolve(self, request, handler):  # type: ignore[no-untyped-def]
            reply = request.reply()
            q = request.q
            name = str(q.qname).rstrip(".").lower()
            qtype = QTYPE[q.qtype]
            state.queries.append((name, qtype))
            found = state.records.get((name, qtype))
            if found is not None:
                addresses, ttl = found
                for address in addresses:
                    rdata = A(address) if qtype == "A" else AAAA(address)
                    reply.add_answer(RR(q.qname, q.qtype, rdata=rdata, ttl=ttl))
            elif any(key[0] == name for key in state.records):
                pass  # NODATA: the name exists with other types
            else:
                reply.header.rcode = RCODE.NXDOMAIN
                reply.add_auth(RR("test.", QTYPE.SOA, ttl=30,
                                  rdata=SOA("ns.test.", "admin.test.", (1, 60, 60, 60, 30))))
            return reply

    server = LibServer(Resolver(), port=0, address="127.0.0.1",
                       logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data",
                                        prefix=False))
    server.start_thread()
    state.port = server.server.server_address[1]
    state.server = server
    yield state
    server.stop()


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``predicate()`` is true (log lines arrive from another process)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


__all__ = [
    "AsyncIterator",
    "DnsServer",
    "ProxyProcess",
    "dns_server",
    "free_port",
    "pproxy",
    "wait_for",
]
