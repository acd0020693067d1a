"""Registrable domain (eTLD+1) from the Public Suffix List: the pure-Python reference.

The list is the file the ``publicsuffixlist`` package ships, read once. Both sections (ICANN
and private) count, as in Chromium's cookie code (``INCLUDE_PRIVATE_REGISTRIES``). Rules are
kept in one table mapping every suffix that appears in a rule to flags; a lookup walks the
host's labels from the right and stops as soon as no longer rule can exist.

Hosts: ASCII case is folded, Unicode hosts are lower-cased with the IDNA full stops mapped to
``.``; a Unicode host gets a Unicode answer and a punycode host a punycode one (the table holds
both spellings of every rule). A trailing dot is kept on the answer. IP addresses, empty
labels and a leading dot have no registrable domain.
"""

from __future__ import annotations

import os

import publicsuffixlist

NODE = 1  # some rule ends with this suffix: keep walking left
RULE = 2  # a plain rule
WILDCARD = 4  # "*.<suffix>" is a rule: any one label more is a public suffix
EXCEPTION = 8  # "!<suffix>": its parent is the public suffix

_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})

__all__ = ["is_public_suffix", "list_path", "public_suffix", "registrable_domain", "rules"]

_rules: dict[str, int] | None = None


def list_path() -> str:
    """Return the path of the Public Suffix List file shipped by ``publicsuffixlist``."""
    return os.path.join(os.path.dirname(publicsuffixlist.__file__), "public_suffix_list.dat")


def _punycode(rule: str) -> str:
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
        for label in rule.split(".")
    )


def _add(table: dict[str, int], rule: str, flag: int) -> None:
    table[rule] = table.get(rule, 0) | flag | NODE
    dot = rule.find(".")
    while dot >= 0:
        parent = rule[dot + 1 :]
        table[parent] = table.get(parent, 0) | NODE
        dot = rule.find(".", dot + 1)


def rules() -> dict[str, int]:
    """Return the rule table (suffix -> flags), loading the list on first use."""
    global _rules
    if _rules is None:
        table: dict[str, int] = {}
        with open(list_path(), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("//"):
                    continue
                rule = line.split()[0].lower()
                if rule.startswith("!"):
                    rule, flag = rule[1:], EXCEPTION
                elif rule.startswith("*."):
                    rule, flag = rule[2:], WILDCARD
                else:
                    flag = RULE
                _add(table, rule, flag)
                if not rule.isascii():
                    _add(table, _punycode(rule), flag)
        _rules = table
    return _rules


def _normalise(host: object) -> tuple[str, bool] | None:
    """Return (host without trailing dot, had trailing dot), or None when it has no suffix."""
    if host is None:
        return None
    if not isinstance(host, str):
        raise TypeError(f"host must be a str, not {type(host).__name__}")
    if host.isascii():
        h = host.lower()
    else:
        h = host.translate(_FULL_STOPS).lower()
    trailing = h.endswith(".")
    if trailing:
        h = h[:-1]
    if not h or h[0] == "." or h[-1] == "." or ".." in h:
        return None
    if "[" in h or ":" in h:
        return None  # IPv6 literal
    last = h[h.rfind(".") + 1 :]
    if last.isdigit() and last.isascii():
        return None  # WHATWG URL: a host whose last label is a number is an IPv4 address
    if last[:2] == "0x" and all(c in "0123456789abcdef" for c in last[2:]):
        return None
    return h, trailing


def _suffix_start(h: str) -> int:
    """Return the index in ``h`` where its public suffix starts."""
    table = rules()
    ps = h.rfind(".") + 1  # the implicit "*" rule: an unlisted TLD is a public suffix
    parent = WILDCARD
    pos = len(h)
    while True:
        dot = h.rfind(".", 0, pos)
        start = dot + 1
        flags = table.get(h[start:], 0)
        if flags & EXCEPTION:
            return h.index(".", start) + 1
        if flags & RULE or parent & WILDCARD:
            ps = start
        if not flags & NODE or dot < 0:
            return ps
        parent = flags
        pos = dot


def registrable_domain(host: str | None) -> str | None:
    """Return the registrable domain (eTLD+1) of ``host``, or None when it has none."""
    n = _normalise(host)
    if n is None:
        return None
    h, trailing = n
    ps = _suffix_start(h)
    if ps == 0:
        return None
    start = h.rfind(".", 0, ps - 1) + 1
    return h[start:] + "." if trailing else h[start:]


def public_suffix(host: str | None) -> str | None:
    """Return the public suffix of ``host``, or None for IP addresses and malformed hosts."""
    n = _normalise(host)
    if n is None:
        return None
    h, trailing = n
    suffix = h[_suffix_start(h) :]
    return suffix + "." if trailing else suffix


def is_public_suffix(host: str | None) -> bool:
    """Tell whether ``host`` is itself a public suffix (``com``, ``co.uk``, ``github.io``)."""
    n = _normalise(host)
    return n is not None and _suffix_start(n[0]) == 0
