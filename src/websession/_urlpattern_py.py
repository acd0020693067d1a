"""Chromium's extension match patterns (``extensions::URLPattern``) and a one-pass pattern set.

The reference twin of ``websession._urlpattern_c``. Electron parses ``webRequest`` filter
``urls`` with ``URLPattern`` and all schemes allowed (SEMANTICS.md §11); this module follows
``extensions/common/url_pattern.cc`` for patterns and a subset of GURL canonicalisation
(``url/url_canon_*.cc``, ``url/url_parse.cc``) for the URLs they are matched against.

Behaviour both implementations share, in one place:

* URLs are parsed from UTF-8 bytes (``str`` is encoded, lone surrogates become U+FFFD as V8
  does); raw ``bytes`` are taken as they are (non-ASCII path bytes are escaped byte-wise).
* Hosts: Chromium's host character table, ``%XX`` unescaping, UTS #46 non-transitional mapping
  then Punycode for non-ASCII labels (``idna``'s UTS #46 table; no bidi check), WHATWG IPv4
  (``0.0.1`` -> ``0.0.0.1``, hex/octal parts) and IPv6 (compressed) literals.
* Paths: ``\\`` is ``/`` for standard schemes, dot segments resolved, ``%XX`` of unreserved
  characters decoded, the path percent-encode set escaped; the query is kept, the fragment
  dropped.
* Pattern path globs: ``*`` is the only wildcard; every other character (``?`` and ``\\``
  included) is literal, as ``URLPattern::SetPath`` escapes them before ``base::MatchPattern``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "SCHEME_ALL",
    "SCHEME_CHROMEUI",
    "SCHEME_DATA",
    "SCHEME_EXTENSION",
    "SCHEME_FILE",
    "SCHEME_FILESYSTEM",
    "SCHEME_FTP",
    "SCHEME_HTTP",
    "SCHEME_HTTPS",
    "SCHEME_NONE",
    "SCHEME_UUID_IN_PACKAGE",
    "SCHEME_WS",
    "SCHEME_WSS",
    "URLPattern",
    "URLPatternError",
    "URLPatternSet",
    "canonicalize_host",
    "register_standard_scheme",
]

SCHEME_NONE = 0
SCHEME_HTTP = 1 << 0
SCHEME_HTTPS = 1 << 1
SCHEME_FILE = 1 << 2
SCHEME_FTP = 1 << 3
SCHEME_CHROMEUI = 1 << 4
SCHEME_EXTENSION = 1 << 5
SCHEME_FILESYSTEM = 1 << 6
SCHEME_WS = 1 << 7
SCHEME_WSS = 1 << 8
SCHEME_DATA = 1 << 9
SCHEME_UUID_IN_PACKAGE = 1 << 10
SCHEME_ALL = -1

ALL_URLS = "<all_urls>"

# url_pattern.cc kValidSchemes / kValidSchemeMasks (kept in the same order).
VALID_SCHEMES: tuple[tuple[str, int], ...] = (
    ("http", SCHEME_HTTP),
    ("https", SCHEME_HTTPS),
    ("file", SCHEME_FILE),
    ("ftp", SCHEME_FTP),
    ("chrome", SCHEME_CHROMEUI),
    ("chrome-extension", SCHEME_EXTENSION),
    ("filesystem", SCHEME_FILESYSTEM),
    ("ws", SCHEME_WS),
    ("wss", SCHEME_WSS),
    ("data", SCHEME_DATA),
    ("uuid-in-package", SCHEME_UUID_IN_PACKAGE),
)
_SCHEME_BITS = dict(VALID_SCHEMES)

# url_util.cc standard schemes plus those content/ and extensions/ register (Electron adds
# the ones given to protocol.registerSchemesAsPrivileged({standard: true})).
_STANDARD_SCHEMES: set[str] = {
    "http", "https", "ws", "wss", "ftp", "file", "filesystem",
    "chrome", "chrome-extension", "chrome-untrusted", "devtools",
}
# url::DefaultPortForScheme
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

_REASONS = {
    "kMissingSchemeSeparator": "Missing scheme separator.",
    "kInvalidScheme": "Invalid scheme.",
    "kWrongSchemeSeparator": "Wrong scheme type.",
    "kEmptyHost": "Host can not be empty.",
    "kInvalidHostWildcard": "Invalid host wildcard.",
    "kEmptyPath": "Empty path.",
    "kInvalidPort": "Invalid port.",
    "kInvalidHost": "Invalid host.",
}


class URLPatternError(ValueError):
    """A pattern Chromium's ``URLPattern::Parse`` rejects; ``str()`` is Chromium's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(_REASONS[reason])
        self.reason = reason


def register_standard_scheme(scheme: str) -> None:
    """Treat ``scheme`` as standard (``scheme://host/path``), as Electron's privileged schemes."""
    if not isinstance(scheme, str) or not scheme:
        raise TypeError("scheme must be a non-empty string")
    _STANDARD_SCHEMES.add(scheme.lower())


