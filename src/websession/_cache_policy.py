"""RFC 9111 rules for a private HTTP cache: what may be stored, how fresh it is, how to validate.

Pure functions over header maps; no I/O. ``HttpCache`` asks these questions, the stores keep
the bytes. Where RFC 9111 leaves a choice, the choice is Chromium's
(net/http/http_response_headers.cc, net/http/http_cache_transaction.cc) unless a comment says
otherwise.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from multidict import CIMultiDict

# RFC 9110 §7.6.1 plus the fields RFC 9111 §3.1 tells a cache not to store.
HOP_BY_HOP = frozenset(
    (
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-authenticate", "proxy-authentication-info", "proxy-authorization",
    )
)
# RFC 9111 §3.2: a 304 or HEAD response updates every stored field except these.
NOT_UPDATED = HOP_BY_HOP | {"content-length"}
# RFC 9110 §15: the status codes this cache understands (RFC 9111 §5.2.2.3 must-understand).
UNDERSTOOD_STATUS = frozenset(
    (200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 307, 308,
     400, 401, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417,
     421, 422, 426, 500, 501, 502, 503, 504, 505)
)
# RFC 9110 §15.1: heuristically cacheable status codes.
HEURISTIC_STATUS = frozenset((200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501))
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
FETCH_CACHE_MODES = ("default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached")
# RFC 9111 §1.2.2: delta-seconds beyond 2^31 are clamped to it.
DELTA_MAX = 2147483648
# RFC 9111 §4.2.2 leaves the fraction to the cache; 10% is the figure it and Chromium use.
HEURISTIC_FRACTION = 0.1

CacheControl = dict[str, "str | None"]

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 and asctime forms; names case-insensitively.
_IMF = re.compile(
    r"([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt", re.IGNORECASE
)
_RFC850 = re.compile(
    r"([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt", re.IGNORECASE
)
_ASCTIME = re.compile(
    r"([a-z]{3}) ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})", re.IGNORECASE
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LEADING_DIGITS = re.compile(r"\d+")


def parse_http_date(value: str | None) -> float | None:
    """Return the POSIX time of an HTTP-date, or ``None`` when it is not one (RFC 9110 §5.6.7)."""
    if value is None:
        return None
    text = value.strip()
    match = _IMF.fullmatch(text)
    if match:
        wday, day, mon, year, hh, mm, ss = match.groups()
        if wday.lower() not in _DAYS:
            return None
    else:
        match = _RFC850.fullmatch(text)
        if match:
            wday, day, mon, yy, hh, mm, ss = match.groups()
            if wday.lower() not in _LONG_DAYS:
                return None
            # RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century.
            this_year = time.gmtime().tm_year
            year_num = this_year // 100 * 100 + int(yy)
            if year_num > this_year + 50:
                year_num -= 100
            year = str(year_num)
        else:
            match = _ASCTIME.fullmatch(text)
            if not match:
                return None
            wday, mon, day, hh, mm, ss, year = match.groups()
            if wday.lower() not in _DAYS:
                return None
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    d, h, m, s = int(day), int(hh), int(mm), int(ss)
    if not (1 <= d <= 31 and h <= 23 and m <= 59 and s <= 60):
        return None
    try:
        return float(calendar.timegm((int(year), month, d, h, m, min(s, 59), 0, 0, 0)))
    except (OverflowError, ValueError):
        return None


def format_http_date(when: float) -> str:
    """Format a POSIX time as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))


