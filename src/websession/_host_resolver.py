"""The session's host resolver and host cache (``ses.resolve_host``, and every connection).

Sources follow ``net::HostResolverSource``: ``system`` asks getaddrinfo, ``dns`` a real DNS
client (pycares through aiodns) against the configured nameservers honouring record TTLs,
``localOnly`` answers only from IP literals, localhost names, the hosts file and the cache (it
never sends a packet), ``any`` is ``dns`` when nameservers are configured and ``system``
otherwise, ``mdns`` is refused with a net error (multicast DNS would leave the machine).

The cache is keyed by (host, query type); entries carry an expiry from the DNS TTLs (60 s for
getaddrinfo answers, as Chromium's ``kCacheEntryTTLSeconds``), and the cache holds at most
``max_entries`` entries (expired ones are evicted first, then the least recently stored).
``HostResolver`` is also an ``aiohttp.abc.AbstractResolver`` so the transport's connector
resolves through the same cache.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from ._errors import NetError
from ._structures import Structure, structure

SOURCES = ("any", "system", "dns", "mdns", "localOnly")
CACHE_USAGES = ("allowed", "staleAllowed", "disallowed")
QUERY_TYPES = ("A", "AAAA")
SECURE_DNS_POLICIES = ("allow", "disable")

SYSTEM_TTL = 60.0
DEFAULT_MAX_ENTRIES = 1000
HOSTS_FILE = Path("/etc/hosts")


@structure
class ResolvedEndpoint(Structure):
    """One address of a resolved host: ``address`` (no brackets) and ``family``."""

    address: str
    family: str


@structure
class ResolvedHost(Structure):
    """What ``resolve_host`` returns: the host's endpoints."""

    endpoints: tuple[ResolvedEndpoint, ...]


@dataclass(slots=True)
class _Entry:
    addresses: tuple[str, ...]
    error: int
    expires: float
    source: str


