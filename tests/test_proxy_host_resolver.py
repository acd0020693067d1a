"""The session host resolver and cache against a real DNS server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from proxy_fixtures import DnsServer, dns_server  # noqa: F401 - fixture

from websession._errors import NetError
from websession._host_resolver import HostResolver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _resolver(dns: DnsServer, **kwargs: object) -> tuple[HostResolver, Clock]:
    resolver = HostResolver(nameservers=[dns.address], hosts_file=None, timeout=2, tries=1,
                            **kwargs)  # type: ignore[arg-type]
    clock = Clock()
    resolver.clock = clock
    return resolver, clock


async def test_dns_source_and_ttl(dns_server: DnsServer) -> None:  # noqa: F811
    dns_server.records[("a.test", "A")] = (["10.1.2.3"], 5)
    dns_server.records[("a.test", "AAAA")] = (["fd00::1"], 9)
    resolver, clock = _resolver(dns_server)
    host = await resolver.resolve_host("a.test", source="dns")
    assert host.to_dict() == {"endpoints": [{"address": "fd00::1", "family": "ipv6"},
                                            {"address": "10.1.2.3", "family": "ipv4"}]}
    assert len(dns_server.queries) == 2
    v4 = await resolver.resolve_host("a.test", query_type="A")
    assert [e.address for e in v4.endpoints] == ["10.1.2.3"]
    assert len(dns_server.queries) == 3
    # Cached until the shortest TTL runs out.
    await resolver.resolve_host("a.test")
    assert len(dns_server.queries) == 3
    clock.now += 6
    await resolver.resolve_host("a.test")
    assert len(dns_server.queries) == 5


async def test_cache_usage(dns_server: DnsServer) -> None:  # noqa: F811
    dns_server.records[("b.test", "A")] = (["10.0.0.2"], 2)
    resolver, clock = _resolver(dns_server)
    await resolver.resolve_host("b.test", query_type="A")
    assert len(dns_server.queries) == 1
    await resolver.resolve_host("b.test", query_type="A", cache_usage="disallowed")
    assert len(dns_server.queries) == 2
    clock.now += 10
    dns_server.records[("b.test", "A")] = (["10.0.0.3"], 2)
    stale = await resolver.resolve_host("b.test", query_type="A", cache_usage="staleAllowed")
    assert stale.endpoints[0].address == "10.0.0.2"
    assert len(dns_server.queries) == 2
    fresh = await resolver.resolve_host("b.test", query_type="A")
    assert fresh.endpoints[0].address == "10.0.0.3"
    assert len(dns_server.queries) == 3


async def test_local_only_never_sends_a_packet(dns_server: DnsServer, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    hosts = tmp_path / "hosts"
    hosts.write_text("10.9.9.9 fromhosts.test alias.test\n# comment\n::2 fromhosts.test\n")
    dns_server.records[("c.test", "A")] = (["10.0.0.4"], 60)
    resolver = HostResolver(nameservers=[dns_server.address], hosts_file=hosts, timeout=2)
    with pytest.raises(NetError) as info:
        await resolver.resolve_host("c.test", source="localOnly")
    assert str(info.value) == "net::ERR_DNS_CACHE_MISS"
    assert dns_server.queries == []
    for literal, family in (("127.0.0.1", "ipv4"), ("::1", "ipv6"), ("[::1]", "ipv6")):
        got = await resolver.resolve_host(literal, source="localOnly")
        assert got.endpoints[0].family == family
    localhost = await resolver.resolve_host("localhost", source="localOnly")
    assert {e.address for e in localhost.endpoints} == {"127.0.0.1", "::1"}
    assert [e.address for e in (await resolver.resolve_host("alias.test", source="localOnly")).endpoints] == ["10.9.9.9"]
    v6 = await resolver.resolve_host("fromhosts.test", source="localOnly", query_type="AAAA")
    assert v6.endpoints[0].address == "::2"
    await resolver.resolve_host("c.test", query_type="A")
    assert len(dns_server.queries) == 1
    cached = await resolver.resolve_host("c.test", source="localOnly", query_type="A")
    assert cached.endpoints[0].address == "10.0.0.4"
    assert len(dns_server.queries) == 1
    resolver.clear()
    with pytest.raises(NetError):
        await resolver.resolve_host("c.test", source="localOnly", query_type="A")
    await resolver.resolve_host("c.test", query_type="A")
    assert len(dns_server.queries) == 2


async def test_errors(dns_server: DnsServer) -> None:  # noqa: F811
    # Electron's spec environment: ipv4.localhost2 has only an A record.
    dns_server.records[("ipv4.localhost2", "A")] = (["10.0.0.1"], 60)
    dns_server.records[("ipv6.localhost2", "AAAA")] = (["::1"], 60)
    resolver, _ = _resolver(dns_server)
    got = await resolver.resolve_host("ipv4.localhost2", query_type="A")
    assert got.to_dict() == {"endpoints": [{"address": "10.0.0.1", "family": "ipv4"}]}
    with pytest.raises(NetError) as info:
        await resolver.resolve_host("ipv4.localhost2", query_type="AAAA")
    assert str(info.value) == "net::ERR_NAME_NOT_RESOLVED"
    got = await resolver.resolve_host("ipv6.localhost2")
    assert got.to_dict() == {"endpoints": [{"address": "::1", "family": "ipv6"}]}
    with pytest.raises(NetError) as info:
        await resolver.resolve_host("notfound.localhost2")
    assert info.value.name == "net::ERR_NAME_NOT_RESOLVED"
    # Failures are not cached: the next lookup asks again.
    count = len(dns_server.queries)
    with pytest.raises(NetError):
        await resolver.resolve_host("notfound.localhost2")
    assert len(dns_server.queries) > count
    with pytest.raises(NetError) as info:
        await resolver.resolve_host("x.local", source="mdns")
    assert info.value.name == "net::ERR_NOT_IMPLEMENTED"
    with pytest.raises(NetError):
        await resolver.resolve_host("127.0.0.1", query_type="AAAA")
    # Unknown option values are ignored, as Electron does.
    got = await resolver.resolve_host("ipv4.localhost2", query_type="MX", source="bogus",
                                      cache_usage="never")
    assert got.endpoints[0].address == "10.0.0.1"


async def test_size_bound(dns_server: DnsServer) -> None:  # noqa: F811
    for i in range(6):
        dns_server.records[(f"n{i}.test", "A")] = ([f"10.0.1.{i}"], 300)
    resolver, _ = _resolver(dns_server, max_entries=3)
    for i in range(6):
        await resolver.resolve_host(f"n{i}.test", query_type="A")
    assert len(resolver) == 3
    assert resolver.cached("n5.test", "A") == ("10.0.1.5",)
    assert resolver.cached("n0.test", "A") is None


async def test_system_source() -> None:
    resolver = HostResolver(hosts_file=None)
    name = socket.gethostname()
    try:
        expected = {i[4][0] for i in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip("this machine's host name does not resolve")
    got = await resolver.resolve_host(name, source="system")
    assert {e.address for e in got.endpoints} == expected
    before = resolver.queries_sent
    await resolver.resolve_host(name, source="system")
    assert resolver.queries_sent == before  # cached for 60 s
    with pytest.raises(NetError):
        await resolver.resolve_host("name-that-does-not-exist.invalid", source="system")


async def test_aiohttp_connector_uses_the_cache(dns_server: DnsServer, serve) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import aiohttp
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    base = await serve(app)
    port = base.rsplit(":", 1)[1]
    dns_server.records[("target.test", "A")] = (["127.0.0.1"], 300)
    resolver, _ = _resolver(dns_server)
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as client:
        for _ in range(3):
            async with client.get(f"http://target.test:{port}/") as response:
                assert await response.text() == "hi"
    assert dns_server.queries.count(("target.test", "A")) == 1
    with pytest.raises(aiohttp.ClientConnectorDNSError):
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)) as client:
            await client.get(f"http://missing.test:{port}/")