def _is_standard(scheme: str) -> bool:
    # url::IsStandard compares schemes case-insensitively; "*" is treated as standard.
    return scheme == "*" or scheme.lower() in _STANDARD_SCHEMES


# --------------------------------------------------------------------------- hosts

_ESC = -1
# url_canon_host.cc kHostCharLookup: 0 invalid, _ESC percent-escape, else the canonical byte.
_HOST_TABLE: list[int] = [0] * 128
for _c in range(0x21, 0x7F):
    _HOST_TABLE[_c] = _c
for _c in b'#%/<>?@\\^|':
    _HOST_TABLE[_c] = 0
for _c in range(ord("A"), ord("Z") + 1):
    _HOST_TABLE[_c] = _c + 32
_HOST_TABLE[0x20] = _ESC
_HOST_TABLE[ord("*")] = _ESC
del _c

_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")


def _utf8(text: str) -> bytes:
    """Encode like V8's String::Utf8Value: lone surrogates become U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _simple_host(raw: bytes) -> tuple[bytes, bool] | None:
    """Unescape ``%XX`` and map ASCII through the host table (DoSimpleHost).

    Return ``(output, has_non_ascii)`` or None when the host is invalid.
    """
    out = bytearray()
    non_ascii = False
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == 0x25:  # '%'
            if i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
                ch = int(raw[i + 1:i + 3], 16)
                i += 2
            else:
                return None
        if ch < 0x80:
            rep = _HOST_TABLE[ch]
            if rep == 0:
                return None
            if rep == _ESC:
                out += b"%%%02X" % ch
            else:
                out.append(rep)
        else:
            out.append(ch)
            non_ascii = True
        i += 1
    return bytes(out), non_ascii


def _idna_to_ascii(host: bytes) -> bytes | None:
    """Map a UTF-8 host through UTS #46 (non-transitional) and Punycode (url_idna_icu.cc).

    ASCII characters go through the host table first, as DoIDNHost escapes before ICU.
    Return ASCII bytes, or None when the host cannot be converted.
    """
    from idna import IDNAError
    from idna.core import uts46_remap

    try:
        text = host.decode("utf-8")
    except UnicodeDecodeError:
        return None
    pre = []
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            rep = _HOST_TABLE[code]
            if rep == _ESC or rep == 0:
                pre.append(f"%{code:02X}")
            else:
                pre.append(chr(rep))
        else:
            pre.append(ch)
    try:
        mapped = uts46_remap("".join(pre), std3_rules=False, transitional=False)
    except (IDNAError, UnicodeError, IndexError):
        return None
    mapped = unicodedata.normalize("NFC", mapped)
    labels = []
    for label in mapped.split("."):
        if label.isascii():
            if label[:4].lower() == "xn--":
                try:
                    label[4:].encode("ascii").decode("punycode")
                except (UnicodeError, ValueError, IndexError):
                    return None
            labels.append(label)
        else:
            try:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
            except UnicodeError:
                return None
    return ".".join(labels).encode("ascii")


def _parse_ipv4_number(part: str) -> int | None:
    base = 10
    if part[:2] in ("0x", "0X"):
        base, part = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        base, part = 8, part[1:]
    if not part:
        return 0
    digits = "0123456789abcdefABCDEF"[: 16 + 6 if base == 16 else base]
    if any(c not in digits for c in part):
        return None
    return int(part, base)


def _ipv4(host: str) -> str | None | bool:
    """Canonicalise an IPv4 host: the dotted quad, None if broken, False if not IPv4."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not last or not (
        all("0" <= c <= "9" for c in last) or _parse_ipv4_number(last) is not None
    ):
        return False
    if len(parts) > 4 or "" in parts:
        return None
    numbers = []
    for part in parts:
        value = _parse_ipv4_number(part)
        if value is None:
            return None
        numbers.append(value)
    if any(v > 255 for v in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    address = numbers[-1]
    for index, value in enumerate(numbers[:-1]):
        address += value << (8 * (3 - index))
    return ".".join(str((address >> shift) & 255) for shift in (24, 16, 8, 0))


def _ipv6(text: str) -> str | None:
    """Parse the inside of ``[...]`` (WHATWG IPv6 parser); return the bracketed canonical form."""
    pieces = [0] * 8
    index = 0
    compress = -1
    i = 0
    n = len(text)
    if n and text[0] == ":":
        if n < 2 or text[1] != ":":
            return None
        i = 2
        index = 1
        compress = 1
    while i < n:
        if index == 8:
            return None
        if text[i] == ":":
            if compress != -1:
                return None
            i += 1
            index += 1
            compress = index
            continue
        value = 0
        length = 0
        while length < 4 and i < n and text[i] in "0123456789abcdefABCDEF":
            value = value * 16 + int(text[i], 16)
            i += 1
            length += 1
        if i < n and text[i] == ".":
            if length == 0:
                return None
            i -= length
            if index > 6:
                return None
            seen = 0
            while i < n:
                ipv4_piece = -1
                if seen > 0:
                    if text[i] == "." and seen < 4:
                        i += 1
                    else:
                        return None
                if i >= n or not "0" <= text[i] <= "9":
                    return None
                while i < n and "0" <= text[i] <= "9":
                    number = ord(text[i]) - 48
                    if ipv4_piece == -1:
                        ipv4_piece = number
                    elif ipv4_piece == 0:
                        return None
                    else:
                        ipv4_piece = ipv4_piece * 10 + number
                    if ipv4_piece > 255:
                        return None
                    i += 1
                pieces[index] = pieces[index] * 256 + ipv4_piece
                seen += 1
                if seen == 2 or seen == 4:
                    index += 1
            if seen != 4:
                return None
            break
        if i < n and text[i] == ":":
            i += 1
            if i >= n:
                return None
        elif i < n:
            return None
        pieces[index] = value
        index += 1
    if compress != -1:
        swaps = index - compress
        index = 7
        while index != 0 and swaps > 0:
            pieces[index], pieces[compress + swaps - 1] = pieces[compress + swaps - 1], pieces[index]
            index -= 1
            swaps -= 1
    elif index != 8:
        return None
    # Compress the first longest run of two or more zero pieces.
    best_start, best_len, run_start = -1, 1, -1
    for k in range(9):
        if k < 8 and pieces[k] == 0:
            if run_start < 0:
                run_start = k
        elif run_start >= 0:
            if k - run_start > best_len:
                best_start, best_len = run_start, k - run_start
            run_start = -1
    out = []
    ignore_zero = False
    for k in range(8):
        if ignore_zero and pieces[k] == 0:
            continue
        ignore_zero = False
        if k == best_start:
            out.append("::" if k == 0 else ":")
            ignore_zero = True
            continue
        out.append(f"{pieces[k]:x}")
        if k != 7:
            out.append(":")
    return "[" + "".join(out) + "]"


def _canon_host(raw: bytes) -> tuple[str, bool] | None:
    """Canonicalise a host (url_canon_host.cc + url_canon_ip.cc): ``(host, is_ip)`` or None."""
    if not raw:
        return None
    if not raw.isascii() or b"%" in raw:
        simple = _simple_host(raw)
        if simple is None:
            return None
        out, non_ascii = simple
        if non_ascii:
            converted = _idna_to_ascii(out)
            if converted is None:
                return None
            simple = _simple_host(converted)
            if simple is None or simple[1]:
                return None
            out = simple[0]
    else:
        simple = _simple_host(raw)
        if simple is None:
            return None
        out = simple[0]
    host = out.decode("ascii")
    if not host:
        return None
    ipv4 = _ipv4(host)
    if ipv4 is None:
        return None
    if isinstance(ipv4, str):
        return ipv4, True
    if host[0] == "[" and host[-1] == "]" and len(host) >= 2:
        ipv6 = _ipv6(host[1:-1])
        return None if ipv6 is None else (ipv6, True)
    if "[" in host or "]" in host or ":" in host:
        return None
    return host, False


def canonicalize_host(host: str) -> str:
    """Return ``net::CanonicalizeHost(host)``: the canonical host, or "" when it is invalid."""
    result = _canon_host(_utf8(host))
    return "" if result is None else result[0]


# --------------------------------------------------------------------------- URLs

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_ESCAPE = frozenset(list(range(0x21)) + list(b'"<>`{}') + list(range(0x7F, 0x100)))
_QUERY_ESCAPE = frozenset(list(range(0x21)) + list(b'"<>') + list(range(0x7F, 0x100)))
_SPECIAL_QUERY_ESCAPE = _QUERY_ESCAPE | {ord("'")}
_OPAQUE_ESCAPE = frozenset(list(range(0x20)) + list(range(0x7F, 0x100)))
# WHATWG forbidden host code points (opaque hosts of non-special URLs).
_FORBIDDEN_OPAQUE = frozenset(b"\x00\t\n\r #/:<>?@[\\]^|")


def _escape(raw: bytes, escape: frozenset[int]) -> str:
    out = []
    for ch in raw:
        if ch in escape:
            out.append(f"%{ch:02X}")
        else:
            out.append(chr(ch))
    return "".join(out)


def _path_segment(raw: bytes) -> str:
    out = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == 0x25 and i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
            decoded = int(raw[i + 1:i + 3], 16)
            if decoded in _UNRESERVED:
                out.append(chr(decoded))
            else:
                out.append(raw[i:i + 3].decode("ascii"))
            i += 3
            continue
        out.append(f"%{ch:02X}" if ch in _PATH_ESCAPE else chr(ch))
        i += 1
    return "".join(out)


def _canon_path(raw: bytes, backslash: bool) -> str:
    """Canonicalise a path that starts with a slash (url_canon_path.cc)."""
    if not raw:
        return "/"
    parts = (re.split(rb"[/\\]", raw) if backslash else raw.split(b"/"))[1:]
    out: list[str] = []
    last = len(parts) - 1
    for index, part in enumerate(parts):
        segment = _path_segment(part)
        if segment == "..":
            if out:
                out.pop()
            if index == last:
                out.append("")
        elif segment == ".":
            if index == last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


class _Target(NamedTuple):
    """What URLPattern::MatchesURL reads from a GURL (the inner URL's for filesystem:)."""

    scheme: str
    host: str
    is_ip: bool
    port: str  # EffectiveIntPort as a string; "-1" when the scheme has none
    has_path: bool
    path: str  # PathForRequest (inner path + path + "?query" for filesystem:)


def _split_scheme(raw: bytes) -> tuple[str, bytes] | None:
    colon = raw.find(b":")
    if colon <= 0:
        return None
    scheme = raw[:colon]
    first = scheme[0]
    if not (0x41 <= first <= 0x5A or 0x61 <= first <= 0x7A):
        return None
    for ch in scheme:
        if not (chr(ch).isascii() and (chr(ch).isalnum() or ch in b"+-.")):
            return None
    return scheme.decode("ascii").lower(), raw[colon + 1:]


def _split_rest(rest: bytes, seps: bytes) -> tuple[bytes, bytes]:
    """Split ``rest`` at the first byte of ``seps``."""
    for i, ch in enumerate(rest):
        if ch in seps:
            return rest[:i], rest[i:]
    return rest, b""


def _path_query(after: bytes) -> tuple[bytes, bytes | None]:
    hash_at = after.find(b"#")
    if hash_at >= 0:
        after = after[:hash_at]
    question = after.find(b"?")
    if question >= 0:
        return after[:question], after[question + 1:]
    return after, None


def _server_info(hostport: bytes) -> tuple[bytes, bytes | None]:
    """Split host and port as url_parse.cc ParseServerInfo does."""
    terminator = len(hostport) if hostport[:1] == b"[" else -1
    colon = -1
    for i, ch in enumerate(hostport):
        if ch == 0x5D:
            terminator = i
        elif ch == 0x3A:
            colon = i
    if colon > terminator:
        return hostport[:colon], hostport[colon + 1:]
    return hostport, None


def _port(raw: bytes | None, scheme: str) -> str | None:
    """Return the effective port as a string, or None when the port is invalid."""
    if raw:
        if not raw.isdigit() or not raw.isascii():
            return None
        value = int(raw)
        if value > 65535:
            return None
        return str(value)
    return str(_DEFAULT_PORTS.get(scheme, -1))


def _parse_hierarchical(scheme: str, rest: bytes) -> tuple[str, bool, str, bytes, bytes | None] | None:
    """Parse a standard (non-file) URL after ``scheme:``: host, is_ip, port, raw path, query."""
    i = 0
    while i < len(rest) and rest[i] in b"/\\":
        i += 1
    authority, after = _split_rest(rest[i:], b"/\\?#")
    at = authority.rfind(b"@")
    hostport = authority[at + 1:] if at >= 0 else authority
    host_raw, port_raw = _server_info(hostport)
    host = _canon_host(host_raw)
    if host is None:
        return None
    port = _port(port_raw, scheme)
    if port is None:
        return None
    path, query = _path_query(after)
    return host[0], host[1], port, path, query


def _parse_file(rest: bytes) -> tuple[str, bool, bytes, bytes | None] | None:
    slashes = 0
    while slashes < len(rest) and rest[slashes] in b"/\\":
        slashes += 1
    host_name, is_ip = "", False
    if slashes >= 2:
        host_raw, after = _split_rest(rest[2:], b"/\\?#")
        if host_raw:
            host = _canon_host(host_raw)
            if host is None:
                return None
            host_name, is_ip = host
    else:
        after = rest
    path, query = _path_query(after)
    if path[:1] not in (b"/", b"\\"):
        path = b"/" + path
    return host_name, is_ip, path, query


def _query(query: bytes | None, special: bool) -> str:
    if query is None:
        return ""
    return "?" + _escape(query, _SPECIAL_QUERY_ESCAPE if special else _QUERY_ESCAPE)


def _parse_url(raw: bytes) -> _Target | None:
    """Parse and canonicalise a URL the way GURL does, as far as URLPattern needs it."""
    start, end = 0, len(raw)
    while start < end and raw[start] <= 0x20:
        start += 1
    while end > start and raw[end - 1] <= 0x20:
        end -= 1
    raw = raw[start:end]
    if b"\t" in raw or b"\n" in raw or b"\r" in raw:
        raw = raw.replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"")
    split = _split_scheme(raw)
    if split is None:
        return None
    scheme, rest = split
    if scheme == "filesystem":
        inner = _split_scheme(rest)
        if inner is None:
            return None
        inner_scheme, inner_rest = inner
        if inner_scheme == "filesystem" or inner_scheme not in _STANDARD_SCHEMES:
            return None
        if inner_scheme == "file":
            parsed_file = _parse_file(inner_rest)
            if parsed_file is None:
                return None
            host, is_ip, raw_path, query = parsed_file
            port = "-1"
        else:
            parsed = _parse_hierarchical(inner_scheme, inner_rest)
            if parsed is None:
                return None
            host, is_ip, port, raw_path, query = parsed
        if raw_path[:1] not in (b"/", b"\\"):
            return None
        cut = 1
        while cut < len(raw_path) and raw_path[cut] not in b"/\\":
            cut += 1
        path = _canon_path(raw_path[:cut], True) + _canon_path(raw_path[cut:], True)
        return _Target(inner_scheme, host, is_ip, port, True, path + _query(query, True))
    if scheme in _STANDARD_SCHEMES:
        if scheme == "file":
            parsed_file = _parse_file(rest)
            if parsed_file is None:
                return None
            host, is_ip, raw_path, query = parsed_file
            port = "-1"
        else:
            parsed = _parse_hierarchical(scheme, rest)
            if parsed is None:
                return None
            host, is_ip, port, raw_path, query = parsed
        path = _canon_path(raw_path, True)
        return _Target(scheme, host, is_ip, port, True, path + _query(query, True))
    # Non-special URL: optional opaque authority, then a hierarchical or opaque path.
    host, is_ip, port = "", False, "-1"
    if rest[:2] == b"//":
        authority, rest = _split_rest(rest[2:], b"/?#")
        at = authority.rfind(b"@")
        hostport = authority[at + 1:] if at >= 0 else authority
        host_raw, port_raw = _server_info(hostport)
        if host_raw[:1] == b"[" and host_raw[-1:] == b"]" and len(host_raw) >= 2:
            ipv6 = _ipv6(host_raw[1:-1].decode("latin-1"))
            if ipv6 is None:
                return None
            host, is_ip = ipv6, True
        else:
            if any(ch in _FORBIDDEN_OPAQUE for ch in host_raw):
                return None
            host = _escape(host_raw, _OPAQUE_ESCAPE)
        explicit = _port(port_raw, scheme)
        if explicit is None:
            return None
        port = explicit
    raw_path, query = _path_query(rest)
    if raw_path[:1] == b"/":
        path = _canon_path(raw_path, False)
    else:
        path = _escape(raw_path, _OPAQUE_ESCAPE)
    return _Target(scheme, host, is_ip, port, bool(path), path + _query(query, False))


