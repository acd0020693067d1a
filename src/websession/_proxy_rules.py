"""Chromium's proxy configuration grammar: proxy servers, lists, ``proxyRules``, ``proxyBypassRules``.

Parsing follows ``net/base/proxy_string_util.cc`` (proxy URIs and PAC result elements),
``net/proxy_resolution/proxy_config.cc`` (``ProxyRules::ParseFromString`` / ``Apply``),
``net/proxy_resolution/proxy_bypass_rules.cc`` and ``net/base/scheme_host_port_matcher_rule.cc``
(bypass rules). Matching of bypass rules runs in the ``bypass`` core (compiled or twin).
Hosts are canonicalised as GURL does (lower case, IDNA, IPv4 number forms, IPv6 compression).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import unquote_to_bytes

from . import _impl

# ProxyServer schemes (net/base/proxy_server.h), named as in proxy URIs.
DIRECT = "direct"
HTTP = "http"
HTTPS = "https"
SOCKS4 = "socks4"
SOCKS5 = "socks5"
QUIC = "quic"

_DEFAULT_PORTS = {HTTP: 80, HTTPS: 443, SOCKS4: 1080, SOCKS5: 1080, QUIC: 443}
_PAC_TYPES = {HTTP: "PROXY", HTTPS: "HTTPS", SOCKS4: "SOCKS", SOCKS5: "SOCKS5", QUIC: "QUIC"}
_URI_SCHEMES = {"http": HTTP, "socks4": SOCKS4, "socks": SOCKS5, "socks5": SOCKS5,
                "direct": DIRECT, "https": HTTPS, "quic": QUIC}
_PAC_SCHEMES = {"proxy": HTTP, "socks": SOCKS4, "socks4": SOCKS4, "socks5": SOCKS5,
                "direct": DIRECT, "https": HTTPS, "quic": QUIC}

# url/url_constants: default ports GURL removes and EffectiveIntPort reports.
URL_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

_LWS = " \t"
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(chr(c) for c in range(0x20))


# --------------------------------------------------------------------------- hosts


def parse_ipv4(text: str) -> int | None:
    """Parse an IPv4 literal as url::IPv4AddressToNumber does (1-4 parts, hex/octal), or None."""
    text = text.removesuffix(".")
    if not text:
        return None
    parts = text.split(".")
    if len(parts) > 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not part:
            return None
        lowered = part.lower()
        try:
            if lowered.startswith("0x"):
                digits = lowered[2:]
                value = int(digits, 16) if digits else 0
                if digits and not all(c in "0123456789abcdef" for c in digits):
                    return None
            elif len(part) > 1 and part[0] == "0":
                if not all(c in "01234567" for c in part):
                    return None
                value = int(part, 8)
            else:
                if not part.isascii() or not part.isdigit():
                    return None
                value = int(part)
        except ValueError:
            return None
        numbers.append(value)
    for value in numbers[:-1]:
        if value > 255:
            return None
    last_limit = 1 << (8 * (5 - len(numbers)))
    if numbers[-1] >= last_limit:
        return None
    result = numbers[-1]
    for i, value in enumerate(numbers[:-1]):
        result |= value << (8 * (3 - i))
    return result


def _ends_in_number(host: str) -> bool:
    labels = host.split(".")
    if labels and labels[-1] == "" and len(labels) > 1:
        labels.pop()
    last = labels[-1] if labels else ""
    if last and last.isascii() and last.isdigit():
        return True
    lowered = last.lower()
    return lowered.startswith("0x") and all(c in "0123456789abcdef" for c in lowered[2:])


def parse_ip_literal(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an IP literal without brackets as ``IPAddress::AssignFromIPLiteral``, or None."""
    if ":" in text:
        if "%" in text or not text.isascii():
            return None
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    if not text.isascii() or any(c in _LWS or c.isspace() for c in text):
        return None
    value = parse_ipv4(text)
    return None if value is None else ipaddress.IPv4Address(value)