def _split_list(value: str) -> list[str]:
    """Split a comma-separated field value, keeping commas inside quoted strings (RFC 9110 §5.6.1)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif quoted and ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == '"':
            current.append(ch)
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_cache_control(values: Iterable[str]) -> CacheControl:
    """Parse every ``Cache-Control`` line into ``{directive: argument or None}``.

    Names are case-insensitive; quoted arguments are unquoted (RFC 9111 §5.2); a directive named
    twice keeps its first occurrence, as Chromium does. A name with whitespace before ``=`` is
    not the directive (``max-age =5`` is ignored).
    """
    directives: CacheControl = {}
    for line in values:
        for item in _split_list(line):
            item = item.lstrip(" \t")
            if not item.strip():
                continue
            name, sep, arg = item.partition("=")
            if not sep:
                name = name.rstrip(" \t")
            if not _TOKEN.fullmatch(name):
                continue
            key = name.lower()
            if key in directives:
                continue
            directives[key] = _unquote(arg.rstrip(" \t")) if sep else None
    return directives


def delta_seconds(arg: str | None) -> int | None:
    """Read a directive's delta-seconds; leading digits count (``3600.5`` → 3600), as Firefox does.

    ``None`` when there are no leading digits (``-1``, ``'3600'``, absent); clamped to 2^31.
    """
    if arg is None:
        return None
    match = _LEADING_DIGITS.match(arg)
    if match is None:
        return None
    return min(int(match.group()), DELTA_MAX)


def parse_age(values: list[str]) -> int:
    """Return the ``Age`` in seconds: the first member of the first line, 0 when invalid.

    RFC 9111 §5.1: a non-integer Age is ignored; a parameter after the digits is tolerated.
    """
    if not values:
        return 0
    first = values[0].split(",")[0].strip()
    match = re.fullmatch(r"(\d+)\s*(?:;.*)?", first)
    if match is None:
        return 0
    return min(int(match.group(1)), DELTA_MAX)


def header_values(headers: Any, name: str) -> list[str]:
    """All values of ``name`` in a CIMultiDict or a list of pairs."""
    if isinstance(headers, (list, tuple)):
        lower = name.lower()
        return [v for n, v in headers if n.lower() == lower]
    return list(headers.getall(name, ()))


def connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Names listed in ``Connection`` (hop-by-hop for this message, RFC 9110 §7.6.1)."""
    listed: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            listed.update(p.strip().lower() for p in value.split(",") if p.strip())
    return listed


def storable_headers(headers: Iterable[tuple[str, str]], cc: CacheControl) -> list[tuple[str, str]]:
    """The fields a cache keeps (RFC 9111 §3.1): no hop-by-hop, no ``no-cache="a"``-listed ones."""
    pairs = list(headers)
    drop = HOP_BY_HOP | connection_listed(pairs)
    listed = cc.get("no-cache")
    if listed:
        drop = drop | {p.strip().lower() for p in listed.split(",") if p.strip()}
    return [(n, v) for n, v in pairs if n.lower() not in drop]


def cache_key(url: str) -> str:
    """The primary cache key: the URL without its fragment (RFC 9111 §2)."""
    hash_at = url.find("#")
    return url if hash_at < 0 else url[:hash_at]


# -- Vary (RFC 9111 §4.1) ----------------------------------------------------------------------

def vary_names(headers: Any) -> list[str] | None:
    """The lower-cased field names ``Vary`` lists; ``None`` when it says ``*`` (never reusable)."""
    names: list[str] = []
    for line in header_values(headers, "vary"):
        for part in line.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name == "*":
                return None
            if name not in names:
                names.append(name)
    return names


def normalise_field(name: str, values: list[str]) -> str | None:
    """Normalise a request field for Vary matching (RFC 9111 §4.1 permits it).

    Lines are combined and whitespace around list members removed; ``Accept-Language`` is also
    compared without case and order.
    """
    if not values:
        return None
    members = [p.strip() for p in ",".join(values).split(",")]
    if name == "accept-language":
        members = sorted(m.lower().replace(" ", "") for m in members if m)
    return ",".join(members)


def vary_key(names: list[str], request_headers: Any) -> tuple[tuple[str, str | None], ...]:
    """The secondary key: each ``Vary`` name with the request's normalised value."""
    return tuple((n, normalise_field(n, header_values(request_headers, n))) for n in names)


# -- storing (RFC 9111 §3) -----------------------------------------------------------------------

def response_cache_control(headers: Any) -> CacheControl:
    return parse_cache_control(header_values(headers, "cache-control"))


def is_storable(
    method: str, status: int, request_headers: Any, response_headers: Any,
    request_cc: CacheControl, response_cc: CacheControl,
) -> bool:
    """Tell whether a private cache may store this response (RFC 9111 §3)."""
    if method != "GET":
        return False
    if "no-store" in request_cc:
        return False
    if "must-understand" in response_cc:
        if status not in UNDERSTOOD_STATUS:
            return False
    elif "no-store" in response_cc:
        return False
    if status in (206, 304) or status < 200 or status > 599:
        return False
    if vary_names(response_headers) is None:
        return False
    if "authorization" in request_headers and not (
        "must-revalidate" in response_cc or "public" in response_cc or "s-maxage" in response_cc
    ):
        return False
    # §3: something must make the stored response reusable or revalidatable.
    return bool(
        "max-age" in response_cc
        or "expires" in response_headers
        or "public" in response_cc
        or "private" in response_cc
        or status in HEURISTIC_STATUS
    )


