"""The cookie store: the pure-Python reference of ``websession._cookiestore_c``.

Chromium's ``CookieMonster`` (``net/cookies/cookie_monster.cc``, ``canonical_cookie.cc``,
``parsed_cookie.cc``, ``cookie_util.cc``) reduced to what a browser-less client needs:
RFC 6265bis ``Set-Cookie`` parsing, storage in buckets keyed by registrable domain (so a
lookup touches only its own bucket), matching for a URL with Chromium's order, SameSite
against the request's site context, and Chromium's limits and eviction.

Cookies cross the interface as records, tuples in the order of :data:`FIELDS`; times are
integer microseconds since the Unix epoch. URLs given to the store are canonical (what yarl
or the pipeline produce): lower-case scheme, punycode host.

With ``recording`` on, every change is appended to a log that :meth:`CookieStore.drain`
returns as ``(cause, record)`` pairs, in the order the changes happened (the ``'changed'``
event and the write-behind persistence read it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from . import _psl_py

# A cookie record: the tuple the store hands out and takes in.
FIELDS = (
    "name", "value", "domain", "path", "creation", "expiry", "last_access",
    "secure", "http_only", "persistent", "same_site", "priority", "partitioned",
)  # fmt: skip
Record = tuple[str, str, str, str, int, int, int, bool, bool, bool, int, int, bool]

# CookieSameSite (net/cookies/cookie_constants.h)
UNSPECIFIED, NO_RESTRICTION, LAX, STRICT = -1, 0, 1, 2
# CookiePriority
PRIORITY_LOW, PRIORITY_MEDIUM, PRIORITY_HIGH = 0, 1, 2

# Change causes (CookieChangeCause); ACCESSED is internal: a last-access update to persist.
INSERTED, INSERTED_NO_CHANGE_OVERWRITE, INSERTED_NO_VALUE_CHANGE_OVERWRITE = 0, 1, 2
EXPLICIT, OVERWRITE, EXPIRED, EVICTED, EXPIRED_OVERWRITE, UNKNOWN, ACCESSED = 3, 4, 5, 6, 7, 8, 9
CAUSES = (
    "inserted", "inserted-no-change-overwrite", "inserted-no-value-change-overwrite", "explicit",
    "overwrite", "expired", "evicted", "expired-overwrite", "unknown", "accessed",
)  # fmt: skip

# Exclusion reasons (CookieInclusionStatus) an insert can end with.
EXCLUDE_OVERWRITE_SECURE = "EXCLUDE_OVERWRITE_SECURE"
EXCLUDE_OVERWRITE_HTTP_ONLY = "EXCLUDE_OVERWRITE_HTTP_ONLY"

# Same-site contexts, weakest first (CookieOptions::SameSiteCookieContext).
CROSS_SITE, LAX_METHOD_UNSAFE, SAME_SITE_LAX, SAME_SITE_STRICT = 0, 1, 2, 3

SECOND = 1_000_000
DAY = 86_400 * SECOND
MAX_EXPIRY_AGE = 400 * DAY  # RFC 6265bis §5.5: expiry capped at 400 days
LAX_ALLOW_UNSAFE_AGE = 120 * SECOND  # kLaxAllowingUnsafeCookieAge
ACCESS_UPDATE_THRESHOLD = 60 * SECOND  # kDefaultAccessUpdateThresholdSeconds
MAX_NAME_VALUE = 4096  # parsed_cookie.h kMaxCookieNamePlusValueSize
MAX_ATTRIBUTE_VALUE = 1024  # kMaxCookieAttributeValueSize
MAX_PAIRS = 16  # ParsedCookie::kMaxPairs
# CookieMonster defaults
DOMAIN_MAX, DOMAIN_PURGE_TO = 180, 150
TOTAL_MAX, TOTAL_PURGE_TO = 3300, 3000
SAFE_FROM_GLOBAL_PURGE_DAYS = 30
DOMAIN_QUOTAS = (30, 50, 70)  # cookies of each priority kept by the per-domain purge

COOKIEABLE_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_WHITESPACE = " \t"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_DELIMITERS = frozenset("\t !\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~")
_FORBIDDEN_DOMAIN = frozenset(" #%/:<>?@[\\]^|")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_ASCII_UPPER = {c: c - 32 for c in range(97, 123)}


def _lower(s: str) -> str:
    # Chromium folds ASCII case only (base::ToLowerASCII).
    return s.lower() if s.isascii() else s.translate(_ASCII_LOWER)


# --- URLs -----------------------------------------------------------------------------------


def split_url(url: str) -> tuple[str, str, str] | None:
    """Split a canonical URL into (scheme, host, path); the host keeps IPv6 brackets."""
    colon = url.find("://")
    if colon <= 0:
        return None
    scheme = _lower(url[:colon])
    rest = url[colon + 3 :]
    end = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if 0 <= i < end:
            end = i
    authority = rest[:end]
    at = authority.rfind("@")
    if at >= 0:
        authority = authority[at + 1 :]
    if authority.startswith("["):
        close = authority.find("]")
        host = authority[: close + 1] if close >= 0 else authority
    else:
        colon = authority.find(":")
        host = authority if colon < 0 else authority[:colon]
    host = _lower(host)
    if not host:
        return None
    path_end = len(rest)
    for ch in "?#":
        i = rest.find(ch, end)
        if 0 <= i < path_end:
            path_end = i
    path = rest[end:path_end]
    if not path.startswith("/"):
        path = "/"
    return scheme, host, path


def is_ip(host: str) -> bool:
    """Tell whether ``host`` (canonical) is an IP literal."""
    if host.startswith("["):
        return True
    last = host[host.rfind(".") + 1 :]
    return bool(last) and last.isascii() and last.isdigit()


def is_trustworthy_host(host: str) -> bool:
    """Tell whether ``host`` is potentially trustworthy over plain HTTP (loopback, localhost)."""
    if host == "localhost" or host.endswith(".localhost") or host == "[::1]":
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isascii() and p.isdigit() for p in parts)


def is_secure_url(scheme: str, host: str) -> bool:
    """Tell whether a URL may read and write Secure cookies."""
    return scheme in ("https", "wss") or is_trustworthy_host(host)


def registrable_key(host: str) -> str:
    """Return the bucket key of a host or cookie domain (Chromium ``GetKey``)."""
    start = _registrable_start(host)
    if start < 0:
        return host.lstrip(".")
    return host[start:]


def _registrable_start(host: str) -> int:
    # Chromium GetDomainAndRegistry: leading dots are skipped, not rejected.
    lead = len(host) - len(host.lstrip("."))
    if lead == len(host):
        return -1
    found = _psl_py.registrable_domain(host[lead:])
    if found is None:
        return -1
    return len(host) - len(found)


def default_path(path: str) -> str:
    """Return the cookie default-path of a request path (RFC 6265bis §5.1.4)."""
    if not path.startswith("/"):
        return "/"
    i = path.rfind("/")
    return "/" if i == 0 else path[:i]


def path_matches(cookie_path: str, request_path: str) -> bool:
    """RFC 6265bis §5.1.4 path-match."""
    if not request_path.startswith(cookie_path):
        return False
    return (
        len(request_path) == len(cookie_path)
        or cookie_path.endswith("/")
        or request_path[len(cookie_path)] == "/"
    )


def domain_matches(domain: str, host: str) -> bool:
    """Tell whether a cookie ``domain`` (leading dot: domain cookie) covers ``host``."""
    if domain.startswith("."):
        return host == domain[1:] or host.endswith(domain)
    return host == domain


def site_of(url: str) -> tuple[str, str] | None:
    """Return the schemeful site (scheme, registrable domain or host) of a URL."""
    parts = split_url(url)
    if parts is None:
        return None
    scheme, host, _ = parts
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return scheme, registrable_key(host)


def same_site_context(
    url: str, site_for_cookies: str | None, is_top_level_navigation: bool, method: str
) -> int:
    """Chromium ComputeSameSiteContextForRequest, reduced to a site and a navigation flag."""
    if site_for_cookies is None or site_of(url) == site_of(site_for_cookies):
        return SAME_SITE_STRICT
    if is_top_level_navigation:
        return SAME_SITE_LAX if method.translate(_ASCII_UPPER) in _SAFE_METHODS else LAX_METHOD_UNSAFE
    return CROSS_SITE


# --- dates ----------------------------------------------------------------------------------


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _scan_2u(token: str, i: int) -> tuple[int, int] | None:
    # sscanf "%2u": at most two digits
    j = i
    while j < len(token) and j < i + 2 and "0" <= token[j] <= "9":
        j += 1
    if j == i:
        return None
    return int(token[i:j]), j


def _parse_time(token: str) -> tuple[int, int, int] | None:
    # sscanf(token, "%2u:%2u:%2u") == 3
    out = []
    i = 0
    for k in range(3):
        got = _scan_2u(token, i)
        if got is None:
            return None
        value, i = got
        out.append(value)
        if k < 2:
            if i >= len(token) or token[i] != ":":
                return None
            i += 1
    return out[0], out[1], out[2]


def parse_cookie_date(text: str) -> int | None:
    """Parse a cookie ``Expires`` date as Chromium does (``ParseCookieExpirationTime``).

    Return microseconds since the Unix epoch, or None when the date does not parse.
    """
    tokens: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in _DATE_DELIMITERS:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    day = month = year = -1
    hms: tuple[int, int, int] | None = None
    for token in tokens:
        if not ("0" <= token[0] <= "9"):
            if month < 0:
                low = _lower(token[:3])
                if low in _MONTHS:
                    month = _MONTHS.index(low) + 1
        elif ":" in token:
            if hms is None:
                hms = _parse_time(token)
        elif day < 0 and _utf8_len(token) <= 2:
            day = _atoi(token)
        elif year < 0 and _utf8_len(token) <= 5:
            year = _atoi(token)
    if day < 0 or month < 0 or year < 0 or hms is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = hms
    # RFC 6265bis §5.1.1 bounds; years past 9999 are refused as the corpus expects.
    if not (1601 <= year <= 9999) or hour > 23 or minute > 59 or second > 59:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day < 1 or day > _DAYS_IN_MONTH[month - 1] + (1 if month == 2 and leap else 0):
        return None
    days = _days_from_civil(year, month, day)
    return ((days * 24 + hour) * 60 + minute) * 60 * SECOND + second * SECOND


def _atoi(token: str) -> int:
    i = 0
    while i < len(token) and "0" <= token[i] <= "9":
        i += 1
    return int(token[:i]) if i else 0


# --- Set-Cookie parsing ---------------------------------------------------------------------


def _utf8_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def _has_ctl(line: str) -> bool:
    # RFC 6265bis §5.6: a CTL other than HTAB makes the whole line ignored.
    for ch in line:
        o = ord(ch)
        if (o < 0x20 and o != 0x09) or o == 0x7F:
            return True
    return False


def parse_set_cookie(line: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """Split a Set-Cookie value into (name, value, [(attribute, value)]) (ParsedCookie).

    As the http-state corpus (RFC 6265 §5.2) requires, a first pair without ``=`` makes the
    whole line ignored, where Chromium would take it as a nameless cookie.
    """
    if _has_ctl(line):
        return None
    n = len(line)
    pairs: list[tuple[str, str]] = []
    name = value = ""
    i = 0
    pair_num = 0
    while i < n and pair_num < MAX_PAIRS:
        while i < n and line[i] in _WHITESPACE:
            i += 1
        if i >= n:
            break
        token_start = i
        while i < n and line[i] not in ";=":
            i += 1
        token = line[token_start:i].rstrip(_WHITESPACE)
        has_equals = i < n and line[i] == "="
        if has_equals:
            i += 1
        value_start = i
        while i < n and line[i] != ";":
            i += 1
        val = line[value_start:i].strip(_WHITESPACE)
        if pair_num == 0:
            if not has_equals:
                return None
            name, value = token, val
        else:
            pairs.append((_lower(token), val))
        pair_num += 1
        if i < n:
            i += 1
    if pair_num == 0:
        return None
    return name, value, pairs


def _canonical_domain(value: str) -> str | None:
    """Canonicalise a Domain attribute's host, or None when it cannot be a host."""
    if not value.isascii():
        return None
    if any(ch in _FORBIDDEN_DOMAIN for ch in value):
        return None
    return _lower(value)