def _family(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def _wanted(query_type: str | None, address: str) -> bool:
    if query_type is None:
        return True
    return (query_type == "AAAA") == (":" in address)


def _is_localhost_name(host: str) -> bool:
    # net/base/url_util.cc IsLocalHostname
    name = host.removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def _literal(host: str) -> str | None:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return None


def read_hosts_file(path: Path) -> dict[str, tuple[str, ...]]:
    """Parse a hosts file into name -> addresses (first occurrences first)."""
    table: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split()  # type: ignore[assignment]
        if len(line) < 2:
            continue
        address = _literal(line[0])
        if address is None:
            continue
        for name in line[1:]:
            found = table.setdefault(name.lower(), [])
            if address not in found:
                found.append(address)
    return {k: tuple(v) for k, v in table.items()}


class HostResolver(AbstractResolver):
    """The session's resolver: cache, hosts file, getaddrinfo and a DNS client."""

    def __init__(self, *, nameservers: Sequence[str] | None = None,
                 max_entries: int = DEFAULT_MAX_ENTRIES, hosts_file: Path | None = HOSTS_FILE,
                 timeout: float = 5.0, tries: int = 2) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._cache: OrderedDict[tuple[str, str | None], _Entry] = OrderedDict()
        self.max_entries = max_entries
        self._nameservers: list[str] = list(nameservers or ())
        self._timeout = timeout
        self._tries = tries
        self._hosts_path = hosts_file
        self._hosts: dict[str, tuple[str, ...]] | None = None
        self._hosts_mtime: float | None = None
        self.queries_sent = 0
        self.clock = time.monotonic

    # -- configuration -------------------------------------------------------------------------

    @property
    def nameservers(self) -> list[str]:
        """The DNS servers the ``dns`` source asks (``"ip"`` or ``"ip:port"``)."""
        return list(self._nameservers)

    def set_nameservers(self, nameservers: Sequence[str]) -> None:
        """Use these DNS servers from now on (an empty list means: getaddrinfo for ``any``)."""
        for server in nameservers:
            if not isinstance(server, str) or not server:
                raise TypeError("nameservers: each server must be a non-empty string")
        self._nameservers = list(nameservers)

    # -- cache ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Empty the host cache."""
        self._cache.clear()

    def _store(self, key: tuple[str, str | None], entry: _Entry) -> None:
        cache = self._cache
        cache[key] = entry
        cache.move_to_end(key)
        if len(cache) > self.max_entries:
            now = self.clock()
            for stale_key in [k for k, v in cache.items() if v.expires <= now]:
                del cache[stale_key]
            while len(cache) > self.max_entries:
                cache.popitem(last=False)

    def cached(self, host: str, query_type: str | None = None, *,
               stale_allowed: bool = False) -> tuple[str, ...] | None:
        """Return cached addresses for ``host`` without any I/O, or None on a miss.

        A cached failure raises its :class:`NetError`.
        """
        entry = self._cache.get((host, query_type))
        if entry is None or (not stale_allowed and entry.expires <= self.clock()):
            return None
        if entry.error:
            raise NetError(entry.error)
        return entry.addresses

    # -- resolution ----------------------------------------------------------------------------

    def _local(self, host: str, query_type: str | None) -> tuple[str, ...] | None:
        literal = _literal(host)
        if literal is not None:
            if not _wanted(query_type, literal):
                raise NetError("ERR_NAME_NOT_RESOLVED")
            return (literal,)
        if _is_localhost_name(host):
            # HostResolverManager::ResolveLocalHostname
            found = tuple(a for a in ("::1", "127.0.0.1") if _wanted(query_type, a))
            return found
        return None

    def _from_hosts(self, host: str, query_type: str | None) -> tuple[str, ...] | None:
        path = self._hosts_path
        if path is None:
            return None
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        if self._hosts is None or mtime != self._hosts_mtime:
            self._hosts = read_hosts_file(path)
            self._hosts_mtime = mtime
        found = self._hosts.get(host)
        if not found:
            return None
        wanted = tuple(a for a in found if _wanted(query_type, a))
        return wanted or None

    async def resolve_host(self, host: str, *, query_type: str | None = None,
                           source: str = "any", cache_usage: str = "allowed",
                           secure_dns_policy: str = "allow") -> ResolvedHost:
        """Resolve ``host`` (``ses.resolveHost``); failures raise :class:`NetError`."""
        addresses = await self.lookup(host, query_type=query_type, source=source,
                                      cache_usage=cache_usage)
        return ResolvedHost(tuple(ResolvedEndpoint(a, _family(a)) for a in addresses))

    async def lookup(self, host: str, *, query_type: str | None = None, source: str = "any",
                     cache_usage: str = "allowed") -> tuple[str, ...]:
        """Return the addresses of ``host`` (IPv6 first as getaddrinfo orders them)."""
        if not isinstance(host, str) or not host:
            raise NetError("ERR_NAME_NOT_RESOLVED")
        host = host.lower()
        if query_type not in (None, *QUERY_TYPES):
            query_type = None
        if source not in SOURCES:
            source = "any"
        if cache_usage not in CACHE_USAGES:
            cache_usage = "allowed"
        local = self._local(host, query_type)
        if local is not None:
            if not local:
                raise NetError("ERR_NAME_NOT_RESOLVED")
            return local
        key = (host, query_type)
        if cache_usage != "disallowed":
            hit = self.cached(host, query_type, stale_allowed=cache_usage == "staleAllowed")
            if hit is not None:
                return hit
        if source != "system":
            from_hosts = self._from_hosts(host, query_type)
            if from_hosts is not None:
                return from_hosts
        if source == "localOnly":
            raise NetError("ERR_DNS_CACHE_MISS")
        if source == "mdns":
            raise NetError("ERR_NOT_IMPLEMENTED",
                           "multicast DNS is not available: it would send packets off this host")
        if source == "dns" or (source == "any" and self._nameservers):
            entry = await self._query_dns(host, query_type)
        else:
            entry = await self._query_system(host, query_type)
        if entry.expires > self.clock():
            self._store(key, entry)
        if entry.error:
            raise NetError(entry.error)
        return entry.addresses

    async def _query_system(self, host: str, query_type: str | None) -> _Entry:
        family = {"A": socket.AF_INET, "AAAA": socket.AF_INET6}.get(query_type or "", 0)
        loop = asyncio.get_running_loop()
        self.queries_sent += 1
        try:
            infos = await loop.getaddrinfo(host, None, family=family, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            # Chromium does not cache failures of the system resolver (TTL 0).
            return _Entry((), NetError("ERR_NAME_NOT_RESOLVED").code, 0.0, f"system: {exc}")
        seen: list[str] = []
        for info in infos:
            address = str(info[4][0]).split("%", 1)[0]
            if address not in seen:
                seen.append(address)
        if not seen:
            return _Entry((), NetError("ERR_NAME_NOT_RESOLVED").code, 0.0, "system")
        return _Entry(tuple(seen), 0, self.clock() + SYSTEM_TTL, "system")

    def _client(self) -> Any:
        # A channel per query: c-ares keeps its own answer cache per channel, and the session's
        # cache (with its clock, clear() and cacheUsage) must be the only one.
        import aiodns

        if not self._nameservers:
            raise NetError("ERR_NAME_NOT_RESOLVED", "no DNS nameservers are configured")
        return aiodns.DNSResolver(nameservers=self._nameservers, timeout=self._timeout,
                                  tries=self._tries)

    async def _query_dns(self, host: str, query_type: str | None) -> _Entry:
        import aiodns

        client = self._client()
        qtypes = [query_type] if query_type else ["AAAA", "A"]
        addresses: list[str] = []
        ttl: float | None = None
        failure: str | None = None

        async def one(qtype: str) -> Any:
            self.queries_sent += 1
            return await client.query_dns(host, qtype)

        try:
            results = await asyncio.gather(*(one(q) for q in qtypes), return_exceptions=True)
        finally:
            await client.close()
        for qtype, result in zip(qtypes, results):
            if isinstance(result, BaseException):
                if not isinstance(result, aiodns.error.DNSError):
                    raise result
                code = result.args[0] if result.args else 0
                failure = ("ERR_NAME_NOT_RESOLVED" if code in (1, 4) else
                           "ERR_DNS_TIMED_OUT" if code == 12 else "ERR_NAME_NOT_RESOLVED")
                continue
            wanted = 1 if qtype == "A" else 28
            for record in result.answer:
                if record.type == wanted:
                    addresses.append(str(record.data.addr))
                    ttl = record.ttl if ttl is None else min(ttl, record.ttl)
        if addresses:
            return _Entry(tuple(dict.fromkeys(addresses)), 0, self.clock() + (ttl or 0), "dns")
        # c-ares reports NXDOMAIN/NODATA without the SOA, so failures are not cached.
        code = NetError(failure or "ERR_NAME_NOT_RESOLVED").code
        return _Entry((), code, 0.0, "dns")

    # -- aiohttp.abc.AbstractResolver ----------------------------------------------------------

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Resolve for aiohttp's connector through the session cache."""
        query_type = {socket.AF_INET: "A", socket.AF_INET6: "AAAA"}.get(family)
        try:
            addresses = self.cached(host.lower(), query_type)
            if addresses is None:
                addresses = await self.lookup(host, query_type=query_type)
        except NetError as exc:
            raise OSError(socket.EAI_NONAME, exc.name) from exc
        return [
            ResolveResult(hostname=host, host=a,
                          port=port, family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
            for a in addresses
        ]

    async def close(self) -> None:
        """Forget the cache (each DNS query has its own channel, closed after it)."""
        self._cache.clear()