# -- freshness (RFC 9111 §4.2) ---------------------------------------------------------------------

class Freshness:
    """What §4.2 needs from a stored response, computed once when it is stored or refreshed."""

    __slots__ = (
        "corrected_initial_age",
        "heuristic",
        "immutable",
        "lifetime",
        "must_revalidate",
        "no_cache",
        "response_time",
        "stale_if_error",
        "stale_while_revalidate",
    )

    def __init__(
        self, status: int, headers: Any, request_time: float, response_time: float,
        cc: CacheControl | None = None,
    ) -> None:
        cc = response_cache_control(headers) if cc is None else cc
        self.response_time = response_time
        date_value = parse_http_date(_single(headers, "date"))
        if date_value is None:
            date_value = response_time
        apparent_age = max(0.0, response_time - date_value)
        response_delay = max(0.0, response_time - request_time)
        corrected_age_value = parse_age(header_values(headers, "age")) + response_delay
        self.corrected_initial_age = max(apparent_age, corrected_age_value)
        self.heuristic = False
        self.lifetime = self._lifetime(status, headers, cc, date_value)
        self.no_cache = "no-cache" in cc and not cc.get("no-cache")
        self.must_revalidate = "must-revalidate" in cc
        self.immutable = "immutable" in cc
        self.stale_while_revalidate = float(delta_seconds(cc.get("stale-while-revalidate")) or 0)
        self.stale_if_error = float(delta_seconds(cc.get("stale-if-error")) or 0)

    def _lifetime(self, status: int, headers: Any, cc: CacheControl, date_value: float) -> float:
        # A private cache ignores s-maxage (RFC 9111 §5.2.2.10).
        if "max-age" in cc:
            max_age = delta_seconds(cc["max-age"])
            return 0.0 if max_age is None else float(max_age)
        expires_lines = header_values(headers, "expires")
        if expires_lines:
            # §5.3: an invalid Expires (or more than one) means already expired.
            expires = parse_http_date(expires_lines[0]) if len(expires_lines) == 1 else None
            return 0.0 if expires is None else max(0.0, expires - date_value)
        if status in HEURISTIC_STATUS or "public" in cc:
            last_modified = parse_http_date(_single(headers, "last-modified"))
            if last_modified is not None and last_modified < date_value:
                self.heuristic = True
                return (date_value - last_modified) * HEURISTIC_FRACTION
        return 0.0

    def current_age(self, now: float) -> float:
        """§4.2.3 ``current_age``."""
        return self.corrected_initial_age + max(0.0, now - self.response_time)

    def expires(self) -> float:
        """The wall-clock time at which the response becomes stale."""
        return self.response_time + self.lifetime - self.corrected_initial_age


def _single(headers: Any, name: str) -> str | None:
    values = header_values(headers, name)
    return values[0] if values else None


# -- requests --------------------------------------------------------------------------------------

def request_cache_control(headers: Any) -> CacheControl:
    """The request's directives; ``Pragma: no-cache`` counts as ``no-cache`` when there is no
    ``Cache-Control`` (RFC 7234 §5.4, as Chromium's HttpCache::Transaction::SetRequest does)."""
    lines = header_values(headers, "cache-control")
    if lines:
        return parse_cache_control(lines)
    for value in header_values(headers, "pragma"):
        if "no-cache" in (p.strip().lower() for p in value.split(",")):
            return {"no-cache": None}
    return {}


EXTERNAL_CONDITIONALS = ("if-none-match", "if-modified-since", "if-match", "if-unmodified-since",
                         "if-range")


def effective_mode(mode: str, request_headers: Any) -> str:
    """The Fetch cache mode after Fetch §4.5 step 8.23: a caller's own conditional is no-store."""
    if mode == "default" and any(h in request_headers for h in EXTERNAL_CONDITIONALS):
        return "no-store"
    return mode


def apply_mode_headers(mode: str, headers: CIMultiDict[str]) -> None:
    """Add the request fields Fetch §4.5 (HTTP-network-or-cache fetch) adds for a cache mode."""
    if mode == "no-cache" and "cache-control" not in headers:
        headers["Cache-Control"] = "max-age=0"
    elif mode in ("no-store", "reload"):
        if "pragma" not in headers:
            headers["Pragma"] = "no-cache"
        if "cache-control" not in headers:
            headers["Cache-Control"] = "no-cache"