def cookie_domain(host: str, domain_attr: str | None) -> str | None:
    """Chromium ``GetCookieDomainWithString``: the cookie's domain, or None to reject it."""
    if not domain_attr or (is_ip(host) and host == domain_attr):
        return host
    domain = _canonical_domain(domain_attr)
    if not domain:
        return None
    if not domain.startswith("."):
        domain = "." + domain
    start = _registrable_start(host)
    if start < 0:
        # an IP, an intranet host or a public suffix: only the exact host, as a host cookie
        return host if host == domain[1:] else None
    dstart = _registrable_start(domain)
    if dstart < 0 or host[start:] != domain[dstart:]:
        return None
    if len(host) < len(domain):
        return domain if domain == "." + host else None
    return domain if host.endswith(domain) else None


def _effective_same_site(same_site: int, creation: int, now: int) -> int:
    # Unspecified is Lax by default; a young one is also sent on unsafe top-level navigations.
    if same_site == UNSPECIFIED:
        return -2 if now - creation < LAX_ALLOW_UNSAFE_AGE else LAX
    return same_site


def _included_in_context(effective: int, context: int) -> bool:
    if effective == NO_RESTRICTION:
        return True
    if effective == STRICT:
        return context == SAME_SITE_STRICT
    if effective == -2:
        return context >= LAX_METHOD_UNSAFE
    return context >= SAME_SITE_LAX


