"""Proxy and DNS hot paths: bypass matching (compiled vs twin vs an fnmatch loop), PAC evaluation
per URL, a host-cache hit vs getaddrinfo, and a loopback fetch direct vs through a real proxy.

Run: ``python -m pytest benchmarks/test_proxy_benchmarks.py --benchmark-only
--benchmark-columns=median,ops,rounds``. Benchmarks marked "per BATCH" do ``BATCH`` operations
per call: divide their medians by ``BATCH``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from websession import _bypass_c, _bypass_py
from websession._host_resolver import HostResolver
from websession._pac import PacEngine
from websession._proxy_connect import ProxyConnectState, send_via
from websession._proxy_rules import ProxyBypassRules, ProxyServer

BATCH = 100


def _rule_text() -> str:
    rules = []
    for i in range(600):
        rules.append(f"*.domain{i}.example")
    for i in range(300):
        rules.append(f"host{i}.example.org")
    for i in range(50):
        rules.append(f"https://a{i}*b?.glob.test:8443")
    for i in range(50):
        rules.append(f"10.{i}.0.0/16")
    return ",".join(rules)


RULES = _rule_text()
HOSTS = [("http", "www.domain599.example", 80), ("https", "nomatch.elsewhere.net", 443),
         ("http", "host150.example.org", 80), ("https", "10.49.3.4", 443)]


@pytest.fixture(scope="module", params=["c", "python"])
def matcher(request: pytest.FixtureRequest) -> Any:
    core = _bypass_c if request.param == "c" else _bypass_py
    rules = ProxyBypassRules.parse(RULES, core=core)
    assert len(rules) == 1000
    return request.param, rules._matcher


def test_bypass_match_1000_rules(benchmark: Any, matcher: Any) -> None:
    """One call = 4 hosts (a suffix hit, a miss, an exact hit, a CIDR hit) against 1,000 rules."""
    name, m = matcher
    benchmark.group = "bypass: 4 URLs x 1,000 rules"
    benchmark.name = f"bypass[{name}]"
    match = m.matches
    results = benchmark(lambda: [match(s, h, p) for s, h, p in HOSTS])
    assert results == [True, False, True, True]


def test_bypass_match_fnmatch_loop(benchmark: Any) -> None:
    """The peer: what a Python program would write, an fnmatch loop over the rule list."""
    patterns = [r.split("://")[-1].split(":")[0].lower() for r in RULES.split(",")]
    compiled = [fnmatch.translate(p) for p in patterns if "/" not in p]
    import re

    regexes = [re.compile(p) for p in compiled]
    benchmark.group = "bypass: 4 URLs x 1,000 rules"
    benchmark.name = "bypass[fnmatch loop]"

    def run() -> list[bool]:
        return [any(r.match(h) for r in regexes) for _, h, _ in HOSTS]

    benchmark(run)


def test_bypass_url_parse_and_match(benchmark: Any) -> None:
    """A full ``ProxyBypassRules.matches(url)``: URL split and host canonicalisation included."""
    rules = ProxyBypassRules.parse(RULES, core=_bypass_c)
    benchmark.group = "bypass: whole URL"
    benchmark.name = "bypass-url[c]"
    benchmark(lambda: rules.matches("http://www.domain599.example/path?q=1"))


# ----------------------------------------------------------------------------- PAC

PAC = """
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.example")) return "DIRECT";
  if (shExpMatch(url, "*://*.cdn.example/*")) return "PROXY cdn-proxy:3128; DIRECT";
  if (host.substring(0, 4) == "api.") return "HTTPS api-proxy:443";
  return "PROXY proxy1:8080; PROXY proxy2:8080; DIRECT";
}
"""


@pytest.fixture(scope="module")
def pac_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, PacEngine]]:
    loop = asyncio.new_event_loop()
    engine = PacEngine(PAC)
    loop.run_until_complete(engine.load())
    yield loop, engine
    engine.close()
    loop.close()


def test_pac_per_url(benchmark: Any, pac_loop: Any) -> None:
    """One ``FindProxyForURL`` per call through the engine's thread (what resolve_proxy pays)."""
    loop, engine = pac_loop
    benchmark.group = "PAC: one URL"
    benchmark.name = "pac[find_proxy, async]"
    result = benchmark(lambda: loop.run_until_complete(
        engine.find_proxy("http://www.example.com/a", "www.example.com")))
    assert result.result.startswith("PROXY proxy1")


def test_pac_per_url_in_engine(benchmark: Any, pac_loop: Any) -> None:
    """The JavaScript part alone: the run on the engine thread without the asyncio hop."""
    _loop, engine = pac_loop
    benchmark.group = "PAC: one URL"
    benchmark.name = "pac[QuickJS run only]"
    executor = engine._executor

    def run() -> dict[str, Any]:
        return executor.submit(engine._run, "http://www.example.com/a", "www.example.com",
                               {}).result()

    assert "result" in benchmark(run)


# ----------------------------------------------------------------------------- host cache


@pytest.fixture(scope="module")
def warm_resolver() -> HostResolver:
    resolver = HostResolver(hosts_file=None)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(resolver.lookup(socket.gethostname(), source="system"))
    loop.close()
    return resolver


def test_host_cache_hit(benchmark: Any, warm_resolver: HostResolver) -> None:
    """A host-cache hit (what the connector asks before every new connection)."""
    name = socket.gethostname().lower()
    benchmark.group = "host resolution: one lookup"
    benchmark.name = "host-cache hit"
    assert benchmark(warm_resolver.cached, name, None)