def satisfies_request(fresh: Freshness, now: float, request_cc: CacheControl) -> bool:
    """Tell whether a stored response may be used without validation for this request.

    RFC 9111 §4.2 with the request directives of §5.2.1 (max-age, min-fresh, max-stale).
    """
    if fresh.no_cache or "no-cache" in request_cc:
        return False
    age = fresh.current_age(now)
    lifetime = fresh.lifetime
    if "max-age" in request_cc:
        limit = delta_seconds(request_cc["max-age"])
        if limit is None or age > limit:
            return False
    if "min-fresh" in request_cc:
        min_fresh = delta_seconds(request_cc["min-fresh"])
        if min_fresh is not None and lifetime - age < min_fresh:
            return False
    if age < lifetime:
        return True
    if fresh.must_revalidate or "max-stale" not in request_cc:
        return False
    max_stale = request_cc["max-stale"]
    if max_stale is None:
        return True
    allowed = delta_seconds(max_stale)
    return allowed is not None and age - lifetime <= allowed


def validators(headers: Any) -> list[tuple[str, str]]:
    """The conditional fields to validate a stored response (RFC 9111 §4.3.1)."""
    out: list[tuple[str, str]] = []
    etag = _single(headers, "etag")
    if etag is not None:
        out.append(("If-None-Match", etag))
    last_modified = _single(headers, "last-modified")
    if last_modified is not None:
        out.append(("If-Modified-Since", last_modified))
    return out


def merge_headers(
    stored: list[tuple[str, str]], fresh: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Update stored fields with a 304's (or HEAD 200's) fields (RFC 9111 §3.2, §4.3.4)."""
    incoming = list(fresh)
    skip = NOT_UPDATED | connection_listed(incoming)
    replace: dict[str, list[tuple[str, str]]] = {}
    for name, value in incoming:
        lower = name.lower()
        if lower not in skip:
            replace.setdefault(lower, []).append((name, value))
    merged: list[tuple[str, str]] = []
    done: set[str] = set()
    for name, value in stored:
        lower = name.lower()
        if lower in replace:
            if lower not in done:
                merged.extend(replace[lower])
                done.add(lower)
        else:
            merged.append((name, value))
    for lower, pairs in replace.items():
        if lower not in done:
            merged.extend(pairs)
    return merged


def head_matches(stored: Any, head: Any) -> bool:
    """Tell whether a 200 response to HEAD describes the stored response (RFC 9111 §4.3.5)."""
    for name in ("etag", "last-modified", "content-length"):
        old, new = _single(stored, name), _single(head, name)
        if old is not None and new is not None and old != new:
            return False
    return True


def invalidation_targets(url: str, response_headers: Any) -> list[str]:
    """URLs an unsafe method's non-error response invalidates (RFC 9111 §4.4).

    The target URI, and ``Location`` / ``Content-Location`` when they share its origin.
    """
    targets = [cache_key(url)]
    origin = _origin(url)
    for name in ("location", "content-location"):
        value = _single(response_headers, name)
        if not value:
            continue
        absolute = urljoin(url, value.strip())
        if _origin(absolute) == origin:
            key = cache_key(absolute)
            if key not in targets:
                targets.append(key)
    return targets


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower())


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, for clearing by origin."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))


# -- ranges from a complete stored response (RFC 9110 §14) ------------------------------------------

def single_range(value: str, length: int) -> tuple[int, int] | None:
    """Resolve one ``bytes=`` range against a body of ``length``; ``None`` when not one satisfiable
    range (the request then goes to the network)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value, re.IGNORECASE)
    if match is None or length == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        count = int(last)
        if count == 0:
            return None
        return max(0, length - count), length - 1
    start = int(first)
    end = length - 1 if last == "" else min(int(last), length - 1)
    if start > end or start >= length:
        return None
    return start, end


def headers_size(key: str, headers: Iterable[tuple[str, str]]) -> int:
    """Bytes the cache charges for an entry's metadata: the key and every ``name: value\\r\\n``."""
    size = len(key.encode("utf-8", "surrogatepass"))
    for name, value in headers:
        size += len(name.encode("utf-8", "surrogatepass"))
        size += len(value.encode("utf-8", "surrogatepass")) + 4
    return size


def as_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]] | Any) -> list[tuple[str, str]]:
    """Header pairs, in order, from a multidict or pairs."""
    if hasattr(headers, "items"):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]
