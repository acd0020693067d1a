"""Proxy bypass matching: the reference twin of ``websession._bypass_c``.

A :class:`BypassMatcher` holds parsed ``proxyBypassRules`` (Chromium's
``net/proxy_resolution/proxy_bypass_rules.cc`` and ``net/base/scheme_host_port_matcher*.cc``)
and answers, for a URL already split into a lower-case scheme, a canonical host (as GURL prints
it: IPv6 literals in brackets) and an effective port, whether the proxy is bypassed.

Rules are evaluated last-to-first and the first definite answer wins, which is the same as
"the matching rule with the highest index wins"; so rules are indexed by kind (exact host,
``*suffix``, general glob, CIDR block, ``<local>``, ``<-loopback>``) and each index is asked for
its highest matching rule, instead of walking every rule for every URL.

A rule is a tuple ``(kind, scheme, pattern, port, network, prefix_bits)``:

* ``KIND_PATTERN``: ``pattern`` is a lower-case glob (``*``, ``?``, ``\\`` escapes, as
  ``base::MatchPattern``); ``port`` is ``-1`` for any port; ``scheme`` ``""`` for any scheme.
* ``KIND_CIDR``: ``network`` is 16 bytes (IPv4 as IPv4-mapped IPv6) and ``prefix_bits`` counts
  in that 128-bit space, which reproduces ``IPAddressMatchesPrefix``'s mapped comparison.
* ``KIND_LOCAL`` (``<local>``) and ``KIND_SUBTRACT_IMPLICIT`` (``<-loopback>``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

KIND_PATTERN = 0
KIND_CIDR = 1
KIND_LOCAL = 2
KIND_SUBTRACT_IMPLICIT = 3

INCLUDE = 1
EXCLUDE = -1
NO_MATCH = 0

Rule = tuple[int, str, str, int, bytes, int]

_WILDCARDS = frozenset("*?\\")


def _eat_wildcards(pattern: str, p: int) -> tuple[int, int]:
    questions = 0
    star = False
    n = len(pattern)
    while p < n:
        c = pattern[p]
        if c == "?":
            questions += 1
        elif c == "*":
            star = True
        else:
            break
        p += 1
    return p, (-1 if star else questions)


def _search(pattern: str, p: int, text: str, s: int, distance: int) -> tuple[bool, int, int]:
    # base/strings/pattern.cc SearchForChars: first occurrence only, no backtracking.
    p_start = p
    s_start = s
    np_ = len(pattern)
    ns = len(text)
    escape = False
    while True:
        if p == np_:
            if s == ns:
                return True, p, s
        else:
            c = pattern[p]
            if not escape and (c == "*" or c == "?"):
                return True, p, s
            if not escape and c == "\\":
                escape = True
                p += 1
                continue
            escape = False
            if s == ns:
                return False, p, s
            if c == text[s]:
                p += 1
                s += 1
                continue
        if distance == 0:
            return False, p, s
        distance -= 1
        p = p_start
        s_start += 1
        if s_start > ns:
            return False, p, s
        s = s_start


def match_pattern(text: str, pattern: str) -> bool:
    """Match ``text`` against a ``base::MatchPattern`` glob (``?`` = zero or one character)."""
    p = 0
    s = 0
    n = len(pattern)
    while True:
        p, distance = _eat_wildcards(pattern, p)
        ok, p, s = _search(pattern, p, text, s, distance)
        if not ok:
            return False
        if p == n:
            return True


def ip_bytes(host: str) -> bytes | None:
    """Return the 16-byte (IPv4-mapped for IPv4) address of a canonical host, or None."""
    if not host:
        return None
    if host[0] == "[":
        if host[-1] != "]":
            return None
        try:
            return ipaddress.IPv6Address(host[1:-1]).packed
        except ValueError:
            return None
    last = host[-1]
    if not ("0" <= last <= "9"):
        return None
    parts = host.split(".")
    if len(parts) != 4:
        return None
    out = bytearray(b"\0" * 10 + b"\xff\xff")
    for part in parts:
        if not part.isdigit() or not part.isascii() or len(part) > 3:
            return None
        value = int(part)
        if value > 255:
            return None
        out.append(value)
    return bytes(out)


_MAPPED = b"\0" * 10 + b"\xff\xff"


def _in_prefix(address: bytes, network: bytes, bits: int) -> bool:
    full, rest = divmod(bits, 8)
    if address[:full] != network[:full]:
        return False
    if rest == 0:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return (address[full] & mask) == (network[full] & mask)


def _is_local_hostname(host: str) -> bool:
    # net/base/url_util.cc IsLocalHostname
    host = host.removesuffix(".")
    return host == "localhost" or host.endswith(".localhost")


def matches_implicit(host: str) -> bool:
    """Tell whether Chromium's implicit bypass rules cover ``host`` (localhost, loopback, link-local).

    ``ProxyBypassRules::MatchesImplicitRules`` on a non-Windows build.
    """
    if _is_local_hostname(host):
        return True
    address = ip_bytes(host)
    if address is None:
        return False
    if address[:12] == _MAPPED:
        # IPv4 (or IPv4-mapped IPv6): 127/8 loopback, 169.254/16 link-local.
        return address[12] == 127 or (address[12] == 169 and address[13] == 254)
    if address == b"\0" * 15 + b"\x01":
        return True
    return address[0] == 0xFE and (address[1] & 0xC0) == 0x80


def _is_ip_host(host: str) -> bool:
    return ip_bytes(host) is not None


class BypassMatcher:
    """Evaluate parsed bypass rules against (scheme, canonical host, effective port)."""

    __slots__ = (
        "_cidr",
        "_count",
        "_exact",
        "_generic",
        "_local",
        "_subtract",
        "_suffix",
        "_suffix_lengths",
    )

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._count = len(rules)
        self._exact: dict[str, list[tuple[int, str, int]]] = {}
        self._suffix: dict[str, list[tuple[int, str, int]]] = {}
        self._generic: list[tuple[int, str, str, int]] = []
        self._cidr: list[tuple[int, str, bytes, int]] = []
        self._local = -1
        self._subtract = -1
        for index, (kind, scheme, pattern, port, network, bits) in enumerate(rules):
            if kind == KIND_PATTERN:
                if not _WILDCARDS.intersection(pattern):
                    self._exact.setdefault(pattern, []).append((index, scheme, port))
                elif pattern[0] == "*" and not _WILDCARDS.intersection(pattern[1:]):
                    self._suffix.setdefault(pattern[1:], []).append((index, scheme, port))
                else:
                    self._generic.append((index, pattern, scheme, port))
            elif kind == KIND_CIDR:
                if len(network) != 16 or not 0 <= bits <= 128:
                    raise ValueError("a CIDR rule needs a 16-byte network and 0-128 prefix bits")
                self._cidr.append((index, scheme, network, bits))
            elif kind == KIND_LOCAL:
                self._local = index
            elif kind == KIND_SUBTRACT_IMPLICIT:
                self._subtract = index
            else:
                raise ValueError(f"unknown bypass rule kind {kind!r}")
        for entries in self._exact.values():
            entries.reverse()
        for entries in self._suffix.values():
            entries.reverse()
        self._generic.reverse()
        self._cidr.reverse()
        self._suffix_lengths = sorted({len(k) for k in self._suffix})

    def __len__(self) -> int:
        return self._count

    @staticmethod
    def _first(entries: list[tuple[int, str, int]], scheme: str, port: int, best: int) -> int:
        for index, rule_scheme, rule_port in entries:
            if index <= best:
                break
            if (rule_port == -1 or rule_port == port) and (not rule_scheme or rule_scheme == scheme):
                return index
        return best

    def evaluate(self, scheme: str, host: str, port: int) -> int:
        """Return ``INCLUDE`` (bypass), ``EXCLUDE`` (``<-loopback>`` hit) or ``NO_MATCH``."""
        best = -1
        entries = self._exact.get(host)
        if entries is not None:
            best = self._first(entries, scheme, port, best)
        if self._suffix:
            suffix = self._suffix
            n = len(host)
            for length in self._suffix_lengths:
                if length > n:
                    break
                entries = suffix.get(host[n - length:])
                if entries is not None:
                    best = self._first(entries, scheme, port, best)
        for index, pattern, rule_scheme, rule_port in self._generic:
            if index <= best:
                break
            if ((rule_port == -1 or rule_port == port)
                    and (not rule_scheme or rule_scheme == scheme)
                    and match_pattern(host, pattern)):
                best = index
                break
        if self._cidr and self._cidr[0][0] > best:
            address = ip_bytes(host)
            if address is not None:
                for index, rule_scheme, network, bits in self._cidr:
                    if index <= best:
                        break
                    if (not rule_scheme or rule_scheme == scheme) and _in_prefix(
                        address, network, bits
                    ):
                        best = index
                        break
        if self._local > best and "." not in host and not _is_ip_host(host):
            best = self._local
        if self._subtract > best and matches_implicit(host):
            return EXCLUDE
        return NO_MATCH if best < 0 else INCLUDE

    def matches(self, scheme: str, host: str, port: int, reverse: bool = False) -> bool:
        """Tell whether the proxy is bypassed (``ProxyBypassRules::Matches``)."""
        result = self.evaluate(scheme, host, port)
        if result == INCLUDE:
            return not reverse
        if result == EXCLUDE:
            return reverse
        if matches_implicit(host):
            return True
        return reverse