def test_host_cache_hit_async(benchmark: Any, warm_resolver: HostResolver) -> None:
    """The same hit through aiohttp's ``AbstractResolver.resolve`` (per BATCH)."""
    name = socket.gethostname()
    loop = asyncio.new_event_loop()
    benchmark.group = "host resolution: BATCH lookups"
    benchmark.name = "resolver.resolve (cache hit) x BATCH"

    async def run() -> None:
        for _ in range(BATCH):
            await warm_resolver.resolve(name, 0, 0)  # type: ignore[arg-type]

    benchmark(lambda: loop.run_until_complete(run()))
    loop.close()


def test_getaddrinfo(benchmark: Any) -> None:
    """The peer: the system resolver (getaddrinfo, hosts file) for the same name."""
    name = socket.gethostname()
    benchmark.group = "host resolution: one lookup"
    benchmark.name = "getaddrinfo"
    benchmark(socket.getaddrinfo, name, None, 0, socket.SOCK_STREAM)


# ----------------------------------------------------------------------------- proxying


@pytest.fixture(scope="module")
def origin_and_proxy() -> Iterator[tuple[str, int]]:
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    info: dict[str, Any] = {}

    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1024)

    async def start() -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        info["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner

    def serve() -> None:
        asyncio.set_event_loop(loop)
        info["runner"] = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        proxy_port = s.getsockname()[1]
    code = ("import sys; sys.modules['uvloop'] = None\nfrom pproxy.server import main\n"
            "sys.argv = ['pproxy'] + sys.argv[1:]\nmain()\n")
    process = subprocess.Popen([sys.executable, "-c", code, "-l", f"http://127.0.0.1:{proxy_port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", proxy_port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"http://127.0.0.1:{info['port']}/", proxy_port
    process.kill()
    process.wait()
    loop.call_soon_threadsafe(loop.stop)


@pytest.mark.parametrize("route", ["direct", "http-proxy"])
def test_loopback_fetch(benchmark: Any, origin_and_proxy: tuple[str, int], route: str) -> None:
    """BATCH keep-alive GETs of 1 KiB from a loopback origin, direct or through pproxy."""
    url, proxy_port = origin_and_proxy
    loop = asyncio.new_event_loop()
    state = ProxyConnectState()
    proxies = ([ProxyServer("direct")] if route == "direct"
               else [ProxyServer("http", "127.0.0.1", proxy_port)])

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    client = loop.run_until_complete(make())

    async def run() -> None:
        for _ in range(BATCH):
            response = await send_via(client, proxies, "GET", url, state=state)
            await response.read()

    loop.run_until_complete(run())
    benchmark.group = "fetch: BATCH loopback GETs"
    benchmark.name = f"fetch[{route}] x BATCH"
    benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=15, warmup_rounds=1)
    loop.run_until_complete(client.close())
    loop.close()


# -- what proxying costs the client ----------------------------------------------------------
# The uvloop server of ``fast_server`` answers absolute-form requests too, so pointing the
# session's proxy rules at it measures the client's own proxying work (proxy resolution,
# absolute-form requests, the proxy connection pool) without a proxy process's hop. The pproxy
# rows above show what a real userspace proxy adds on top.

SEQUENTIAL = 500


@pytest.mark.parametrize("route", ["direct", "proxy"])
def test_session_fetch_through_proxy_rules(benchmark: Any, fast_server: str, route: str) -> None:
    from websession import session

    loop = asyncio.new_event_loop()
    ses = session.from_partition(f"proxy-bench-{route}", cache=False)
    if route == "proxy":
        port = fast_server.rsplit(":", 1)[1]
        loop.run_until_complete(ses.set_proxy(proxy_rules=f"http://127.0.0.1:{port}",
                                              proxy_bypass_rules="<-loopback>"))
        assert loop.run_until_complete(ses.resolve_proxy(fast_server)) == f"PROXY 127.0.0.1:{port}"

    async def run() -> None:
        for _ in range(SEQUENTIAL):
            response = await ses.fetch(fast_server + "/")
            await response.read()

    loop.run_until_complete(run())
    benchmark.group = f"session fetch: {SEQUENTIAL} sequential GETs, direct vs proxied"
    benchmark.pedantic(lambda: loop.run_until_complete(run()), rounds=9, warmup_rounds=1)
    loop.run_until_complete(ses.close())
    loop.close()


def test_proxy_overhead_alternating(benchmark: Any, fast_server: str) -> None:
    """Direct and proxied rounds alternated in one loop; ``extra_info["overhead"]`` is robust to load."""
    import statistics

    from websession import session

    loop = asyncio.new_event_loop()
    port = fast_server.rsplit(":", 1)[1]
    direct = session.from_partition("proxy-bench-alt-direct", cache=False)
    proxied = session.from_partition("proxy-bench-alt-proxy", cache=False)
    loop.run_until_complete(proxied.set_proxy(proxy_rules=f"http://127.0.0.1:{port}",
                                              proxy_bypass_rules="<-loopback>"))
    times: dict[str, list[float]] = {"direct": [], "proxy": []}

    async def timed(ses: Any) -> float:
        started = loop.time()
        for _ in range(SEQUENTIAL):
            response = await ses.fetch(fast_server + "/")
            await response.read()
        return loop.time() - started

    def pair() -> None:
        times["direct"].append(loop.run_until_complete(timed(direct)))
        times["proxy"].append(loop.run_until_complete(timed(proxied)))

    pair()
    times = {"direct": [], "proxy": []}
    benchmark.group = f"session fetch: {SEQUENTIAL} sequential GETs, direct vs proxied (alternating)"
    benchmark.pedantic(pair, rounds=10, iterations=1)
    overhead = statistics.median(times["proxy"]) / statistics.median(times["direct"]) - 1
    benchmark.extra_info["overhead"] = round(overhead, 3)
    print(f"\nproxying adds {overhead:.1%} to loopback fetch latency (client side)")
    for ses in (direct, proxied):
        loop.run_until_complete(ses.close())
    loop.close()