# --- the store ------------------------------------------------------------------------------


class _Cookie:
    __slots__ = FIELDS

    name: str
    value: str
    domain: str
    path: str
    creation: int
    expiry: int
    last_access: int
    secure: bool
    http_only: bool
    persistent: bool
    same_site: int
    priority: int
    partitioned: bool

    def __init__(self, rec: Record) -> None:
        for f, v in zip(FIELDS, rec):
            setattr(self, f, v)

    def record(self) -> Record:
        return (
            self.name, self.value, self.domain, self.path, self.creation, self.expiry,
            self.last_access, self.secure, self.http_only, self.persistent, self.same_site,
            self.priority, self.partitioned,
        )  # fmt: skip

    def expired(self, now: int) -> bool:
        return self.persistent and now >= self.expiry

    def same_data(self, other: _Cookie) -> bool:
        return (
            self.value == other.value and self.expiry == other.expiry
            and self.persistent == other.persistent and self.secure == other.secure
            and self.http_only == other.http_only and self.same_site == other.same_site
            and self.priority == other.priority and self.partitioned == other.partitioned
        )  # fmt: skip


def _sort_key(c: _Cookie) -> tuple[int, int]:
    # CookieSorter: longer path first, then earlier creation.
    return (-_utf8_len(c.path), c.creation)