def canonicalize_host(host: str) -> str | None:
    """Return ``host`` as GURL prints it (IPv6 in brackets), or None when it is invalid."""
    if not host:
        return None
    if host[0] == "[":
        if host[-1] != "]" or len(host) < 3:
            return None
        inner = host[1:-1]
        if "%" in inner or not inner.isascii():
            return None
        try:
            return "[" + ipaddress.IPv6Address(inner).compressed + "]"
        except ValueError:
            return None
    if host.isascii() and "%" not in host:
        text = host.lower()
    else:
        try:
            text = unquote_to_bytes(host).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not text.isascii():
            try:
                import idna

                text = idna.encode(text, uts46=True, transitional=False).decode("ascii")
            except (idna.IDNAError, UnicodeError, ValueError):
                return None
        text = text.lower()
    if not text or any(c in _FORBIDDEN_HOST for c in text):
        return None
    if _ends_in_number(text):
        value = parse_ipv4(text)
        if value is None:
            return None
        return str(ipaddress.IPv4Address(value))
    return text


def host_no_brackets(host: str) -> str:
    """Return a GURL host without IPv6 brackets (``HostNoBrackets``)."""
    if len(host) >= 2 and host[0] == "[" and host[-1] == "]":
        return host[1:-1]
    return host


@dataclass(frozen=True, slots=True)
class SplitURL:
    """The parts of a URL the proxy machinery needs, canonicalised as GURL does."""

    scheme: str
    host: str
    port: int
    path: str
    query: str
    has_credentials: bool

    @property
    def effective_port(self) -> int:
        """Return the explicit port, or the scheme's default (-1 when none)."""
        return self.port if self.port >= 0 else URL_DEFAULT_PORTS.get(self.scheme, -1)

    def spec(self, *, strip_path: bool = False) -> str:
        """Return the URL without credentials and fragment; path/query removed if ``strip_path``."""
        port = self.port
        authority = self.host
        if port >= 0 and port != URL_DEFAULT_PORTS.get(self.scheme):
            authority += f":{port}"
        if strip_path:
            return f"{self.scheme}://{authority}/"
        tail = self.path or "/"
        if self.query:
            tail += "?" + self.query
        return f"{self.scheme}://{authority}{tail}"


def split_url(url: str) -> SplitURL | None:
    """Split an absolute hierarchical URL (scheme://authority/...), or None when invalid."""
    url = url.strip(" \t\n\r\x00")
    colon = url.find(":")
    if colon <= 0:
        return None
    scheme = url[:colon].lower()
    if not scheme.isascii() or not scheme[0].isalpha() or not all(
        c.isalnum() or c in "+-." for c in scheme
    ):
        return None
    rest = url[colon + 1:].replace("\\", "/") if scheme in URL_DEFAULT_PORTS else url[colon + 1:]
    if not rest.startswith("//"):
        return None
    rest = rest.lstrip("/") if scheme in URL_DEFAULT_PORTS else rest[2:]
    end = len(rest)
    for sep in "/?#":
        i = rest.find(sep)
        if i != -1 and i < end:
            end = i
    authority, tail = rest[:end], rest[end:]
    tail = tail.split("#", 1)[0]
    path, _, query = tail.partition("?")
    at = authority.rfind("@")
    has_credentials = at != -1
    hostport = authority[at + 1:]
    port = -1
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            return None
        host_text, after = hostport[: close + 1], hostport[close + 1:]
        if after:
            if not after.startswith(":"):
                return None
            port_text = after[1:]
        else:
            port_text = None
    else:
        host_text, sep, port_text_ = hostport.rpartition(":")
        if not sep:
            host_text, port_text = hostport, None
        else:
            port_text = port_text_
    if port_text:
        if not port_text.isascii() or not port_text.isdigit():
            return None
        port = int(port_text)
        if port > 65535:
            return None
    host = canonicalize_host(host_text)
    if host is None:
        return None
    if port == URL_DEFAULT_PORTS.get(scheme):
        port = -1
    return SplitURL(scheme, host, port, path, query, has_credentials)


# --------------------------------------------------------------------------- servers