def _url_bytes(url: str | bytes) -> bytes:
    if isinstance(url, str):
        return _utf8(url)
    if isinstance(url, (bytes, bytearray, memoryview)):
        return bytes(url)
    raise TypeError(f"url must be str or bytes, not {type(url).__name__}")


# --------------------------------------------------------------------------- globs


def _glob(text: str, pattern: str) -> bool:
    """Match ``text`` against ``pattern`` where only ``*`` is special (base::MatchPattern)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return text == pattern
    first, last = parts[0], parts[-1]
    if not text.startswith(first):
        return False
    position = len(first)
    limit = len(text) - len(last)
    if limit < position:
        return False
    for middle in parts[1:-1]:
        if not middle:
            continue
        found = text.find(middle, position, limit)
        if found < 0:
            return False
        position = found + len(middle)
    return text.endswith(last)


def _escaped_path(path: str) -> str:
    return path.replace("\\", "\\\\").replace("?", "\\?")


# --------------------------------------------------------------------------- URLPattern

_PSL: dict[bool, object] = {}


def _has_registry_controlled_domain(host: str, include_private: bool, include_unknown: bool) -> bool:
    """net::registry_controlled_domains::HostHasRegistryControlledDomain, via publicsuffixlist."""
    # The cookies helper's websession._psl_py may replace this; publicsuffixlist is a dependency.
    from publicsuffixlist import PublicSuffixList

    psl = _PSL.get(include_private)
    if psl is None:
        psl = _PSL[include_private] = PublicSuffixList(only_icann=not include_private)
    canonical = canonicalize_host(host)
    if not canonical or canonical.startswith("[") or _ipv4(canonical):
        return False
    canonical = canonical.rstrip(".") if canonical.endswith(".") else canonical
    suffix = psl.privatesuffix(canonical, accept_unknown=include_unknown)  # type: ignore[attr-defined]
    return suffix is not None


def _check_valid_schemes(valid_schemes: object) -> None:
    if not isinstance(valid_schemes, int) or isinstance(valid_schemes, bool) or not (
        valid_schemes == SCHEME_ALL or 0 <= valid_schemes < 1 << 31
    ):
        raise ValueError(
            f"valid_schemes must be SCHEME_ALL or a mask of SCHEME_* bits, not {valid_schemes!r}"
        )


def _valid_port_for_scheme(scheme: str, port: str) -> bool:
    if port == "*":
        return True
    if scheme not in _DEFAULT_PORTS:
        return False
    if not re.fullmatch(r"-?[0-9]+", port):
        return False
    return 0 <= int(port) < 65536


class URLPattern:
    """One Chrome extension match pattern (``extensions::URLPattern``)."""

    __slots__ = (
        "_host",
        "_match_all_urls",
        "_match_subdomains",
        "_path",
        "_path_escaped",
        "_port",
        "_scheme",
        "_valid_schemes",
    )

    def __init__(self, pattern: str, valid_schemes: int = SCHEME_ALL) -> None:
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a string, not {type(pattern).__name__}")
        _check_valid_schemes(valid_schemes)
        self._valid_schemes = valid_schemes
        self._match_all_urls = False
        self._match_subdomains = False
        self._scheme = ""
        self._host = ""
        self._port = "*"
        self._path = ""
        self._path_escaped = ""
        self._parse(pattern)

    # -- parsing (URLPattern::Parse)

    def _set_path(self, path: str) -> None:
        self._path = path
        self._path_escaped = _escaped_path(path)

    def _set_match_all_urls(self, value: bool) -> None:
        self._match_all_urls = value
        if value:
            self._match_subdomains = True
            self._scheme = "*"
            self._host = ""
            self._set_path("/*")

    def _set_scheme(self, scheme: str) -> bool:
        self._scheme = scheme
        if scheme == "*":
            self._valid_schemes &= SCHEME_HTTP | SCHEME_HTTPS
            return True
        return self._is_valid_scheme(scheme)

    def _parse(self, pattern: str) -> None:
        if pattern == ALL_URLS:
            self._set_match_all_urls(True)
            return
        scheme_end = pattern.find("://")
        has_standard_separator = True
        if scheme_end < 0:
            scheme_end = pattern.find(":")
            has_standard_separator = False
        if scheme_end < 0:
            raise URLPatternError("kMissingSchemeSeparator")
        if not self._set_scheme(pattern[:scheme_end]):
            raise URLPatternError("kInvalidScheme")
        standard = _is_standard(self._scheme)
        if standard != has_standard_separator:
            raise URLPatternError("kWrongSchemeSeparator")
        scheme_end += 3 if standard else 1
        if scheme_end >= len(pattern):
            raise URLPatternError("kEmptyHost")
        host_start = scheme_end
        if not standard:
            path_start = host_start
        elif self._scheme == "file":
            host_end = pattern.find("/", host_start)
            # file://foo* is file:///foo*; the host of a file pattern is ignored.
            path_start = host_start - 1 if host_end < 0 else host_end
        else:
            host_end = pattern.find("/", host_start)
            if host_start == host_end:
                raise URLPatternError("kEmptyHost")
            if host_end < 0:
                raise URLPatternError("kEmptyPath")
            host_and_port = pattern[host_start:host_end]
            port_separator = -1
            if host_and_port[0] != "[":
                port_separator = host_and_port.find(":")
            else:
                ipv6_end = host_and_port.find("]")
                if ipv6_end < 0:
                    raise URLPatternError("kInvalidHost")
                if ipv6_end == 1:
                    raise URLPatternError("kEmptyHost")
                if ipv6_end < len(host_and_port) - 1:
                    if host_and_port[ipv6_end + 1] != ":":
                        raise URLPatternError("kInvalidHost")
                    port_separator = ipv6_end + 1
            if port_separator >= 0:
                port = host_and_port[port_separator + 1:]
                if not _valid_port_for_scheme(self._scheme, port):
                    raise URLPatternError("kInvalidPort")
                self._port = port
                host_piece = host_and_port[:port_separator]
            else:
                host_piece = host_and_port
            if not host_piece:
                raise URLPatternError("kEmptyHost")
            if host_piece == "*":
                self._match_subdomains = True
                host_piece = ""
            elif host_piece.startswith("*."):
                if len(host_piece) == 2:
                    raise URLPatternError("kEmptyHost")
                self._match_subdomains = True
                host_piece = host_piece[2:]
            self._host = host_piece
            path_start = host_end
        self._set_path(pattern[path_start:])
        if "*" in self._host:
            raise URLPatternError("kInvalidHostWildcard")
        if self._host:
            self._host = canonicalize_host(self._host)
            if not self._host:
                raise URLPatternError("kInvalidHost")
        if "\0" in self._host:
            raise URLPatternError("kInvalidHost")

    # -- properties

    @property
    def valid_schemes(self) -> int:
        return self._valid_schemes

    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def host(self) -> str:
        return self._host

    @property
    def match_subdomains(self) -> bool:
        return self._match_subdomains

    @property
    def match_all_urls(self) -> bool:
        return self._match_all_urls

    @property
    def path(self) -> str:
        return self._path

    @property
    def port(self) -> str:
        return self._port

    def get_as_string(self) -> str:
        """Return the pattern as Chromium prints it (GetAsString)."""
        if self._match_all_urls:
            return ALL_URLS
        standard = _is_standard(self._scheme)
        spec = self._scheme + ("://" if standard else ":")
        if self._scheme != "file" and standard:
            if self._match_subdomains:
                spec += "*"
                if self._host:
                    spec += "."
            spec += self._host
            if self._port != "*":
                spec += ":" + self._port
        return spec + self._path

    def __str__(self) -> str:
        return self.get_as_string()

    def __repr__(self) -> str:
        return f"URLPattern({self.get_as_string()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, URLPattern):
            return NotImplemented
        return self.get_as_string() == other.get_as_string()

    def __lt__(self, other: URLPattern) -> bool:
        return self.get_as_string() < other.get_as_string()

    def __hash__(self) -> int:
        return hash(self.get_as_string())

    # -- matching

    def _is_valid_scheme(self, scheme: str) -> bool:
        if self._valid_schemes == SCHEME_ALL:
            return True
        return bool(self._valid_schemes & _SCHEME_BITS.get(scheme, 0))

    def matches_scheme(self, scheme: str) -> bool:
        """Tell whether a URL with ``scheme`` can match (MatchesScheme)."""
        if not self._is_valid_scheme(scheme):
            return False
        return self._scheme == "*" or scheme == self._scheme

    def _matches_host(self, host: str, is_ip: bool) -> bool:
        test = host.removesuffix(".")
        own = self._host.removesuffix(".")
        if test == own:
            return True
        if self._match_subdomains and not own:
            return True
        if not self._match_subdomains or is_ip:
            return False
        if len(test) <= len(own) + 1 or not test.endswith(own):
            return False
        return test[len(test) - len(own) - 1] == "."

    def matches_host(self, host: str) -> bool:
        """Tell whether ``host`` matches, canonicalising it as ``http://<host>/`` (MatchesHost)."""
        target = _parse_url(b"http://" + _utf8(host) + b"/")
        if target is None:
            return self._matches_host("", False)
        return self._matches_host(target.host, target.is_ip)

    def matches_port(self, port: str) -> bool:
        """Tell whether the port pattern accepts ``port`` (MatchesPortPattern)."""
        return self._port == "*" or self._port == port

    def matches_path(self, path: str) -> bool:
        """Glob-match ``path``; ``/foo/*`` also matches ``/foo`` (MatchesPath)."""
        if self._path_escaped == path + "/*":
            return True
        return _glob(path, self._path)

    def _matches_target(self, target: _Target) -> bool:
        if not self.matches_scheme(target.scheme):
            return False
        if self._match_all_urls:
            return True
        if not target.has_path:
            return False
        if self._scheme != "file" and not self._matches_host(target.host, target.is_ip):
            return False
        return self.matches_port(target.port) and self.matches_path(target.path)

    def matches_url(self, url: str | bytes) -> bool:
        """Tell whether ``url`` matches (MatchesURL); ``bytes`` are a raw 8-bit URL."""
        target = _parse_url(_url_bytes(url))
        return target is not None and self._matches_target(target)

    # -- relations between patterns

    def _copy(self) -> URLPattern:
        clone = object.__new__(URLPattern)
        for name in URLPattern.__slots__:
            setattr(clone, name, getattr(self, name))
        return clone

    def get_explicit_schemes(self) -> list[str]:
        """Return the concrete schemes this pattern stands for (GetExplicitSchemes)."""
        wildcard = self._scheme == "*"
        if not wildcard and not self._match_all_urls and self._is_valid_scheme(self._scheme):
            return [self._scheme]
        return [
            name for name, bit in VALID_SCHEMES
            if (self._valid_schemes == SCHEME_ALL or self._valid_schemes & bit)
            and (wildcard or name == self._scheme)
        ]

    def convert_to_explicit_schemes(self) -> list[URLPattern]:
        """Split into one pattern per explicit scheme (ConvertToExplicitSchemes)."""
        result = []
        for scheme in self.get_explicit_schemes():
            clone = self._copy()
            clone._set_scheme(scheme)
            clone._set_match_all_urls(False)
            result.append(clone)
        return result

    def _matches_any_scheme(self, schemes: Iterable[str]) -> bool:
        return any(self.matches_scheme(s) for s in schemes)

    def overlaps_with(self, other: URLPattern) -> bool:
        """Tell whether some URL can match both patterns (OverlapsWith)."""
        if self._match_all_urls or other._match_all_urls:
            return True
        return (
            (self._matches_any_scheme(other.get_explicit_schemes())
             or other._matches_any_scheme(self.get_explicit_schemes()))
            and (self.matches_host(other._host) or other.matches_host(self._host))
            and (self.matches_port(other._port) or other.matches_port(self._port))
            and (self.matches_path(_strip_star(other._path))
                 or other.matches_path(_strip_star(self._path)))
        )

    def contains(self, other: URLPattern) -> bool:
        """Tell whether every URL ``other`` matches is matched by this pattern (Contains)."""
        if self._match_all_urls and (
            self._valid_schemes & other._valid_schemes
        ) == other._valid_schemes:
            return True
        return (
            all(self.matches_scheme(s) for s in other.get_explicit_schemes())
            and self.matches_host(other._host)
            and (not other._match_subdomains or self._match_subdomains)
            and self.matches_port(other._port)
            and self.matches_path(_strip_star(other._path))
        )

    def intersection(self, other: URLPattern) -> URLPattern | None:
        """Return the pattern matching exactly what both match, or None (CreateIntersection)."""
        if self._valid_schemes == SCHEME_ALL:
            schemes = other._valid_schemes
        elif other._valid_schemes == SCHEME_ALL:
            schemes = self._valid_schemes
        else:
            schemes = self._valid_schemes & other._valid_schemes
        if schemes == SCHEME_NONE:
            return None
        source = None
        if self == other or other._match_all_urls:
            source = self
        elif self._match_all_urls:
            source = other
        if source is not None:
            if schemes == source._valid_schemes:
                return source._copy()
            return URLPattern(source.get_as_string(), schemes)

        def pick(own: str, theirs: str, mine_accepts: bool, they_accept: bool) -> str | None:
            if mine_accepts:
                return theirs
            if they_accept:
                return own
            return None

        scheme = pick(self._scheme, other._scheme,
                      self.matches_scheme(other._scheme), other.matches_scheme(self._scheme))
        host = pick(self._host, other._host,
                    self.matches_host(other._host), other.matches_host(self._host))
        port = pick(self._port, other._port,
                    self.matches_port(other._port), other.matches_port(self._port))
        path = pick(self._path, other._path,
                    self.matches_path(other._path), other.matches_path(self._path))
        if scheme is None or host is None or port is None or path is None:
            return None
        subdomains = ""
        if self._match_subdomains and other._match_subdomains:
            subdomains = "*" if not host else "*."
        separator = "://" if _is_standard(scheme) else ":"
        return URLPattern(f"{scheme}{separator}{subdomains}{host}:{port}{path}", schemes)

    def matches_effective_tld(
        self, include_private: bool = False, include_unknown: bool = False
    ) -> bool:
        """Tell whether the pattern covers a whole registry such as ``*.com`` (MatchesEffectiveTld)."""
        if self._match_all_urls or (self._match_subdomains and not self._host):
            return True
        if not self._match_subdomains:
            return False
        if _has_registry_controlled_domain(self._host, include_private, include_unknown):
            return False
        return _has_registry_controlled_domain(
            "notatld." + self._host, include_private, include_unknown
        )

    def matches_single_origin(self) -> bool:
        """Tell whether the pattern names one scheme and one host (MatchesSingleOrigin)."""
        return not self.matches_effective_tld() and self._scheme != "*" and not self._match_subdomains


