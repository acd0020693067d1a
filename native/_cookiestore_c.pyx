# cython: language_level=3
# distutils: language = c++
"""The cookie store: the compiled core (reference: ``websession._cookiestore_py``).

Cookies are C++ structs held in an ``unordered_map`` from registrable domain to a vector, so
building a ``Cookie`` header or storing a ``Set-Cookie`` touches one bucket and never builds a
Python object per cookie. Strings are stored as UTF-8 (``surrogatepass``); the registrable
domain comes from the PSL core through its capsule, with a per-store host cache.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t
from libc.string cimport strlen
from libcpp cimport bool as cbool
from libcpp.algorithm cimport sort
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector

from websession import _psl_c
from websession._cookiestore_py import (  # noqa: F401 - the same constants for both twins
    _ASCII_UPPER, CAUSES, COOKIEABLE_SCHEMES, FIELDS, EXCLUDE_OVERWRITE_HTTP_ONLY, EXCLUDE_OVERWRITE_SECURE,
)

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    int clock_gettime(int clk_id, timespec* tp)
    int CLOCK_REALTIME

ctypedef Py_ssize_t (*registrable_start_t)(const char*, Py_ssize_t) noexcept nogil
cdef registrable_start_t _registrable_start = <registrable_start_t>PyCapsule_GetPointer(
    _psl_c._capi, b"websession._psl_c.registrable_start")

__all__ = ["CookieStore", "parse_cookie_date", "registrable_key", "FIELDS", "CAUSES"]

cdef enum:
    UNSPECIFIED = -1
    NO_RESTRICTION = 0
    LAX = 1
    STRICT = 2
    LAX_ALLOW_UNSAFE = -2
    PRIORITY_LOW = 0
    PRIORITY_MEDIUM = 1
    PRIORITY_HIGH = 2
    INSERTED = 0
    INSERTED_NO_CHANGE_OVERWRITE = 1
    INSERTED_NO_VALUE_CHANGE_OVERWRITE = 2
    EXPLICIT = 3
    OVERWRITE = 4
    EXPIRED = 5
    EVICTED = 6
    EXPIRED_OVERWRITE = 7
    ACCESSED = 9
    CROSS_SITE = 0
    LAX_METHOD_UNSAFE = 1
    SAME_SITE_LAX = 2
    SAME_SITE_STRICT = 3
    MAX_NAME_VALUE = 4096
    MAX_ATTRIBUTE_VALUE = 1024
    MAX_PAIRS = 16

cdef int64_t SECOND = 1000000
cdef int64_t DAY = 86400 * SECOND
cdef int64_t MAX_EXPIRY_AGE = 400 * DAY
cdef int64_t LAX_ALLOW_UNSAFE_AGE = 120 * SECOND
cdef int64_t ACCESS_UPDATE_THRESHOLD = 60 * SECOND
cdef int64_t NEVER = 1LL << 62
cdef int64_t INT64_MAX = 0x7FFFFFFFFFFFFFFFLL
cdef int DOMAIN_QUOTAS[3]
DOMAIN_QUOTAS[:] = [30, 50, 70]
cdef int DAYS_IN_MONTH[12]
DAYS_IN_MONTH[:] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef struct CK:
    string name
    string value
    string domain
    string path
    int64_t creation
    int64_t expiry
    int64_t last_access
    cbool secure
    cbool http_only
    cbool persistent
    cbool partitioned
    int same_site
    int priority

ctypedef vector[CK] Bucket


# --- strings -------------------------------------------------------------------------------

cdef inline string _s(object text) except *:
    if PyUnicode_IS_ASCII(text):
        return string(<const char*>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text))
    b = (<str>text).encode("utf-8", "surrogatepass")
    return string(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


cdef inline object _u(const string& s):
    return PyUnicode_DecodeUTF8(s.data(), s.size(), "surrogatepass")


cdef inline char _lc(char c) noexcept nogil:
    return c + 32 if b'A' <= c <= b'Z' else c


cdef inline void _lower_inplace(string& s) noexcept nogil:
    cdef size_t i
    for i in range(s.size()):
        s[i] = _lc(s[i])


cdef inline cbool _is_ws(char c) noexcept nogil:
    return c == b' ' or c == b'\t'


cdef inline cbool _starts_with(const string& s, const string& prefix) noexcept nogil:
    return s.size() >= prefix.size() and s.compare(0, prefix.size(), prefix) == 0


cdef inline cbool _ends_with(const string& s, const string& suffix) noexcept nogil:
    return s.size() >= suffix.size() and s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0


cdef cbool _istarts_with(const string& s, const char* prefix) noexcept nogil:
    cdef size_t i = 0
    while prefix[i] != 0:
        if i >= s.size() or _lc(s[i]) != prefix[i]:
            return False
        i += 1
    return True


cdef cbool _ieq(const string& s, const char* word) noexcept nogil:
    return _istarts_with(s, word) and s.size() == strlen(word)


# --- URLs ----------------------------------------------------------------------------------

cdef cbool _split_url(const string& url, string& scheme, string& host, string& path) noexcept nogil:
    cdef size_t colon = url.find(b"://")
    cdef size_t n = url.size(), start, end, i, at, close, path_end
    if colon == <size_t>-1 or colon == 0:
        return False
    scheme.assign(url, 0, colon)
    _lower_inplace(scheme)
    start = colon + 3
    end = n
    i = start
    while i < n:
        if url[i] == b'/' or url[i] == b'?' or url[i] == b'#':
            end = i
            break
        i += 1
    at = start
    i = start
    while i < end:
        if url[i] == b'@':
            at = i + 1
        i += 1
    if at < end and url[at] == b'[':
        close = at
        while close < end and url[close] != b']':
            close += 1
        if close < end:
            host.assign(url, at, close + 1 - at)
        else:
            host.assign(url, at, end - at)
    else:
        i = at
        while i < end and url[i] != b':':
            i += 1
        host.assign(url, at, i - at)
    _lower_inplace(host)
    if host.size() == 0:
        return False
    path_end = n
    i = end
    while i < n:
        if url[i] == b'?' or url[i] == b'#':
            path_end = i
            break
        i += 1
    if end < n and url[end] == b'/':
        path.assign(url, end, path_end - end)
    else:
        path.assign(b"/")
    return True


cdef cbool _cookieable(const string& scheme) noexcept nogil:
    return scheme == b"http" or scheme == b"https" or scheme == b"ws" or scheme == b"wss"


cdef cbool _is_ip(const string& host) noexcept nogil:
    cdef size_t i, last = 0
    if host.size() and host[0] == b'[':
        return True
    for i in range(host.size()):
        if host[i] == b'.':
            last = i + 1
    if last >= host.size():
        return False
    for i in range(last, host.size()):
        if not (b'0' <= host[i] <= b'9'):
            return False
    return True


cdef cbool _trustworthy(const string& host) noexcept nogil:
    cdef int parts = 1
    cdef size_t i
    cdef cbool digits = True
    if host == b"localhost" or host == b"[::1]" or _ends_with(host, string(b".localhost")):
        return True
    if not _starts_with(host, string(b"127.")):
        return False
    for i in range(host.size()):
        if host[i] == b'.':
            if not digits:
                return False
            parts += 1
            digits = False
        elif b'0' <= host[i] <= b'9':
            digits = True
        else:
            return False
    return parts == 4 and digits


cdef inline cbool _secure_url(const string& scheme, const string& host) noexcept nogil:
    return scheme == b"https" or scheme == b"wss" or _trustworthy(host)


cdef Py_ssize_t _reg_start(const string& host) noexcept nogil:
    return _registrable_start(host.data(), host.size())


cdef string _key_of(const string& host) noexcept nogil:
    cdef Py_ssize_t start = _reg_start(host)
    cdef size_t lead = 0
    if start < 0:
        while lead < host.size() and host[lead] == b'.':
            lead += 1
        return host.substr(lead)
    return host.substr(start)


cdef string _default_path(const string& path) noexcept nogil:
    cdef size_t i
    if path.size() == 0 or path[0] != b'/':
        return string(b"/")
    i = path.rfind(b'/')
    if i == 0:
        return string(b"/")
    return path.substr(0, i)


cdef inline cbool _path_matches(const string& cookie_path, const string& request_path) noexcept nogil:
    if not _starts_with(request_path, cookie_path):
        return False
    return (request_path.size() == cookie_path.size()
            or cookie_path[cookie_path.size() - 1] == b'/'
            or request_path[cookie_path.size()] == b'/')


cdef inline cbool _domain_matches(const string& domain, const string& host) noexcept nogil:
    if domain.size() and domain[0] == b'.':
        if host.size() + 1 == domain.size():
            return domain.compare(1, host.size(), host) == 0
        return _ends_with(host, domain)
    return host == domain


cdef string _strip_dots(const string& s) noexcept nogil:
    cdef size_t lead = 0
    while lead < s.size() and s[lead] == b'.':
        lead += 1
    return s.substr(lead)


# --- dates ---------------------------------------------------------------------------------

cdef inline cbool _is_date_delimiter(char c) noexcept nogil:
    return c == b'\t' or (b' ' <= c <= b'/') or (b';' <= c <= b'@') or (
        b'[' <= c <= b'`') or (b'{' <= c <= b'~')


cdef int64_t _days_from_civil(int64_t y, int64_t m, int64_t d) noexcept nogil:
    if m <= 2:
        y -= 1
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef int _scan_2u(const char* t, Py_ssize_t n, Py_ssize_t* i) noexcept nogil:
    cdef Py_ssize_t j = i[0]
    cdef int v = 0
    while j < n and j < i[0] + 2 and b'0' <= t[j] <= b'9':
        v = v * 10 + (t[j] - 48)
        j += 1
    if j == i[0]:
        return -1
    i[0] = j
    return v


cdef cbool _parse_time(const char* t, Py_ssize_t n, int* hms) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef int k, v
    for k in range(3):
        v = _scan_2u(t, n, &i)
        if v < 0:
            return False
        hms[k] = v
        if k < 2:
            if i >= n or t[i] != b':':
                return False
            i += 1
    return True


cdef int64_t _atoi(const char* t, Py_ssize_t n) noexcept nogil:
    cdef int64_t v = 0
    cdef Py_ssize_t i = 0
    while i < n and b'0' <= t[i] <= b'9':
        v = v * 10 + (t[i] - 48)
        i += 1
    return v


cdef cbool _parse_date(const string& text, int64_t* out) noexcept nogil:
    cdef const char* s = text.data()
    cdef Py_ssize_t n = text.size(), i = 0, start, length
    cdef int64_t day = -1, month = -1, year = -1
    cdef int hms[3]
    cdef cbool have_time = False, colon, leap
    cdef int k
    cdef const char* months = b"janfebmaraprmayjunjulaugsepoctnovdec"
    while i < n:
        while i < n and _is_date_delimiter(s[i]):
            i += 1
        if i >= n:
            break
        start = i
        colon = False
        while i < n and not _is_date_delimiter(s[i]):
            if s[i] == b':':
                colon = True
            i += 1
        length = i - start
        if not (b'0' <= s[start] <= b'9'):
            if month < 0 and length >= 3:
                for k in range(12):
                    if (_lc(s[start]) == months[3 * k] and _lc(s[start + 1]) == months[3 * k + 1]
                            and _lc(s[start + 2]) == months[3 * k + 2]):
                        month = k + 1
                        break
        elif colon:
            if not have_time:
                have_time = _parse_time(s + start, length, hms)
        elif day < 0 and length <= 2:
            day = _atoi(s + start, length)
        elif year < 0 and length <= 5:
            year = _atoi(s + start, length)
    if day < 0 or month < 0 or year < 0 or not have_time:
        return False
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    if not (1601 <= year <= 9999) or hms[0] > 23 or hms[1] > 59 or hms[2] > 59:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day < 1 or day > DAYS_IN_MONTH[month - 1] + (1 if month == 2 and leap else 0):
        return False
    out[0] = (((_days_from_civil(year, month, day) * 24 + hms[0]) * 60 + hms[1]) * 60
              + hms[2]) * SECOND
    return True


def parse_cookie_date(text):
    """Parse a cookie ``Expires`` date as Chromium does; microseconds or None."""
    cdef int64_t out
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if _parse_date(_s(text), &out):
        return out
    return None


def registrable_key(host):
    """Return the bucket key of a host or cookie domain (Chromium ``GetKey``)."""
    return _u(_key_of(_s(host)))


# --- Set-Cookie parsing --------------------------------------------------------------------

cdef struct Parsed:
    string name
    string value
    string domain
    string path
    string expires
    string max_age
    string same_site
    string priority
    cbool has_domain
    cbool has_expires
    cbool has_max_age
    cbool secure
    cbool http_only
    cbool partitioned


cdef cbool _parse_line(const string& line, Parsed& p) noexcept nogil:
    cdef const char* s = line.data()
    cdef size_t n = line.size(), i = 0, token_start, token_end, value_start, value_end
    cdef int pair_num = 0
    cdef cbool has_equals
    cdef unsigned char c
    cdef string key
    for i in range(n):
        c = <unsigned char>s[i]
        if (c < 0x20 and c != 0x09) or c == 0x7F:
            return False  # RFC 6265bis §5.6: a CTL other than HTAB rejects the line
    i = 0
    while i < n and pair_num < MAX_PAIRS:
        while i < n and _is_ws(s[i]):
            i += 1
        if i >= n:
            break
        token_start = i
        while i < n and s[i] != b';' and s[i] != b'=':
            i += 1
        token_end = i
        while token_end > token_start and _is_ws(s[token_end - 1]):
            token_end -= 1
        has_equals = i < n and s[i] == b'='
        if has_equals:
            i += 1
        while i < n and _is_ws(s[i]):
            i += 1
        value_start = i
        while i < n and s[i] != b';':
            i += 1
        value_end = i
        while value_end > value_start and _is_ws(s[value_end - 1]):
            value_end -= 1
        if pair_num == 0:
            if not has_equals:
                return False
            p.name.assign(s + token_start, token_end - token_start)
            p.value.assign(s + value_start, value_end - value_start)
        elif value_end - value_start <= MAX_ATTRIBUTE_VALUE:
            key.assign(s + token_start, token_end - token_start)
            _lower_inplace(key)
            if key == b"domain":
                if value_end > value_start:
                    p.domain.assign(s + value_start, value_end - value_start)
                    p.has_domain = True
            elif key == b"path":
                p.path.assign(s + value_start, value_end - value_start)
            elif key == b"expires":
                p.expires.assign(s + value_start, value_end - value_start)
                p.has_expires = True
            elif key == b"max-age":
                p.max_age.assign(s + value_start, value_end - value_start)
                p.has_max_age = True
            elif key == b"samesite":
                p.same_site.assign(s + value_start, value_end - value_start)
            elif key == b"priority":
                p.priority.assign(s + value_start, value_end - value_start)
            elif key == b"secure":
                p.secure = True
            elif key == b"httponly":
                p.http_only = True
            elif key == b"partitioned":
                p.partitioned = True
        pair_num += 1
        if i < n:
            i += 1
    return pair_num > 0


cdef cbool _canonical_domain(const string& value, string& out) noexcept nogil:
    cdef size_t i
    cdef unsigned char c
    for i in range(value.size()):
        c = <unsigned char>value[i]
        if c >= 0x80 or c == b' ' or c == b'#' or c == b'%' or c == b'/' or c == b':' or \
                c == b'<' or c == b'>' or c == b'?' or c == b'@' or c == b'[' or c == b'\\' or \
                c == b']' or c == b'^' or c == b'|':
            return False
    out = value
    _lower_inplace(out)
    return out.size() > 0


cdef cbool _cookie_domain(const string& host, const Parsed& p, string& out) noexcept nogil:
    # Chromium cookie_util::GetCookieDomainWithString
    cdef string domain
    cdef Py_ssize_t start, dstart
    if not p.has_domain or (_is_ip(host) and host == p.domain):
        out = host
        return True
    if not _canonical_domain(p.domain, domain):
        return False
    if domain[0] != b'.':
        domain.insert(0, b".")
    start = _reg_start(host)
    if start < 0:
        if domain.size() == host.size() + 1 and domain.compare(1, host.size(), host) == 0:
            out = host
            return True
        return False
    dstart = _reg_start(domain)
    if dstart < 0 or host.compare(start, host.size() - start, domain, dstart, domain.size() - dstart) != 0:
        return False
    if host.size() < domain.size():
        if domain.size() == host.size() + 1 and domain.compare(1, host.size(), host) == 0:
            out = domain
            return True
        return False
    if _ends_with(host, domain):
        out = domain
        return True
    return False


cdef cbool _string_to_int64(const string& text, int64_t* out) noexcept nogil:
    cdef size_t i = 0
    cdef cbool negative = False
    cdef int64_t v = 0
    cdef int d
    if text.size() and (text[0] == b'+' or text[0] == b'-'):
        negative = text[0] == b'-'
        i = 1
    if i >= text.size():
        return False
    while i < text.size():
        if not (b'0' <= text[i] <= b'9'):
            return False
        d = text[i] - 48
        if v > (INT64_MAX - d) // 10:
            v = INT64_MAX
            while i < text.size():
                if not (b'0' <= text[i] <= b'9'):
                    return False
                i += 1
            break
        v = v * 10 + d
        i += 1
    out[0] = -v if negative else v
    return True


cdef inline int _effective_same_site(const CK& c, int64_t now) noexcept nogil:
    if c.same_site == UNSPECIFIED:
        return LAX_ALLOW_UNSAFE if now - c.creation < LAX_ALLOW_UNSAFE_AGE else LAX
    return c.same_site


cdef inline cbool _included_in_context(int effective, int context) noexcept nogil:
    if effective == NO_RESTRICTION:
        return True
    if effective == STRICT:
        return context == SAME_SITE_STRICT
    if effective == LAX_ALLOW_UNSAFE:
        return context >= LAX_METHOD_UNSAFE
    return context >= SAME_SITE_LAX


cdef inline cbool _expired(const CK& c, int64_t now) noexcept nogil:
    return c.persistent and now >= c.expiry


cdef inline cbool _same_data(const CK& a, const CK& b) noexcept nogil:
    return (a.value == b.value and a.expiry == b.expiry and a.persistent == b.persistent
            and a.secure == b.secure and a.http_only == b.http_only and a.same_site == b.same_site
            and a.priority == b.priority and a.partitioned == b.partitioned)


cdef cbool _secure_equivalent(const CK& new, const CK& secure) noexcept nogil:
    # CanonicalCookie::IsEquivalentForSecureCookieMatching
    if new.name != secure.name:
        return False
    if not (_domain_matches(new.domain, _strip_dots(secure.domain))
            or _domain_matches(secure.domain, _strip_dots(new.domain))):
        return False
    return _path_matches(secure.path, new.path)


cdef inline cbool _sorts_before(const CK& a, const CK& b) noexcept nogil:
    # CookieSorter: longer path first, then earlier creation
    if a.path.size() != b.path.size():
        return a.path.size() > b.path.size()
    return a.creation < b.creation


cdef object _record(const CK& c):
    return (_u(c.name), _u(c.value), _u(c.domain), _u(c.path), c.creation, c.expiry,
            c.last_access, c.secure, c.http_only, c.persistent, c.same_site, c.priority,
            c.partitioned)


cdef int _from_record(object rec, CK& c) except -1:
    if not isinstance(rec, tuple) or len(rec) != 13:
        raise TypeError("a cookie record is a tuple of 13 fields")
    c.name = _s(rec[0])
    c.value = _s(rec[1])
    c.domain = _s(rec[2])
    c.path = _s(rec[3])
    c.creation = rec[4]
    c.expiry = rec[5]
    c.last_access = rec[6]
    c.secure = rec[7]
    c.http_only = rec[8]
    c.persistent = rec[9]
    c.same_site = rec[10]
    c.priority = rec[11]
    c.partitioned = rec[12]
    return 0


ctypedef pair[pair[int64_t, int64_t], size_t] LraEntry
ctypedef pair[pair[int64_t, int64_t], pair[size_t, size_t]] GlobalEntry


cdef class CookieStore:
    """Cookies in buckets keyed by registrable domain, with Chromium's rules and limits."""

    cdef unordered_map[string, Bucket] buckets
    cdef unordered_map[string, string] key_cache
    cdef Py_ssize_t count
    cdef int64_t last_creation
    cdef int64_t earliest_access
    cdef object clock
    cdef list log
    cdef public bint recording
    cdef public Py_ssize_t domain_max, domain_purge_to, total_max, total_purge_to, safe_days

    def __init__(self, clock=None):
        self.clock = clock
        self.count = 0
        self.last_creation = 0
        self.earliest_access = NEVER
        self.log = []
        self.recording = False
        self.domain_max, self.domain_purge_to = 180, 150
        self.total_max, self.total_purge_to = 3300, 3000
        self.safe_days = 30

    def set_limits(self, domain_max, domain_purge_to, total_max, total_purge_to, safe_days):
        """Set the per-domain and global limits (0 for a maximum means no limit)."""
        for name, v in (("domain_max", domain_max), ("domain_purge_to", domain_purge_to),
                        ("total_max", total_max), ("total_purge_to", total_purge_to),
                        ("safe_days", safe_days)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be a non-negative int, not {v!r}")
        if domain_max and domain_purge_to > domain_max:
            raise ValueError("domain_purge_to must not exceed domain_max")
        if total_max and total_purge_to > total_max:
            raise ValueError("total_purge_to must not exceed total_max")
        self.domain_max, self.domain_purge_to = domain_max, domain_purge_to
        self.total_max, self.total_purge_to = total_max, total_purge_to
        self.safe_days = safe_days

    def limits(self):
        """Return (domain_max, domain_purge_to, total_max, total_purge_to, safe_days)."""
        return (self.domain_max, self.domain_purge_to, self.total_max, self.total_purge_to,
                self.safe_days)

    cdef int64_t _now(self) except? -1:
        cdef timespec ts
        if self.clock is None:
            clock_gettime(CLOCK_REALTIME, &ts)
            return <int64_t>((<double>ts.tv_sec + ts.tv_nsec / 1e9) * 1e6)
        return <int64_t>(<double>self.clock() * 1e6)

    def now(self):
        """Return the store's current time in microseconds."""
        return self._now()

    def __len__(self):
        return self.count

    def drain(self):
        """Return and forget the changes logged since the last drain."""
        log, self.log = self.log, []
        return log

    cdef int _note(self, int cause, const CK& c) except -1:
        if self.recording:
            self.log.append((cause, _record(c)))
        return 0

    cdef int _remove_at(self, Bucket& bucket, size_t i, int cause) except -1:
        if self.recording:
            self.log.append((cause, _record(bucket[i])))
        bucket.erase(bucket.begin() + i)
        self.count -= 1
        return 0

    cdef string _key(self, const string& host):
        it = self.key_cache.find(host)
        if it != self.key_cache.end():
            return dereference_second(it)
        cdef string key = _key_of(host)
        if self.key_cache.size() >= 65536:
            self.key_cache.clear()
        self.key_cache[host] = key
        return key

    cdef int _context(self, const string& scheme, const string& host, object site_for_cookies,
                      bint top_level, object method) except -1:
        cdef string s2, h2, p2
        if site_for_cookies is None:
            return SAME_SITE_STRICT
        if _split_url(_s(site_for_cookies), s2, h2, p2) and _same_site(scheme, self._key(host), s2, self._key(h2)):
            return SAME_SITE_STRICT
        if top_level:
            m = method.translate(_ASCII_UPPER)
            return SAME_SITE_LAX if m in ("GET", "HEAD", "OPTIONS", "TRACE") else LAX_METHOD_UNSAFE
        return CROSS_SITE

    # -- reading

    def cookie_header(self, url, site_for_cookies=None, is_top_level_navigation=False,
                      method="GET"):
        """Return the ``Cookie`` header for a request to ``url``, or None when none applies."""
        cdef string scheme, host, path, key, out
        cdef int context
        cdef int64_t now
        cdef vector[size_t] found
        cdef size_t i, j, k, t
        if not _split_url(_s(url), scheme, host, path) or not _cookieable(scheme):
            return None
        key = self._key(host)
        it = self.buckets.find(key)
        if it == self.buckets.end():
            return None
        context = self._context(scheme, host, site_for_cookies, is_top_level_navigation, method)
        now = self._now()
        bucket = &dereference_second_bucket(it)
        self._match(bucket[0], host, path, _secure_url(scheme, host), context, now, found)
        if found.size() == 0:
            return None
        for i in range(1, found.size()):
            t = found[i]
            j = i
            while j > 0 and _sorts_before(bucket[0][t], bucket[0][found[j - 1]]):
                found[j] = found[j - 1]
                j -= 1
            found[j] = t
        out.reserve(256)
        for k in range(found.size()):
            c = &bucket[0][found[k]]
            if now - c.last_access > ACCESS_UPDATE_THRESHOLD:
                c.last_access = now
                if c.persistent:
                    self._note(ACCESSED, c[0])
            if k:
                out.append(b"; ")
            if c.name.size():
                out.append(c.name)
                out.push_back(b'=')
            out.append(c.value)
        return _u(out)

    cdef int _match(self, Bucket& bucket, const string& host, const string& path, bint secure,
                    int context, int64_t now, vector[size_t]& found) except -1:
        cdef size_t i = 0
        while i < bucket.size():
            c = &bucket[i]
            if _expired(c[0], now):
                self._remove_at(bucket, i, EXPIRED)
                continue
            i += 1
            if not _domain_matches(c.domain, host) or not _path_matches(c.path, path):
                continue
            if c.secure and not secure:
                continue
            if context != SAME_SITE_STRICT and not _included_in_context(
                    _effective_same_site(c[0], now), context):
                continue
            found.push_back(i - 1)
        return 0

    cdef list _sorted_records(self, vector[CK*]& cookies):
        cdef size_t i, j
        cdef CK* t
        for i in range(1, cookies.size()):
            t = cookies[i]
            j = i
            while j > 0 and _sorts_before(t[0], cookies[j - 1][0]):
                cookies[j] = cookies[j - 1]
                j -= 1
            cookies[j] = t
        return [_record(cookies[i][0]) for i in range(cookies.size())]

    def matching(self, url):
        """Return the cookies a request to ``url`` would carry, HttpOnly included, sorted."""
        cdef string scheme, host, path
        cdef vector[size_t] found
        cdef vector[CK*] cookies
        if not _split_url(_s(url), scheme, host, path) or not _cookieable(scheme):
            return []
        it = self.buckets.find(self._key(host))
        if it == self.buckets.end():
            return []
        bucket = &dereference_second_bucket(it)
        self._match(bucket[0], host, path, _secure_url(scheme, host), SAME_SITE_STRICT,
                    self._now(), found)
        for i in found:
            cookies.push_back(&bucket[0][i])
        return self._sorted_records(cookies)

    def all(self):
        """Return every cookie, expired ones collected first, sorted as Chromium sorts."""
        cdef int64_t now = self._now()
        cdef vector[CK*] cookies
        cdef size_t i
        it = self.buckets.begin()
        while it != self.buckets.end():
            bucket = &dereference_second_bucket(it)
            i = 0
            while i < bucket.size():
                if _expired(bucket[0][i], now):
                    self._remove_at(bucket[0], i, EXPIRED)
                else:
                    i += 1
            postincrement(it)
        it = self.buckets.begin()
        while it != self.buckets.end():
            bucket = &dereference_second_bucket(it)
            for i in range(bucket.size()):
                cookies.push_back(&bucket[0][i])
            postincrement(it)
        return self._sorted_records(cookies)

    # -- writing

    def set_from_response(self, url, lines, site_for_cookies=None,
                          is_top_level_navigation=False):
        """Store the ``Set-Cookie`` values of a response from ``url``; return how many stuck."""
        cdef string scheme, host, path, s2, h2, p2
        cdef bint secure, cross_site
        cdef CK c
        cdef int stored = 0
        if not _split_url(_s(url), scheme, host, path) or not _cookieable(scheme):
            return 0
        secure = _secure_url(scheme, host)
        cross_site = False
        if site_for_cookies is not None and not is_top_level_navigation:
            cross_site = not (_split_url(_s(site_for_cookies), s2, h2, p2)
                              and _same_site(scheme, self._key(host), s2, self._key(h2)))
        for line in lines:
            if not isinstance(line, str):
                raise TypeError(f"set_cookie_values must hold str, not {type(line).__name__}")
            if self._from_line(_s(line), host, path, secure, cross_site, c):
                if self._insert(c, secure, True) is None:
                    stored += 1
        return stored

    cdef bint _from_line(self, const string& line, const string& host, const string& path,
                         bint secure_source, bint cross_site, CK& c) except -1:
        cdef Parsed p
        cdef int64_t now, expiry, max_age
        cdef bint persistent = False, have_max_age = False
        p.has_domain = p.has_expires = p.has_max_age = False
        p.secure = p.http_only = p.partitioned = False
        if not _parse_line(line, p):
            return False
        if p.name.size() == 0:
            return False
        if p.name.size() + p.value.size() > MAX_NAME_VALUE:
            return False
        if not _cookie_domain(host, p, c.domain):
            return False
        if p.path.size() and p.path[0] == b'/':
            c.path = p.path
        else:
            c.path = _default_path(path)
        if _istarts_with(p.name, b"__secure-") and not (p.secure and secure_source):
            return False
        if _istarts_with(p.name, b"__host-") and not (
                p.secure and secure_source and not p.has_domain and c.path == b"/"):
            return False
        if p.secure and not secure_source:
            return False
        if _ieq(p.same_site, b"none"):
            c.same_site = NO_RESTRICTION
        elif _ieq(p.same_site, b"lax"):
            c.same_site = LAX
        elif _ieq(p.same_site, b"strict"):
            c.same_site = STRICT
        else:
            c.same_site = UNSPECIFIED
        if c.same_site == NO_RESTRICTION and not p.secure:
            return False
        if p.partitioned and not p.secure:
            return False
        if cross_site and c.same_site != NO_RESTRICTION:
            return False
        if _ieq(p.priority, b"low"):
            c.priority = PRIORITY_LOW
        elif _ieq(p.priority, b"high"):
            c.priority = PRIORITY_HIGH
        else:
            c.priority = PRIORITY_MEDIUM
        now = self._now()
        # CanonicalCookie::ParseExpiration: Max-Age first, then Expires
        if p.has_max_age and _string_to_int64(p.max_age, &max_age):
            persistent = True
            if max_age <= 0:
                expiry = 0
            else:
                if max_age > (1LL << 62) // SECOND:
                    max_age = (1LL << 62) // SECOND
                expiry = now + max_age * SECOND
        elif p.expires.size() and _parse_date(p.expires, &expiry):
            persistent = True
        if persistent:
            if expiry > now + MAX_EXPIRY_AGE:
                expiry = now + MAX_EXPIRY_AGE
        else:
            expiry = 0
        c.name = p.name
        c.value = p.value
        c.creation = 0
        c.expiry = expiry
        c.last_access = 0
        c.secure = p.secure
        c.http_only = p.http_only
        c.persistent = persistent
        c.partitioned = p.partitioned
        return True

    def insert(self, rec, source_secure, allow_http_only):
        """Insert a canonical cookie (CookieMonster::SetCanonicalCookie); see the twin."""
        cdef CK c
        _from_record(rec, c)
        return self._insert(c, source_secure, allow_http_only)

    cdef object _insert(self, CK& new, bint source_secure, bint allow_http_only):
        cdef int64_t now = self._now()
        cdef string key = self._key(new.domain)
        cdef Py_ssize_t found = -1
        cdef size_t i
        cdef bint expired
        cdef int cause = INSERTED
        bucket = &self.buckets[key]
        for i in range(bucket.size()):
            cur = &bucket[0][i]
            if cur.secure and not source_secure and _secure_equivalent(new, cur[0]):
                self._drop_if_empty(key)
                return EXCLUDE_OVERWRITE_SECURE
            if cur.name == new.name and cur.domain == new.domain and cur.path == new.path:
                if cur.http_only and not allow_http_only:
                    self._drop_if_empty(key)
                    return EXCLUDE_OVERWRITE_HTTP_ONLY
                found = i
        expired = _expired(new, now)
        if found >= 0:
            old = bucket[0][found]
            self._remove_at(bucket[0], found, EXPIRED_OVERWRITE if expired else OVERWRITE)
            if old.value == new.value:
                new.creation = old.creation
                cause = INSERTED_NO_CHANGE_OVERWRITE if _same_data(new, old) else INSERTED_NO_VALUE_CHANGE_OVERWRITE
        if expired:
            self._drop_if_empty(key)
            return None
        if new.creation == 0:
            self.last_creation = now if now > self.last_creation else self.last_creation + 1
            new.creation = self.last_creation
        if new.last_access == 0:
            new.last_access = new.creation
        if new.last_access < self.earliest_access:
            self.earliest_access = new.last_access
        bucket.push_back(new)
        self.count += 1
        self._note(cause, bucket.back())
        self._garbage_collect(key, now)
        return None

    cdef void _drop_if_empty(self, const string& key):
        it = self.buckets.find(key)
        if it != self.buckets.end() and dereference_second_bucket(it).size() == 0:
            self.buckets.erase(it)

    def load(self, records):
        """Add stored cookies without checks or events (restoring a database); skip expired."""
        cdef int64_t now = self._now()
        cdef CK c
        cdef size_t i
        cdef int n = 0
        for rec in records:
            _from_record(rec, c)
            if _expired(c, now):
                continue
            bucket = &self.buckets[self._key(c.domain)]
            for i in range(bucket.size()):
                cur = &bucket[0][i]
                if cur.name == c.name and cur.domain == c.domain and cur.path == c.path:
                    bucket.erase(bucket.begin() + i)
                    self.count -= 1
                    break
            bucket.push_back(c)
            self.count += 1
            if c.creation > self.last_creation:
                self.last_creation = c.creation
            if c.last_access < self.earliest_access:
                self.earliest_access = c.last_access
            n += 1
        return n

    # -- deleting

    def delete(self, domain, name, path, int cause=EXPLICIT):
        """Delete the cookie with this (domain, name, path); tell whether one existed."""
        cdef string d = _s(domain), nm = _s(name), p = _s(path)
        cdef string key = self._key(d)
        cdef size_t i
        it = self.buckets.find(key)
        if it == self.buckets.end():
            return False
        bucket = &dereference_second_bucket(it)
        for i in range(bucket.size()):
            if bucket[0][i].domain == d and bucket[0][i].name == nm and bucket[0][i].path == p:
                self._remove_at(bucket[0], i, cause)
                self._drop_if_empty(key)
                return True
        return False

    def delete_keys(self, keys, exclude):
        """Delete the buckets whose registrable key is in ``keys`` (or not, with ``exclude``)."""
        wanted = set(keys)
        doomed = []
        it = self.buckets.begin()
        while it != self.buckets.end():
            k = _u(dereference_first(it))
            if (k in wanted) != bool(exclude):
                doomed.append(k)
            postincrement(it)
        cdef int n = 0
        cdef size_t i
        cdef string key
        for k in doomed:
            key = _s(k)
            bucket = &self.buckets[key]
            for i in range(bucket.size()):
                self._note(EXPLICIT, bucket[0][i])
                n += 1
            self.count -= bucket.size()
            self.buckets.erase(key)
        return n

    def clear(self):
        """Delete every cookie (cause ``explicit``); return how many."""
        return self.delete_keys((), True)

    # -- limits (CookieMonster::GarbageCollect)

    cdef int _garbage_collect(self, const string& key, int64_t now) except -1:
        cdef int64_t safe_date = now - self.safe_days * DAY
        bucket = &self.buckets[key]
        if self.domain_max and <Py_ssize_t>bucket.size() > self.domain_max:
            self._collect_expired(bucket[0], now)
            if <Py_ssize_t>bucket.size() > self.domain_max:
                self._purge_domain(bucket[0], bucket.size() - self.domain_purge_to)
            self._drop_if_empty(key)
        if self.total_max and self.count > self.total_max and self.earliest_access < safe_date:
            it = self.buckets.begin()
            while it != self.buckets.end():
                self._collect_expired(dereference_second_bucket(it), now)
                postincrement(it)
            if self.count > self.total_max:
                self._purge_global(self.count - self.total_purge_to, safe_date)
            it = self.buckets.begin()
            while it != self.buckets.end():
                if dereference_second_bucket(it).size() == 0:
                    it = self.buckets.erase(it)
                else:
                    postincrement(it)
        return 0

    cdef int _collect_expired(self, Bucket& bucket, int64_t now) except -1:
        cdef size_t i = 0
        while i < bucket.size():
            if _expired(bucket[i], now):
                self._remove_at(bucket, i, EXPIRED)
            else:
                i += 1
        return 0

    cdef int _purge_domain(self, Bucket& bucket, Py_ssize_t goal) except -1:
        cdef vector[LraEntry] order
        cdef vector[LraEntry] kept
        cdef vector[char] doomed
        cdef size_t i
        cdef int r, priority, quota
        cdef bint protect
        cdef Py_ssize_t at_level, secure_at_level, possible, removed
        cdef int rounds[6][2]
        rounds[0][:] = [PRIORITY_LOW, 1]
        rounds[1][:] = [PRIORITY_LOW, 0]
        rounds[2][:] = [PRIORITY_MEDIUM, 1]
        rounds[3][:] = [PRIORITY_HIGH, 1]
        rounds[4][:] = [PRIORITY_MEDIUM, 0]
        rounds[5][:] = [PRIORITY_HIGH, 0]
        doomed.resize(bucket.size(), 0)
        for i in range(bucket.size()):
            order.push_back(LraEntry(pair[int64_t, int64_t](bucket[i].last_access, bucket[i].creation), i))
        sort(order.begin(), order.end())
        for r in range(6):
            if goal <= 0:
                break
            priority = rounds[r][0]
            protect = rounds[r][1]
            quota = DOMAIN_QUOTAS[priority]
            at_level = secure_at_level = 0
            for e in order:
                if bucket[e.second].priority == priority:
                    at_level += 1
                    if bucket[e.second].secure:
                        secure_at_level += 1
            if at_level <= quota:
                continue
            possible = at_level - (max(secure_at_level, quota) if protect else quota)
            removed = 0
            kept.clear()
            for e in order:
                c = &bucket[e.second]
                if removed < goal and possible > 0 and c.priority == priority and not (protect and c.secure):
                    doomed[e.second] = 1
                    removed += 1
                    possible -= 1
                else:
                    kept.push_back(e)
            order.swap(kept)
            goal -= removed
        # remove in bucket order, as the twin does, so the event order is the same
        cdef size_t src = 0
        i = 0
        while src < doomed.size():
            if doomed[src]:
                self._remove_at(bucket, i, EVICTED)
            else:
                i += 1
            src += 1
        return 0

    cdef int _purge_global(self, Py_ssize_t goal, int64_t safe_date) except -1:
        cdef vector[Bucket*] buckets
        cdef vector[GlobalEntry] groups[2]
        cdef vector[vector[char]] doomed
        cdef size_t b, i, g, n
        cdef int64_t earliest = NEVER
        cdef bint any_doomed = False
        it = self.buckets.begin()
        while it != self.buckets.end():
            buckets.push_back(&dereference_second_bucket(it))
            postincrement(it)
        doomed.resize(buckets.size())
        for b in range(buckets.size()):
            doomed[b].resize(buckets[b].size(), 0)
            for i in range(buckets[b].size()):
                c = &buckets[b][0][i]
                groups[1 if c.secure else 0].push_back(GlobalEntry(
                    pair[int64_t, int64_t](c.last_access, c.creation), pair[size_t, size_t](b, i)))
        for g in range(2):
            sort(groups[g].begin(), groups[g].end())
            n = 0
            for e in groups[g]:
                if goal <= 0 or e.first.first >= safe_date:
                    break
                doomed[e.second.first][e.second.second] = 1
                any_doomed = True
                goal -= 1
        for g in range(2):
            for e in groups[g]:
                if not doomed[e.second.first][e.second.second] and e.first.first < earliest:
                    earliest = e.first.first
        self.earliest_access = earliest
        if not any_doomed:
            return 0
        for b in range(buckets.size()):
            i = 0
            n = 0
            while n < doomed[b].size():
                if doomed[b][n]:
                    self._remove_at(buckets[b][0], i, EVICTED)
                else:
                    i += 1
                n += 1
        return 0


cdef cbool _same_site(const string& scheme_a, const string& key_a, const string& scheme_b,
                      const string& key_b) noexcept nogil:
    return _site_scheme(scheme_a) == _site_scheme(scheme_b) and key_a == key_b


cdef string _site_scheme(const string& scheme) noexcept nogil:
    if scheme == b"ws":
        return string(b"http")
    if scheme == b"wss":
        return string(b"https")
    return scheme


cdef extern from *:
    """
    template <class It> static inline auto& dereference_second(It it) { return it->second; }
    template <class It> static inline auto& dereference_second_bucket(It it) { return it->second; }
    template <class It> static inline const auto& dereference_first(It it) { return it->first; }
    template <class It> static inline void postincrement(It& it) { ++it; }
    """
    string& dereference_second(unordered_map[string, string].iterator) nogil
    Bucket& dereference_second_bucket(unordered_map[string, Bucket].iterator) nogil
    const string& dereference_first(unordered_map[string, Bucket].iterator) nogil
    void postincrement(unordered_map[string, Bucket].iterator&) nogil