@dataclass(frozen=True, slots=True)
class ProxyServer:
    """One proxy (``net::ProxyServer``): scheme, host (no brackets) and port; DIRECT has neither."""

    scheme: str
    host: str = ""
    port: int = 0

    @property
    def is_direct(self) -> bool:
        """Tell whether this entry means "no proxy"."""
        return self.scheme == DIRECT

    @property
    def host_port(self) -> str:
        """Return ``host:port`` with IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_pac(self) -> str:
        """Return the PAC result element (``PROXY h:p``, ``SOCKS h:p``, ``DIRECT``...)."""
        if self.scheme == DIRECT:
            return "DIRECT"
        return f"{_PAC_TYPES[self.scheme]} {self.host_port}"

    def to_uri(self) -> str:
        """Return the proxy URI (``ProxyServerToProxyUri``): HTTP without a scheme."""
        if self.scheme == DIRECT:
            return "direct://"
        if self.scheme == HTTP:
            return self.host_port
        return f"{self.scheme}://{self.host_port}"

    def __str__(self) -> str:
        return self.to_pac()


DIRECT_SERVER = ProxyServer(DIRECT)


def _server_from_host_and_port(scheme: str | None, host_and_port: str) -> ProxyServer | None:
    # ProxySchemeHostAndPortToProxyServer
    host_and_port = host_and_port.strip(_LWS)
    if scheme is None:
        return None
    if scheme == DIRECT:
        return DIRECT_SERVER if not host_and_port else None
    if "@" in host_and_port:
        return None
    if host_and_port.startswith("["):
        close = host_and_port.find("]")
        if close == -1:
            return None
        host, after = host_and_port[: close + 1], host_and_port[close + 1:]
        if after and not after.startswith(":"):
            return None
        port_text: str | None = after[1:] if after else None
    else:
        colon = host_and_port.rfind(":")
        if colon == -1:
            host, port_text = host_and_port, None
        else:
            host, port_text = host_and_port[:colon], host_and_port[colon + 1:]
    if not host:
        return None
    if port_text is not None:
        if not port_text or not port_text.isascii() or not port_text.isdigit():
            return None
        port = int(port_text)
        if port > 65535:
            return None
    else:
        port = _DEFAULT_PORTS[scheme]
    canonical = canonicalize_host(host)
    if canonical is None:
        return None
    return ProxyServer(scheme, host_no_brackets(canonical), port)


def parse_proxy_uri(uri: str, default_scheme: str = HTTP,
                    *, quic_allowed: bool = False) -> ProxyServer | None:
    """Parse ``[scheme://]host[:port]`` (``ProxyUriToProxyServer``); None when invalid."""
    uri = uri.strip(_LWS)
    scheme: str | None = default_scheme
    colon = uri.find(":")
    if colon != -1 and uri[colon + 1: colon + 3] == "//":
        scheme = _URI_SCHEMES.get(uri[:colon].lower()) if uri[:colon].isascii() else None
        uri = uri[colon + 3:]
    if scheme == QUIC and not quic_allowed:
        return None
    return _server_from_host_and_port(scheme, uri)


def parse_pac_element(element: str) -> ProxyServer | None:
    """Parse one PAC result element (``PROXY host:port``); None when invalid."""
    element = element.strip(_LWS)
    space = 0
    while space < len(element) and element[space] not in _LWS:
        space += 1
    kind = element[:space].lower() if element[:space].isascii() else ""
    return _server_from_host_and_port(_PAC_SCHEMES.get(kind), element[space:])


# --------------------------------------------------------------------------- lists


@dataclass(frozen=True, slots=True)
class ProxyChain:
    """A sequence of proxies a connection goes through (one server except bracketed chains)."""

    servers: tuple[ProxyServer, ...]

    @property
    def is_direct(self) -> bool:
        """Tell whether this chain is DIRECT."""
        return len(self.servers) == 1 and self.servers[0].is_direct

    def to_debug(self) -> str:
        """Return ``ProxyChain::ToDebugString`` (``[https://a:443, https://b:443]``)."""
        if self.is_direct:
            return "direct://"
        return "[" + ", ".join(s.to_uri() for s in self.servers) + "]"


def _parse_chain(token: str, default_scheme: str, bracketed: bool,
                 quic_allowed: bool) -> ProxyChain | None:
    token = token.strip(_LWS)
    if bracketed and token.startswith("["):
        # MultiProxyUrisToProxyChain: "[uri uri ...]", no DIRECT inside.
        if not token.endswith("]"):
            return None
        uris = token[1:-1].split()
        if not uris:
            return None
        servers = []
        for uri in uris:
            server = parse_proxy_uri(uri, default_scheme, quic_allowed=quic_allowed)
            if server is None or server.is_direct:
                return None
            servers.append(server)
        if len(servers) > 1 and any(s.scheme not in (HTTPS, QUIC) for s in servers):
            return None
        return ProxyChain(tuple(servers))
    server = parse_proxy_uri(token, default_scheme, quic_allowed=quic_allowed)
    return None if server is None else ProxyChain((server,))


class ProxyList:
    """An ordered list of proxy chains to try (``net::ProxyList``)."""

    __slots__ = ("chains",)

    def __init__(self, chains: Iterable[ProxyChain] = ()) -> None:
        self.chains: list[ProxyChain] = list(chains)

    @classmethod
    def from_pac_string(cls, pac: str) -> ProxyList:
        """Parse a ``FindProxyForURL`` result; nothing valid means DIRECT (``SetFromPacString``)."""
        chains = []
        for element in pac.split(";"):
            server = parse_pac_element(element)
            if server is not None:
                chains.append(ProxyChain((server,)))
        if not chains:
            chains.append(ProxyChain((DIRECT_SERVER,)))
        return cls(chains)

    def __iter__(self) -> Iterator[ProxyChain]:
        return iter(self.chains)

    def __len__(self) -> int:
        return len(self.chains)

    def __bool__(self) -> bool:
        return bool(self.chains)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProxyList) and self.chains == other.chains

    def __repr__(self) -> str:
        return f"ProxyList({self.to_debug()!r})"

    def servers(self) -> list[ProxyServer]:
        """Return the single-hop entries as servers (multi-hop chains are skipped)."""
        return [c.servers[0] for c in self.chains if len(c.servers) == 1]

    def to_pac_string(self) -> str:
        """Return Chromium's ``ToPacString``: elements joined by ``;`` without spaces."""
        return ";".join(c.servers[0].to_pac() for c in self.chains if len(c.servers) == 1)

    def to_debug(self) -> str | None:
        """Return ``ToDebugString`` (PAC elements, bracketed multi-hop chains), None when empty."""
        if not self.chains:
            return None
        return ";".join(
            c.servers[0].to_pac() if len(c.servers) == 1 else c.to_debug() for c in self.chains
        )

    def to_value(self) -> list[str]:
        """Return ``ProxyList::ToValue`` (each chain's debug string)."""
        return [c.to_debug() for c in self.chains]