def _strip_star(path: str) -> str:
    return path.removesuffix("*")


# --------------------------------------------------------------------------- URLPatternSet


def _check_tag(tag: object) -> None:
    if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag <= 63:
        raise ValueError(f"tag must be an int from 0 to 63, not {tag!r}")


class URLPatternSet:
    """Tagged patterns matched against a URL in one pass; ``match_mask`` ORs ``1 << tag``.

    Patterns are indexed by host: an exact-host table, a subdomain table probed with every
    dot-suffix of the URL host, and a list of host wildcards (``*``, ``<all_urls>``, file:).
    """

    def __init__(self, valid_schemes: int = SCHEME_ALL) -> None:
        _check_valid_schemes(valid_schemes)
        self._valid_schemes = valid_schemes
        self._exact: dict[str, list[tuple[URLPattern, int]]] = {}
        self._subdomain: dict[str, list[tuple[URLPattern, int]]] = {}
        self._wildcard: list[tuple[URLPattern, int]] = []
        self._count = 0

    def add(self, pattern: str, tag: int) -> None:
        """Parse ``pattern`` and add it under ``tag`` (0..63); raise URLPatternError if invalid."""
        _check_tag(tag)
        parsed = URLPattern(pattern, self._valid_schemes)
        entry = (parsed, 1 << tag)
        host = parsed.host.removesuffix(".")
        if parsed.match_all_urls or parsed.scheme == "file" or (
            parsed.match_subdomains and not host
        ):
            self._wildcard.append(entry)
        elif parsed.match_subdomains:
            self._subdomain.setdefault(host, []).append(entry)
        else:
            self._exact.setdefault(host, []).append(entry)
        self._count += 1

    def remove_tag(self, tag: int) -> None:
        """Drop every pattern added under ``tag``."""
        _check_tag(tag)
        bit = 1 << tag

        def keep(entries: list[tuple[URLPattern, int]]) -> list[tuple[URLPattern, int]]:
            kept = [e for e in entries if e[1] != bit]
            self._count -= len(entries) - len(kept)
            return kept

        self._wildcard = keep(self._wildcard)
        for table in (self._exact, self._subdomain):
            for key in list(table):
                table[key] = keep(table[key])
                if not table[key]:
                    del table[key]

    def clear(self) -> None:
        """Drop every pattern."""
        self._exact.clear()
        self._subdomain.clear()
        self._wildcard.clear()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def match_mask(self, url: str | bytes) -> int:
        """Return the OR of ``1 << tag`` over every pattern that matches ``url``."""
        target = _parse_url(_url_bytes(url))
        if target is None:
            return 0
        mask = 0
        for parsed, bit in self._wildcard:
            if not mask & bit and parsed._matches_target(target):
                mask |= bit
        host = target.host.removesuffix(".")
        for parsed, bit in self._exact.get(host, ()):
            if not mask & bit and parsed._matches_target(target):
                mask |= bit
        if self._subdomain:
            for parsed, bit in self._subdomain.get(host, ()):
                if not mask & bit and parsed._matches_target(target):
                    mask |= bit
            if not target.is_ip:
                dot = host.find(".", 1)
                while dot > 0:
                    for parsed, bit in self._subdomain.get(host[dot + 1:], ()):
                        if not mask & bit and parsed._matches_target(target):
                            mask |= bit
                    dot = host.find(".", dot + 1)
        return mask