class CookieStore:
    """Cookies in buckets keyed by registrable domain, with Chromium's rules and limits."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock
        self._buckets: dict[str, list[_Cookie]] = {}
        self._count = 0
        self._last_creation = 0
        self._log: list[tuple[int, Record]] = []
        self.recording = False
        self.domain_max, self.domain_purge_to = DOMAIN_MAX, DOMAIN_PURGE_TO
        self.total_max, self.total_purge_to = TOTAL_MAX, TOTAL_PURGE_TO
        self.safe_days = SAFE_FROM_GLOBAL_PURGE_DAYS
        # a lower bound of every cookie's last access: the global purge only runs when some
        # cookie may be older than the safe date (CookieMonster::earliest_access_time_)
        self._earliest_access = 2**62

    # -- configuration and bookkeeping

    def set_limits(
        self, domain_max: int, domain_purge_to: int, total_max: int, total_purge_to: int,
        safe_days: int,
    ) -> None:  # fmt: skip
        """Set the per-domain and global limits (0 for a maximum means no limit)."""
        for name, v in (("domain_max", domain_max), ("domain_purge_to", domain_purge_to),
                        ("total_max", total_max), ("total_purge_to", total_purge_to),
                        ("safe_days", safe_days)):  # fmt: skip
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, not {v!r}")
        if domain_max and domain_purge_to > domain_max:
            raise ValueError("domain_purge_to must not exceed domain_max")
        if total_max and total_purge_to > total_max:
            raise ValueError("total_purge_to must not exceed total_max")
        self.domain_max, self.domain_purge_to = domain_max, domain_purge_to
        self.total_max, self.total_purge_to = total_max, total_purge_to
        self.safe_days = safe_days

    def limits(self) -> tuple[int, int, int, int, int]:
        """Return (domain_max, domain_purge_to, total_max, total_purge_to, safe_days)."""
        return (self.domain_max, self.domain_purge_to, self.total_max, self.total_purge_to,
                self.safe_days)  # fmt: skip

    def now(self) -> int:
        """Return the store's current time in microseconds."""
        t = self._clock() if self._clock is not None else time.time()
        return int(t * SECOND)

    def __len__(self) -> int:
        return self._count

    def drain(self) -> list[tuple[int, Record]]:
        """Return and forget the changes logged since the last drain."""
        log, self._log = self._log, []
        return log

    def _note(self, cause: int, c: _Cookie) -> None:
        if self.recording:
            self._log.append((cause, c.record()))

    def _remove_at(self, bucket: list[_Cookie], i: int, cause: int) -> None:
        c = bucket.pop(i)
        self._count -= 1
        self._note(cause, c)

    def _creation_time(self, now: int) -> int:
        # CookieMonster::CurrentTime: creation times are unique and increasing.
        t = max(now, self._last_creation + 1)
        self._last_creation = t
        return t

    # -- reading

    def cookie_header(
        self, url: str, site_for_cookies: str | None = None,
        is_top_level_navigation: bool = False, method: str = "GET",
    ) -> str | None:  # fmt: skip
        """Return the ``Cookie`` header for a request to ``url``, or None when none applies."""
        parts = split_url(url)
        if parts is None or parts[0] not in COOKIEABLE_SCHEMES:
            return None
        scheme, host, path = parts
        bucket = self._buckets.get(registrable_key(host))
        if not bucket:
            return None
        context = same_site_context(url, site_for_cookies, is_top_level_navigation, method)
        now = self.now()
        found = self._match(bucket, host, path, is_secure_url(scheme, host), context, now)
        if not found:
            return None
        found.sort(key=_sort_key)
        out = []
        for c in found:
            if now - c.last_access > ACCESS_UPDATE_THRESHOLD:
                c.last_access = now
                if c.persistent:
                    self._note(ACCESSED, c)
            out.append(c.name + "=" + c.value if c.name else c.value)
        return "; ".join(out)

    def _match(
        self, bucket: list[_Cookie], host: str, path: str, secure: bool, context: int, now: int
    ) -> list[_Cookie]:
        found = []
        i = 0
        while i < len(bucket):
            c = bucket[i]
            if c.expired(now):
                self._remove_at(bucket, i, EXPIRED)
                continue
            i += 1
            if not domain_matches(c.domain, host) or not path_matches(c.path, path):
                continue
            if c.secure and not secure:
                continue
            if context != SAME_SITE_STRICT and not _included_in_context(
                _effective_same_site(c.same_site, c.creation, now), context
            ):
                continue
            found.append(c)
        return found

    def matching(self, url: str) -> list[Record]:
        """Return the cookies a request to ``url`` would carry, HttpOnly included, sorted."""
        parts = split_url(url)
        if parts is None or parts[0] not in COOKIEABLE_SCHEMES:
            return []
        scheme, host, path = parts
        bucket = self._buckets.get(registrable_key(host))
        if not bucket:
            return []
        found = self._match(bucket, host, path, is_secure_url(scheme, host), SAME_SITE_STRICT,
                            self.now())  # fmt: skip
        found.sort(key=_sort_key)
        return [c.record() for c in found]

    def all(self) -> list[Record]:
        """Return every cookie, expired ones collected first, sorted as Chromium sorts."""
        now = self.now()
        out = []
        for bucket in self._buckets.values():
            i = 0
            while i < len(bucket):
                if bucket[i].expired(now):
                    self._remove_at(bucket, i, EXPIRED)
                else:
                    out.append(bucket[i])
                    i += 1
        out.sort(key=_sort_key)
        return [c.record() for c in out]

    # -- writing

    def set_from_response(
        self, url: str, lines: Iterable[str], site_for_cookies: str | None = None,
        is_top_level_navigation: bool = False,
    ) -> int:  # fmt: skip
        """Store the ``Set-Cookie`` values of a response from ``url``; return how many stuck."""
        parts = split_url(url)
        if parts is None or parts[0] not in COOKIEABLE_SCHEMES:
            return 0
        scheme, host, path = parts
        secure = is_secure_url(scheme, host)
        cross_site = (
            site_for_cookies is not None
            and not is_top_level_navigation
            and site_of(url) != site_of(site_for_cookies)
        )
        stored = 0
        for line in lines:
            if not isinstance(line, str):
                raise TypeError(f"set_cookie_values must hold str, not {type(line).__name__}")
            rec = self._from_line(line, host, path, secure, cross_site)
            if rec is not None and self.insert(rec, secure, True) is None:
                stored += 1
        return stored

    def _from_line(
        self, line: str, host: str, path: str, secure_source: bool, cross_site: bool
    ) -> Record | None:
        # CanonicalCookie::Create + IsSetPermittedInContext
        parsed = parse_set_cookie(line)
        if parsed is None:
            return None
        name, value, pairs = parsed
        if not name:
            return None
        if _utf8_len(name) + _utf8_len(value) > MAX_NAME_VALUE:
            return None
        attrs: dict[str, str] = {}
        for key, val in pairs:
            if _utf8_len(val) > MAX_ATTRIBUTE_VALUE:
                continue  # RFC 6265bis §5.6: an over-long attribute value is ignored
            if key == "domain" and not val:
                continue  # RFC 6265 §5.2.3: an empty Domain is ignored
            attrs[key] = val
        domain = cookie_domain(host, attrs.get("domain"))
        if domain is None:
            return None
        cpath = attrs.get("path", "")
        if not cpath.startswith("/"):
            cpath = default_path(path)
        secure = "secure" in attrs
        low = _lower(name)
        if low.startswith("__secure-") and not (secure and secure_source):
            return None
        if low.startswith("__host-") and not (
            secure and secure_source and "domain" not in attrs and cpath == "/"
        ):
            return None
        if secure and not secure_source:
            return None
        same_site = {"none": NO_RESTRICTION, "lax": LAX, "strict": STRICT}.get(
            _lower(attrs.get("samesite", "")), UNSPECIFIED
        )
        if same_site == NO_RESTRICTION and not secure:
            return None
        partitioned = "partitioned" in attrs
        if partitioned and not secure:
            return None
        if cross_site and same_site != NO_RESTRICTION:
            return None
        priority = {"low": PRIORITY_LOW, "high": PRIORITY_HIGH}.get(
            _lower(attrs.get("priority", "")), PRIORITY_MEDIUM
        )
        now = self.now()
        expiry = _expiry(attrs, now)
        persistent = expiry is not None
        if expiry is None:
            expiry = 0
        elif expiry > now + MAX_EXPIRY_AGE:
            expiry = now + MAX_EXPIRY_AGE
        return (name, value, domain, cpath, 0, expiry, 0, secure, "httponly" in attrs,
                persistent, same_site, priority, partitioned)  # fmt: skip

    def insert(self, rec: Record, source_secure: bool, allow_http_only: bool) -> str | None:
        """Insert a canonical cookie (CookieMonster::SetCanonicalCookie).

        A creation time of 0 means now (made unique); a last access of 0 means the creation
        time. Return None when stored (or when an expired cookie removed its equivalent), or
        the exclusion reason.
        """
        new = _Cookie(rec)
        now = self.now()
        key = registrable_key(new.domain)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = []
        found = -1
        for i, cur in enumerate(bucket):
            if cur.secure and not source_secure and _secure_equivalent(new, cur):
                return EXCLUDE_OVERWRITE_SECURE
            if cur.name == new.name and cur.domain == new.domain and cur.path == new.path:
                if cur.http_only and not allow_http_only:
                    return EXCLUDE_OVERWRITE_HTTP_ONLY
                found = i
        expired = new.expired(now)
        cause = INSERTED
        if found >= 0:
            old = bucket[found]
            self._remove_at(bucket, found, EXPIRED_OVERWRITE if expired else OVERWRITE)
            if old.value == new.value:
                new.creation = old.creation
                cause = (INSERTED_NO_CHANGE_OVERWRITE if new.same_data(old)
                         else INSERTED_NO_VALUE_CHANGE_OVERWRITE)  # fmt: skip
        if expired:
            if not bucket:
                self._buckets.pop(key, None)
            return None
        if new.creation == 0:
            new.creation = self._creation_time(now)
        if new.last_access == 0:
            new.last_access = new.creation
        self._earliest_access = min(self._earliest_access, new.last_access)
        if not bucket:
            self._buckets[key] = bucket
        bucket.append(new)
        self._count += 1
        self._note(cause, new)
        self._garbage_collect(key, bucket, now)
        return None

    def load(self, records: Iterable[Record]) -> int:
        """Add stored cookies without checks or events (restoring a database); skip expired."""
        now = self.now()
        n = 0
        for rec in records:
            c = _Cookie(rec)
            if c.expired(now):
                continue
            bucket = self._buckets.setdefault(registrable_key(c.domain), [])
            for i, cur in enumerate(bucket):
                if cur.name == c.name and cur.domain == c.domain and cur.path == c.path:
                    bucket.pop(i)
                    self._count -= 1
                    break
            bucket.append(c)
            self._count += 1
            self._last_creation = max(self._last_creation, c.creation)
            self._earliest_access = min(self._earliest_access, c.last_access)
            n += 1
        return n

    # -- deleting

    def delete(self, domain: str, name: str, path: str, cause: int = EXPLICIT) -> bool:
        """Delete the cookie with this (domain, name, path); tell whether one existed."""
        key = registrable_key(domain)
        bucket = self._buckets.get(key)
        if not bucket:
            return False
        for i, c in enumerate(bucket):
            if c.domain == domain and c.name == name and c.path == path:
                self._remove_at(bucket, i, cause)
                if not bucket:
                    del self._buckets[key]
                return True
        return False

    def delete_keys(self, keys: Iterable[str], exclude: bool) -> int:
        """Delete the buckets whose registrable key is in ``keys`` (or not, with ``exclude``)."""
        wanted = set(keys)
        doomed = [k for k in self._buckets if (k in wanted) != bool(exclude)]
        n = 0
        for key in doomed:
            bucket = self._buckets.pop(key)
            for c in bucket:
                self._count -= 1
                self._note(EXPLICIT, c)
                n += 1
        return n

    def clear(self) -> int:
        """Delete every cookie (cause ``explicit``); return how many."""
        return self.delete_keys((), True)

    # -- limits (CookieMonster::GarbageCollect)

    def _garbage_collect(self, key: str, bucket: list[_Cookie], now: int) -> None:
        if self.domain_max and len(bucket) > self.domain_max:
            self._collect_expired(bucket, now)
            if len(bucket) > self.domain_max:
                self._purge_domain(bucket, len(bucket) - self.domain_purge_to)
            if not bucket:
                self._buckets.pop(key, None)
        safe_date = now - self.safe_days * DAY
        if self.total_max and self._count > self.total_max and self._earliest_access < safe_date:
            for b in self._buckets.values():
                self._collect_expired(b, now)
            if self._count > self.total_max:
                self._purge_global(self._count - self.total_purge_to, safe_date)
            for k in [k for k, b in self._buckets.items() if not b]:
                del self._buckets[k]

    def _collect_expired(self, bucket: list[_Cookie], now: int) -> None:
        i = 0
        while i < len(bucket):
            if bucket[i].expired(now):
                self._remove_at(bucket, i, EXPIRED)
            else:
                i += 1

    def _purge_domain(self, bucket: list[_Cookie], goal: int) -> None:
        # Least recently accessed first, by priority rounds, non-secure before secure.
        order = sorted(bucket, key=lambda c: (c.last_access, c.creation))
        rounds = ((PRIORITY_LOW, True), (PRIORITY_LOW, False), (PRIORITY_MEDIUM, True),
                  (PRIORITY_HIGH, True), (PRIORITY_MEDIUM, False), (PRIORITY_HIGH, False))  # fmt: skip
        doomed: set[int] = set()
        for priority, protect_secure in rounds:
            if goal <= 0:
                break
            quota = DOMAIN_QUOTAS[priority]
            at_level = [c for c in order if c.priority == priority]
            if len(at_level) <= quota:
                continue
            possible = len(at_level)
            if protect_secure:
                possible -= max(sum(1 for c in at_level if c.secure), quota)
            else:
                possible -= quota
            removed = 0
            kept = []
            for c in order:
                if removed < goal and possible > 0 and c.priority == priority and not (
                    protect_secure and c.secure
                ):
                    doomed.add(id(c))
                    removed += 1
                    possible -= 1
                else:
                    kept.append(c)
            order = kept
            goal -= removed
        i = 0
        while i < len(bucket):
            if id(bucket[i]) in doomed:
                self._remove_at(bucket, i, EVICTED)
            else:
                i += 1

    def _purge_global(self, goal: int, safe_date: int) -> None:
        every = [c for b in self._buckets.values() for c in b]
        non_secure = sorted((c for c in every if not c.secure), key=lambda c: (c.last_access, c.creation))
        secure = sorted((c for c in every if c.secure), key=lambda c: (c.last_access, c.creation))
        doomed: set[int] = set()
        for group in (non_secure, secure):
            for c in group[: max(goal, 0)]:
                if c.last_access >= safe_date:
                    break
                doomed.add(id(c))
                goal -= 1
        self._earliest_access = min(
            (c.last_access for c in every if id(c) not in doomed), default=2**62
        )
        if not doomed:
            return
        for b in self._buckets.values():
            i = 0
            while i < len(b):
                if id(b[i]) in doomed:
                    self._remove_at(b, i, EVICTED)
                else:
                    i += 1


def _secure_equivalent(new: _Cookie, secure: _Cookie) -> bool:
    # CanonicalCookie::IsEquivalentForSecureCookieMatching
    if new.name != secure.name:
        return False
    if not (domain_matches(new.domain, secure.domain.lstrip("."))
            or domain_matches(secure.domain, new.domain.lstrip("."))):  # fmt: skip
        return False
    return path_matches(secure.path, new.path)


def _expiry(attrs: dict[str, str], now: int) -> int | None:
    # CanonicalCookie::ParseExpiration: Max-Age first, then Expires; None is a session cookie.
    max_age = attrs.get("max-age")
    if max_age is not None:
        parsed = _string_to_int64(max_age)
        if parsed is not None:
            return 0 if parsed <= 0 else now + min(parsed, 2**62 // SECOND) * SECOND
    expires = attrs.get("expires")
    if expires:
        return parse_cookie_date(expires)
    return None


def _string_to_int64(text: str) -> int | None:
    # base::StringToInt64; overflow saturates (Chromium then clips to Time::Min/Max)
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    v = int(text)
    return max(min(v, 2**63 - 1), -(2**63))