def _tokens(text: str, delimiters: str) -> list[str]:
    # base::StringTokenizer: non-empty runs between delimiter characters.
    out: list[str] = []
    start = 0
    for i, c in enumerate(text):
        if c in delimiters:
            if i > start:
                out.append(text[start:i])
            start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


# --------------------------------------------------------------------------- bypass rules


_KIND_PATTERN = 0
_KIND_CIDR = 1
_KIND_LOCAL = 2
_KIND_SUBTRACT = 3


@dataclass(frozen=True, slots=True)
class BypassRule:
    """One parsed bypass rule: its core tuple and its ``ToString()``."""

    kind: int
    scheme: str
    pattern: str
    port: int
    network: bytes
    prefix_bits: int
    text: str

    def core_tuple(self) -> tuple[int, str, str, int, bytes, int]:
        """Return the tuple the bypass core takes."""
        return (self.kind, self.scheme, self.pattern, self.port, self.network, self.prefix_bits)


def _mapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    if isinstance(address, ipaddress.IPv4Address):
        return b"\0" * 10 + b"\xff\xff" + address.packed
    return address.packed


def parse_cidr(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """Parse ``literal/bits`` (``ParseCIDRBlock``), or None."""
    parts = text.split("/")
    if len(parts) != 2:
        return None
    address = parse_ip_literal(parts[0])
    bits_text = parts[1]
    if address is None or not bits_text.isascii() or not bits_text.isdigit():
        return None
    bits = int(bits_text)
    if bits > address.max_prefixlen:
        return None
    return address, bits


def parse_bypass_rule(raw: str, *, suffix_matching: bool = False) -> BypassRule | None:
    """Parse one bypass rule (``ParseRule``), or None when Chromium would drop it.

    ``suffix_matching`` is the ``no_proxy`` environment's reading: ``google.com`` means
    ``*google.com`` (``ProxyConfigServiceLinux``).
    """
    text = raw.strip(" \t\n\r\f\v")
    lowered = text.lower()
    if lowered == "<local>":
        return BypassRule(_KIND_LOCAL, "", "", -1, b"", 0, "<local>")
    if lowered == "<-loopback>":
        return BypassRule(_KIND_SUBTRACT, "", "", -1, b"", 0, "<-loopback>")
    scheme = ""
    pos = text.find("://")
    if pos != -1:
        scheme = text[:pos].lower()
        text = text[pos + 3:]
        if not scheme:
            return None
    if not text:
        return None
    prefix = f"{scheme}://" if scheme else ""
    if "/" in text:
        cidr = parse_cidr(text)
        if cidr is None:
            return None
        address, bits = cidr
        if isinstance(address, ipaddress.IPv4Address):
            bits += 96
        return BypassRule(_KIND_CIDR, scheme, "", -1, _mapped(address), bits, prefix + text)
    parsed = _host_and_port(text)
    if parsed is not None:
        host, port = parsed
        literal_address = parse_ip_literal(host)
        if literal_address is not None:
            literal = (f"[{literal_address.compressed}]" if literal_address.version == 6
                       else str(literal_address))
            shown = literal if port == -1 else f"{literal}:{port}"
            return BypassRule(_KIND_PATTERN, scheme, literal, port, b"", 0, prefix + shown)
    port = -1
    colon = text.rfind(":")
    if colon != -1:
        port_text = text[colon + 1:]
        if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 0xFFFF:
            return None
        port = int(port_text)
        text = text[:colon]
    pattern = ("*" + text) if text.startswith(".") else text
    if suffix_matching and not pattern.startswith("*"):
        pattern = "*" + pattern
    pattern = pattern.lower()
    shown = pattern if port == -1 else f"{pattern}:{port}"
    return BypassRule(_KIND_PATTERN, scheme, pattern, port, b"", 0, prefix + shown)


def _host_and_port(text: str) -> tuple[str, int] | None:
    # net/base/url_util.cc ParseHostAndPort, enough for IP literals.
    if not text or "@" in text:
        return None
    if text.startswith("["):
        close = text.find("]")
        if close == -1:
            return None
        host, after = text[1:close], text[close + 1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        if not after:
            return host, -1
        if not after.startswith(":") or not after[1:].isascii() or not after[1:].isdigit():
            return None
        port = int(after[1:])
        return (host, port) if port <= 65535 else None
    host, sep, port_text = text.rpartition(":")
    if not sep:
        return text, -1
    if ":" in host or not host:
        return None
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        return None
    return host, int(port_text)


class ProxyBypassRules:
    """Parsed ``proxyBypassRules`` and their compiled matcher."""

    __slots__ = ("_core", "_matcher", "invalid", "rules")

    def __init__(self, rules: Sequence[BypassRule] = (), *, core: ModuleType | None = None,
                 invalid: Sequence[str] = ()) -> None:
        self.rules: tuple[BypassRule, ...] = tuple(rules)
        self.invalid: tuple[str, ...] = tuple(invalid)
        self._core = core if core is not None else _impl.core("bypass")
        self._matcher: Any = self._core.BypassMatcher([r.core_tuple() for r in self.rules])

    @classmethod
    def parse(cls, text: str, *, suffix_matching: bool = False,
              core: ModuleType | None = None) -> ProxyBypassRules:
        """Parse a rule list separated by ``,`` or ``;``; unparsable rules are dropped."""
        rules = []
        invalid = []
        for token in _tokens(text, ",;"):
            rule = parse_bypass_rule(token, suffix_matching=suffix_matching)
            if rule is not None:
                rules.append(rule)
            elif token.strip():
                invalid.append(token.strip())
        return cls(rules, core=core, invalid=invalid)

    def __len__(self) -> int:
        return len(self.rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProxyBypassRules) and self.to_strings() == other.to_strings()

    def to_strings(self) -> list[str]:
        """Return each rule's ``ToString()``."""
        return [r.text for r in self.rules]

    def __str__(self) -> str:
        return "".join(t + ";" for t in self.to_strings())

    def matches_parts(self, scheme: str, host: str, port: int, reverse: bool = False) -> bool:
        """Tell whether (scheme, canonical host, effective port) bypasses the proxy."""
        return bool(self._matcher.matches(scheme, host, port, reverse))

    def matches(self, url: str | SplitURL, reverse: bool = False) -> bool:
        """Tell whether ``url`` bypasses the proxy (``ProxyBypassRules::Matches``)."""
        parts = split_url(url) if isinstance(url, str) else url
        if parts is None:
            return reverse
        return self.matches_parts(parts.scheme, parts.host, parts.effective_port, reverse)


def matches_implicit(host: str) -> bool:
    """Tell whether a canonical host is implicitly bypassed (localhost, loopback, link-local)."""
    return bool(_impl.core("bypass").matches_implicit(host))


# --------------------------------------------------------------------------- rules


@dataclass
class ProxyRules:
    """``ProxyConfig::ProxyRules``: a single list or per-scheme lists, plus bypass rules."""

    type: str = "EMPTY"
    single_proxies: ProxyList = field(default_factory=ProxyList)
    proxies_for_http: ProxyList = field(default_factory=ProxyList)
    proxies_for_https: ProxyList = field(default_factory=ProxyList)
    proxies_for_ftp: ProxyList = field(default_factory=ProxyList)
    fallback_proxies: ProxyList = field(default_factory=ProxyList)
    bypass_rules: ProxyBypassRules = field(default_factory=ProxyBypassRules)
    reverse_bypass: bool = False
    invalid: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, proxy_rules: str, *, allow_bracketed_proxy_chains: bool = False,
              quic_allowed: bool = False) -> ProxyRules:
        """Parse ``proxyRules`` exactly as ``ProxyRules::ParseFromString``."""
        rules = cls()
        for entry in _tokens(proxy_rules, ";"):
            parts = _tokens(entry, "=")
            i = 0
            while i < len(parts):
                url_scheme = parts[i]
                i += 1
                if i >= len(parts):
                    if rules.type == "PROXY_LIST_PER_SCHEME":
                        continue
                    rules._add(url_scheme, rules.single_proxies, HTTP,
                               allow_bracketed_proxy_chains, quic_allowed, rules.invalid)
                    rules.type = "PROXY_LIST"
                    return rules
                url_scheme = url_scheme.strip(" \t\n\r\f\v")
                rules.type = "PROXY_LIST_PER_SCHEME"
                target = rules._list_no_fallback(url_scheme)
                default = HTTP
                if url_scheme == "socks":
                    target = rules.fallback_proxies
                    default = SOCKS4
                if target is not None:
                    rules._add(parts[i], target, default, allow_bracketed_proxy_chains,
                               quic_allowed, rules.invalid)
                i += 1
        return rules

    @staticmethod
    def _add(uri_list: str, target: ProxyList, default: str, bracketed: bool,
             quic_allowed: bool, invalid: list[str]) -> None:
        for token in _tokens(uri_list, ","):
            chain = _parse_chain(token, default, bracketed, quic_allowed)
            if chain is not None:
                target.chains.append(chain)
            else:
                invalid.append(token.strip(_LWS))

    def _list_no_fallback(self, scheme: str) -> ProxyList | None:
        if scheme == "http":
            return self.proxies_for_http
        if scheme == "https":
            return self.proxies_for_https
        if scheme == "ftp":
            return self.proxies_for_ftp
        return None

    @property
    def empty(self) -> bool:
        """Tell whether no proxy is configured (``ProxyRules::empty``)."""
        return self.type == "EMPTY"

    def list_for_scheme(self, scheme: str) -> ProxyList | None:
        """Return the list for a URL scheme (``MapUrlSchemeToProxyList``), None = DIRECT."""
        found = self._list_no_fallback(scheme)
        if found:
            return found
        if scheme in ("ws", "wss"):
            # RFC 6455 §4.1.3: prefer SOCKS, then the https proxy, then the http proxy.
            for candidate in (self.fallback_proxies, self.proxies_for_https,
                              self.proxies_for_http):
                if candidate:
                    return candidate
            return None
        return self.fallback_proxies or None

    def apply(self, url: SplitURL) -> tuple[ProxyList, bool]:
        """Return (the proxy list for ``url``, whether a bypass rule sent it DIRECT)."""
        direct = ProxyList([ProxyChain((DIRECT_SERVER,))])
        if self.empty:
            return direct, False
        if self.bypass_rules.matches_parts(url.scheme, url.host, url.effective_port,
                                           self.reverse_bypass):
            return direct, True
        if self.type == "PROXY_LIST":
            return ProxyList(self.single_proxies.chains), False
        found = self.list_for_scheme(url.scheme)
        return (ProxyList(found.chains) if found else direct), False


# --------------------------------------------------------------------------- config


MODES = ("direct", "auto_detect", "pac_script", "fixed_servers", "system")
INVALID_MODE = "Invalid mode, must be one of direct, auto_detect, pac_script, fixed_servers or system"
WPAD_URL = "http://wpad/wpad.dat"


@dataclass
class ProxyConfig:
    """A resolved proxy configuration (``net::ProxyConfig``)."""

    auto_detect: bool = False
    pac_url: str = ""
    pac_mandatory: bool = False
    from_system: bool = False
    rules: ProxyRules = field(default_factory=ProxyRules)

    @property
    def has_automatic_settings(self) -> bool:
        """Tell whether a PAC script (WPAD or URL) decides."""
        return self.auto_detect or bool(self.pac_url)

    def to_value(self) -> dict[str, Any]:
        """Return ``ProxyConfig::ToValue()`` as a dict."""
        out: dict[str, Any] = {}
        if self.auto_detect:
            out["auto_detect"] = True
        if self.pac_url:
            out["pac_url"] = self.pac_url
            if self.pac_mandatory:
                out["pac_mandatory"] = True
        if self.from_system:
            out["from_system"] = True
        rules = self.rules
        if not rules.empty:
            if rules.type == "PROXY_LIST":
                if rules.single_proxies:
                    out["single_proxy"] = rules.single_proxies.to_value()
            else:
                per: dict[str, Any] = {}
                for name, plist in (("http", rules.proxies_for_http),
                                    ("https", rules.proxies_for_https),
                                    ("ftp", rules.proxies_for_ftp),
                                    ("fallback", rules.fallback_proxies)):
                    if plist:
                        per[name] = plist.to_value()
                out["proxy_per_scheme"] = per
            if len(rules.bypass_rules):
                if rules.reverse_bypass:
                    out["reverse_bypass"] = True
                out["bypass_list"] = rules.bypass_rules.to_strings()
        return out

    def to_json(self) -> str:
        """Return ``ToValue()`` serialised as Chromium's JSON writer does (sorted keys)."""
        return json.dumps(self.to_value(), sort_keys=True, separators=(",", ":"))


def config_from_electron(mode: str | None, pac_script: str = "", proxy_rules: str = "",
                         proxy_bypass_rules: str = "",
                         environ: dict[str, str] | None = None, *, strict: bool = False) -> ProxyConfig:
    """Build the config Electron builds from a ``ProxyConfig`` object (``SetProxy``).

    Chromium drops rules it cannot parse; ``strict`` raises ``ValueError`` naming the first one.
    """
    if mode is None:
        mode = "pac_script" if pac_script else "fixed_servers"
    if mode not in MODES:
        raise ValueError(INVALID_MODE)
    if mode == "direct":
        return ProxyConfig()
    if mode == "auto_detect":
        return ProxyConfig(auto_detect=True)
    if mode == "pac_script":
        return ProxyConfig(pac_url=pac_script, pac_mandatory=True)
    if mode == "system":
        import os

        return config_from_environment(dict(os.environ) if environ is None else environ)
    rules = ProxyRules.parse(proxy_rules)
    if strict and rules.invalid:
        raise ValueError(
            f"setProxy: invalid proxy in proxyRules: {rules.invalid[0]!r} "
            "(expected [scheme://]host[:port] with scheme http, https, socks4, socks5, "
            "socks or direct)")
    rules.bypass_rules = ProxyBypassRules.parse(proxy_bypass_rules)
    if strict and rules.bypass_rules.invalid:
        raise ValueError(f"setProxy: invalid rule in proxyBypassRules: {rules.bypass_rules.invalid[0]!r}")
    return ProxyConfig(rules=rules)


def _env(environ: dict[str, str], name: str) -> str | None:
    # base::Environment::GetVar also tries the name in the other case.
    value = environ.get(name)
    if value is None:
        other = name.upper() if name.islower() else name.lower()
        value = environ.get(other)
    return value


def _env_proxy(environ: dict[str, str], name: str, scheme: str = HTTP) -> ProxyServer | None:
    # ProxyConfigServiceLinux GetProxyFromEnvVarForScheme + FixupProxyHostScheme.
    value = _env(environ, name)
    if not value:
        return None
    if scheme == SOCKS5 and value[:9].lower() == "socks4://":
        scheme = SOCKS4
    sep = value.find("://")
    if sep != -1:
        value = value[sep + 3:]
    at = value.find("@")
    if at != -1:
        value = value[at + 1:]
    if scheme in (SOCKS4, SOCKS5):
        value = f"{scheme}://{value}"
    value = value.removesuffix("/")
    return parse_proxy_uri(value, HTTP)


def config_from_environment(environ: dict[str, str]) -> ProxyConfig:
    """Read the proxy environment as Chromium on Linux without a desktop proxy service."""
    auto_proxy = _env(environ, "auto_proxy")
    if auto_proxy is not None:
        if not auto_proxy:
            return ProxyConfig(auto_detect=True, from_system=True)
        return ProxyConfig(pac_url=auto_proxy, from_system=True)
    rules = ProxyRules()
    server = _env_proxy(environ, "all_proxy")
    if server is not None:
        rules.type = "PROXY_LIST"
        rules.single_proxies.chains.append(ProxyChain((server,)))
    else:
        for name, target in (("http_proxy", rules.proxies_for_http),
                             ("https_proxy", rules.proxies_for_https),
                             ("ftp_proxy", rules.proxies_for_ftp)):
            server = _env_proxy(environ, name)
            if server is not None:
                target.chains.append(ProxyChain((server,)))
                rules.type = "PROXY_LIST_PER_SCHEME"
    if rules.empty:
        socks_scheme = SOCKS4 if _env(environ, "SOCKS_VERSION") == "4" else SOCKS5
        server = _env_proxy(environ, "SOCKS_SERVER", socks_scheme)
        if server is not None:
            rules.type = "PROXY_LIST"
            rules.single_proxies.chains.append(ProxyChain((server,)))
    if not rules.empty:
        rules.bypass_rules = ProxyBypassRules.parse(_env(environ, "no_proxy") or "",
                                                    suffix_matching=True)
    return ProxyConfig(rules=rules, from_system=True)
