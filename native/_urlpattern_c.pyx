# cython: language_level=3
"""Compiled twin of ``websession._urlpattern_py``: URLPattern parsing and one-pass matching.

URL canonicalisation, host canonicalisation (ASCII, IPv4, IPv6), path globs and the pattern-set
index are C++; the UTS #46 step for non-ASCII hosts (rare) calls the twin's
``_idna_to_ascii`` so both implementations share one IDNA table. The richer pattern relations
(``overlaps_with``, ``contains``, ``intersection``, ...) live in the twin only.
"""

from cython.operator cimport dereference as deref
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcmp
from libcpp cimport bool as cbool
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.unordered_set cimport unordered_set
from libcpp.vector cimport vector

from websession import _urlpattern_py as _twin

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL

URLPatternError = _twin.URLPatternError
SCHEME_NONE = _twin.SCHEME_NONE
SCHEME_HTTP = _twin.SCHEME_HTTP
SCHEME_HTTPS = _twin.SCHEME_HTTPS
SCHEME_FILE = _twin.SCHEME_FILE
SCHEME_FTP = _twin.SCHEME_FTP
SCHEME_CHROMEUI = _twin.SCHEME_CHROMEUI
SCHEME_EXTENSION = _twin.SCHEME_EXTENSION
SCHEME_FILESYSTEM = _twin.SCHEME_FILESYSTEM
SCHEME_WS = _twin.SCHEME_WS
SCHEME_WSS = _twin.SCHEME_WSS
SCHEME_DATA = _twin.SCHEME_DATA
SCHEME_UUID_IN_PACKAGE = _twin.SCHEME_UUID_IN_PACKAGE
SCHEME_ALL = _twin.SCHEME_ALL
VALID_SCHEMES = _twin.VALID_SCHEMES
ALL_URLS = _twin.ALL_URLS

cdef dict _SCHEME_BITS = dict(_twin.VALID_SCHEMES)
cdef object _idna_to_ascii = _twin._idna_to_ascii
cdef object _twin_utf8 = _twin._utf8

# ----------------------------------------------------------------------------- tables

cdef int HOST_TABLE[128]
cdef cbool UNRESERVED[256]
cdef cbool PATH_ESC[256]
cdef cbool QUERY_ESC[256]
cdef cbool SQUERY_ESC[256]
cdef cbool OPAQUE_ESC[256]
cdef cbool FORBIDDEN_OPAQUE[256]
cdef const char* HEXCHARS = b"0123456789ABCDEF"
cdef unordered_set[string] STANDARD


cdef void _init_tables():
    cdef int c
    for c in range(128):
        HOST_TABLE[c] = c if 0x21 <= c < 0x7F else 0
    for c in b'#%/<>?@\\^|':
        HOST_TABLE[c] = 0
    for c in range(ord("A"), ord("Z") + 1):
        HOST_TABLE[c] = c + 32
    HOST_TABLE[0x20] = -1
    HOST_TABLE[ord("*")] = -1
    for c in range(256):
        UNRESERVED[c] = (0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A
                         or c in b"-._~")
        QUERY_ESC[c] = c < 0x21 or c >= 0x7F or c in b'"<>'
        SQUERY_ESC[c] = QUERY_ESC[c] or c == ord("'")
        PATH_ESC[c] = QUERY_ESC[c] or c in b"`{}"
        OPAQUE_ESC[c] = c < 0x20 or c >= 0x7F
        FORBIDDEN_OPAQUE[c] = c in b"\x00\t\n\r #/:<>?@[\\]^|"
    for name in _twin._STANDARD_SCHEMES:
        STANDARD.insert(name.encode("ascii"))


_init_tables()


def register_standard_scheme(scheme):
    """Treat ``scheme`` as standard (``scheme://host/path``), as Electron's privileged schemes."""
    _twin.register_standard_scheme(scheme)
    STANDARD.insert(scheme.lower().encode("utf-8", "surrogatepass"))


cdef inline int hexval(unsigned char c) noexcept nogil:
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0x41 <= c <= 0x46:
        return c - 0x37
    if 0x61 <= c <= 0x66:
        return c - 0x57
    return -1


cdef inline void push_escaped(string& out, unsigned char c) noexcept nogil:
    out.push_back(b'%')
    out.push_back(HEXCHARS[c >> 4])
    out.push_back(HEXCHARS[c & 15])


cdef void append_uint(string& out, uint64_t value) noexcept nogil:
    cdef char digits[24]
    cdef int k = 0
    if value == 0:
        out.push_back(<char>48)
        return
    while value:
        digits[k] = <char>(48 + value % 10)
        value //= 10
        k += 1
    while k:
        k -= 1
        out.push_back(digits[k])


cdef void append_hex(string& out, unsigned int value) noexcept nogil:
    cdef char digits[8]
    cdef int k = 0
    cdef const char* lower = b"0123456789abcdef"
    if value == 0:
        out.push_back(<char>48)
        return
    while value:
        digits[k] = lower[value & 15]
        value >>= 4
        k += 1
    while k:
        k -= 1
        out.push_back(digits[k])


cdef inline bytes to_utf8(str text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _twin_utf8(text)


# ----------------------------------------------------------------------------- hosts

cdef cbool simple_host(const unsigned char* p, size_t n, string& out, cbool* non_ascii) noexcept nogil:
    """Unescape %XX and map ASCII through Chromium's host table (DoSimpleHost)."""
    cdef size_t i = 0
    cdef int ch, rep
    non_ascii[0] = False
    while i < n:
        ch = p[i]
        if ch == 0x25:
            if i + 2 < n and hexval(p[i + 1]) >= 0 and hexval(p[i + 2]) >= 0:
                ch = hexval(p[i + 1]) * 16 + hexval(p[i + 2])
                i += 2
            else:
                return False
        if ch < 0x80:
            rep = HOST_TABLE[ch]
            if rep == 0:
                return False
            if rep == -1:
                push_escaped(out, <unsigned char>ch)
            else:
                out.push_back(<char>rep)
        else:
            out.push_back(<char>ch)
            non_ascii[0] = True
        i += 1
    return True


cdef int64_t ipv4_number(const char* p, size_t n) noexcept nogil:
    """Parse one IPv4 part (decimal, 0x hex, 0 octal); -1 on failure; capped at 2**40."""
    cdef int base = 10
    cdef int64_t value = 0
    cdef int digit
    cdef size_t i
    if n >= 2 and p[0] == b'0' and (p[1] == b'x' or p[1] == b'X'):
        base = 16
        p += 2
        n -= 2
    elif n > 1 and p[0] == b'0':
        base = 8
        p += 1
        n -= 1
    for i in range(n):
        digit = hexval(<unsigned char>p[i])
        if digit < 0 or digit >= base:
            return -1
        value = value * base + digit
        if value > (<int64_t>1 << 40):
            value = (<int64_t>1 << 40)
    return value


cdef int ipv4(const string& host, string& out) noexcept nogil:
    """WHATWG IPv4 parser: 1 and the dotted quad, 0 when not IPv4, -1 when broken."""
    cdef vector[size_t] starts
    cdef vector[size_t] lengths
    cdef size_t start = 0, i, count, k
    cdef const char* data = host.data()
    cdef size_t n = host.size()
    cdef int64_t value, address = 0
    cdef int64_t numbers[4]
    cdef cbool digits
    for i in range(n + 1):
        if i == n or data[i] == b'.':
            starts.push_back(start)
            lengths.push_back(i - start)
            start = i + 1
    count = starts.size()
    if lengths[count - 1] == 0 and count > 1:
        count -= 1
    if lengths[count - 1] == 0:
        return 0
    digits = True
    for i in range(lengths[count - 1]):
        if not (b'0' <= data[starts[count - 1] + i] <= b'9'):
            digits = False
            break
    if not digits and ipv4_number(data + starts[count - 1], lengths[count - 1]) < 0:
        return 0
    if count > 4:
        return -1
    for k in range(count):
        if lengths[k] == 0:
            return -1
    for k in range(count):
        value = ipv4_number(data + starts[k], lengths[k])
        if value < 0:
            return -1
        numbers[k] = value
    for k in range(count - 1):
        if numbers[k] > 255:
            return -1
    if numbers[count - 1] >= (<int64_t>1 << (8 * (5 - count))):
        return -1
    address = numbers[count - 1]
    for k in range(count - 1):
        address += numbers[k] << (8 * (3 - k))
    out.clear()
    for k in range(4):
        if k:
            out.push_back(b'.')
        append_uint(out, <uint64_t>((address >> (24 - 8 * k)) & 255))
    return 1


cdef inline int hex4(unsigned char c) noexcept nogil:
    return hexval(c)


cdef cbool ipv6(const unsigned char* text, size_t n, string& out) noexcept nogil:
    """WHATWG IPv6 parser on the inside of [...]; writes the bracketed canonical form."""
    cdef int pieces[8]
    cdef int index = 0, compress = -1, value, length, seen, ipv4_piece, number, swaps, tmp
    cdef size_t i = 0
    cdef int k, best_start = -1, best_len = 1, run_start = -1
    cdef cbool ignore_zero
    for k in range(8):
        pieces[k] = 0
    if n and text[0] == b':':
        if n < 2 or text[1] != b':':
            return False
        i = 2
        index = 1
        compress = 1
    while i < n:
        if index == 8:
            return False
        if text[i] == b':':
            if compress != -1:
                return False
            i += 1
            index += 1
            compress = index
            continue
        value = 0
        length = 0
        while length < 4 and i < n and hex4(text[i]) >= 0:
            value = value * 16 + hex4(text[i])
            i += 1
            length += 1
        if i < n and text[i] == b'.':
            if length == 0:
                return False
            i -= length
            if index > 6:
                return False
            seen = 0
            while i < n:
                ipv4_piece = -1
                if seen > 0:
                    if text[i] == b'.' and seen < 4:
                        i += 1
                    else:
                        return False
                if i >= n or not (b'0' <= text[i] <= b'9'):
                    return False
                while i < n and b'0' <= text[i] <= b'9':
                    number = text[i] - 48
                    if ipv4_piece == -1:
                        ipv4_piece = number
                    elif ipv4_piece == 0:
                        return False
                    else:
                        ipv4_piece = ipv4_piece * 10 + number
                    if ipv4_piece > 255:
                        return False
                    i += 1
                pieces[index] = pieces[index] * 256 + ipv4_piece
                seen += 1
                if seen == 2 or seen == 4:
                    index += 1
            if seen != 4:
                return False
            break
        if i < n and text[i] == b':':
            i += 1
            if i >= n:
                return False
        elif i < n:
            return False
        pieces[index] = value
        index += 1
    if compress != -1:
        swaps = index - compress
        index = 7
        while index != 0 and swaps > 0:
            tmp = pieces[index]
            pieces[index] = pieces[compress + swaps - 1]
            pieces[compress + swaps - 1] = tmp
            index -= 1
            swaps -= 1
    elif index != 8:
        return False
    for k in range(9):
        if k < 8 and pieces[k] == 0:
            if run_start < 0:
                run_start = k
        elif run_start >= 0:
            if k - run_start > best_len:
                best_start = run_start
                best_len = k - run_start
            run_start = -1
    out.clear()
    out.push_back(b'[')
    ignore_zero = False
    for k in range(8):
        if ignore_zero and pieces[k] == 0:
            continue
        ignore_zero = False
        if k == best_start:
            if k == 0:
                out.append(b"::")
            else:
                out.push_back(b':')
            ignore_zero = True
            continue
        append_hex(out, <unsigned int>pieces[k])
        if k != 7:
            out.push_back(b':')
    out.push_back(b']')
    return True


cdef int canon_host(const unsigned char* p, size_t n, string& out, cbool* is_ip) except -1:
    """Canonicalise a host (url_canon_host.cc, url_canon_ip.cc): 1 valid, 0 invalid."""
    cdef string work, second
    cdef cbool non_ascii = False
    cdef int state
    cdef size_t i
    cdef bytes converted
    cdef object result
    if n == 0:
        return 0
    if not simple_host(p, n, work, &non_ascii):
        return 0
    if non_ascii:
        result = _idna_to_ascii(work)
        if result is None:
            return 0
        converted = result
        if not simple_host(<const unsigned char*><const char*>converted, len(converted), second, &non_ascii) or non_ascii:
            return 0
        work.swap(second)
    if work.size() == 0:
        return 0
    state = ipv4(work, out)
    if state < 0:
        return 0
    if state > 0:
        is_ip[0] = True
        return 1
    if work.size() >= 2 and work[0] == b'[' and work[work.size() - 1] == b']':
        if not ipv6(<const unsigned char*>work.data() + 1, work.size() - 2, out):
            return 0
        is_ip[0] = True
        return 1
    for i in range(work.size()):
        if work[i] == b'[' or work[i] == b']' or work[i] == b':':
            return 0
    out.swap(work)
    is_ip[0] = False
    return 1


def canonicalize_host(str host):
    """Return ``net::CanonicalizeHost(host)``: the canonical host, or "" when it is invalid."""
    cdef bytes raw = to_utf8(host)
    cdef string out
    cdef cbool is_ip = False
    if not canon_host(<const unsigned char*><const char*>raw, len(raw), out, &is_ip):
        return ""
    return out.decode("ascii")


# ----------------------------------------------------------------------------- URLs

cdef struct Target:
    string scheme
    string host
    cbool is_ip
    string port
    cbool has_path
    string path
    int64_t scheme_bit


cdef inline cbool is_slash(unsigned char c) noexcept nogil:
    return c == b'/' or c == b'\\'


cdef int default_port(const string& scheme) noexcept nogil:
    if scheme == b"http" or scheme == b"ws":
        return 80
    if scheme == b"https" or scheme == b"wss":
        return 443
    if scheme == b"ftp":
        return 21
    return -1


cdef void escape_into(string& out, const unsigned char* p, size_t n, cbool* table) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if table[p[i]]:
            push_escaped(out, p[i])
        else:
            out.push_back(<char>p[i])


cdef void path_segment(string& out, const unsigned char* p, size_t n) noexcept nogil:
    cdef size_t i = 0
    cdef int decoded
    while i < n:
        if p[i] == b'%' and i + 2 < n and hexval(p[i + 1]) >= 0 and hexval(p[i + 2]) >= 0:
            decoded = hexval(p[i + 1]) * 16 + hexval(p[i + 2])
            if UNRESERVED[decoded]:
                out.push_back(<char>decoded)
            else:
                out.append(<const char*>p + i, 3)
            i += 3
            continue
        if PATH_ESC[p[i]]:
            push_escaped(out, p[i])
        else:
            out.push_back(<char>p[i])
        i += 1


cdef void canon_path(string& out, const unsigned char* p, size_t n, cbool backslash) noexcept nogil:
    """Canonicalise a path starting with a slash: dot segments, escapes (url_canon_path.cc)."""
    cdef size_t base = out.size(), start = 1, end, seg_start, cut
    cdef string segment
    cdef cbool last
    if n == 0:
        out.push_back(b'/')
        return
    out.push_back(b'/')
    while True:
        end = start
        while end < n and not (p[end] == b'/' or (backslash and p[end] == b'\\')):
            end += 1
        last = end >= n
        segment.clear()
        path_segment(segment, p + start, end - start)
        if segment == b"..":
            # Drop the previous segment (if any) together with its leading slash.
            if out.size() > base + 1:
                cut = out.rfind(<char>47, out.size() - 2)
                out.resize(cut + 1)
        elif segment != b".":  # a "." segment adds nothing
            out.append(segment)
            if not last:
                out.push_back(b'/')
        if last:
            break
        start = end + 1


cdef inline size_t find_any(const unsigned char* p, size_t n, const char* chars) noexcept nogil:
    cdef size_t i
    cdef const char* c
    for i in range(n):
        c = chars
        while c[0]:
            if p[i] == <unsigned char>c[0]:
                return i
            c += 1
    return n


cdef void path_query(const unsigned char* p, size_t n, size_t* path_len,
                     ssize_t* query_start, size_t* query_len) noexcept nogil:
    cdef size_t i, end = n
    for i in range(n):
        if p[i] == b'#':
            end = i
            break
    path_len[0] = end
    query_start[0] = -1
    query_len[0] = 0
    for i in range(end):
        if p[i] == b'?':
            path_len[0] = i
            query_start[0] = i + 1
            query_len[0] = end - i - 1
            return


cdef int server_info(const unsigned char* p, size_t n, size_t* host_len, ssize_t* port_start) noexcept nogil:
    """Split host and port as url_parse.cc ParseServerInfo does."""
    cdef ssize_t terminator = <ssize_t>n if (n and p[0] == b'[') else -1
    cdef ssize_t colon = -1
    cdef size_t i
    for i in range(n):
        if p[i] == b']':
            terminator = i
        elif p[i] == b':':
            colon = i
    if colon > terminator:
        host_len[0] = colon
        port_start[0] = colon + 1
    else:
        host_len[0] = n
        port_start[0] = -1
    return 0


cdef cbool effective_port(const unsigned char* p, ssize_t n, const string& scheme, string& out) noexcept nogil:
    """The effective port as a string; False when the explicit port is invalid."""
    cdef int64_t value = 0
    cdef ssize_t i
    if n > 0:
        for i in range(n):
            if not (b'0' <= p[i] <= b'9'):
                return False
            value = value * 10 + (p[i] - 48)
            if value > 65535:
                return False
        out.clear()
        append_uint(out, <uint64_t>value)
    else:
        out.clear()
        value = default_port(scheme)
        if value < 0:
            out.push_back(<char>45)
            out.push_back(<char>49)
        else:
            append_uint(out, <uint64_t>value)
    return True


cdef int parse_authority(const unsigned char* p, size_t n, const string& scheme, Target& t,
                         size_t* consumed) except -1:
    """Standard URL after ``scheme:``: slashes, userinfo, host, port. 1 valid, 0 invalid."""
    cdef size_t i = 0, aend, at, hp, host_len
    cdef ssize_t port_start
    while i < n and is_slash(p[i]):
        i += 1
    aend = i + find_any(p + i, n - i, b"/\\?#")
    hp = i
    for at in range(i, aend):
        if p[at] == b'@':
            hp = at + 1
    server_info(p + hp, aend - hp, &host_len, &port_start)
    if not canon_host(p + hp, host_len, t.host, &t.is_ip):
        return 0
    if port_start >= 0:
        if not effective_port(p + hp + port_start, <ssize_t>(aend - hp - port_start), scheme, t.port):
            return 0
    else:
        effective_port(p, 0, scheme, t.port)
    consumed[0] = aend
    return 1


cdef int parse_file(const unsigned char* p, size_t n, Target& t, size_t* consumed) except -1:
    cdef size_t slashes = 0, hend
    while slashes < n and is_slash(p[slashes]):
        slashes += 1
    t.host.clear()
    t.is_ip = False
    t.port.assign(b"-1")
    if slashes >= 2:
        hend = 2 + find_any(p + 2, n - 2, b"/\\?#")
        if hend > 2:
            if not canon_host(p + 2, hend - 2, t.host, &t.is_ip):
                return 0
        consumed[0] = hend
    else:
        consumed[0] = 0
    return 1


cdef void append_query(string& out, const unsigned char* p, ssize_t start, size_t n, cbool special) noexcept nogil:
    if start < 0:
        return
    out.push_back(b'?')
    if special:
        escape_into(out, p + start, n, SQUERY_ESC)
    else:
        escape_into(out, p + start, n, QUERY_ESC)


cdef int split_scheme(const unsigned char* p, size_t n, string& scheme) noexcept nogil:
    """Return the index of the scheme's ':' (scheme lowercased into ``scheme``), or -1."""
    cdef size_t colon = n, i
    cdef unsigned char c
    for i in range(n):
        if p[i] == b':':
            colon = i
            break
    if colon == n or colon == 0:
        return -1
    if not ((0x41 <= p[0] <= 0x5A) or (0x61 <= p[0] <= 0x7A)):
        return -1
    scheme.clear()
    for i in range(colon):
        c = p[i]
        if 0x41 <= c <= 0x5A:
            c += 32
        elif not ((0x61 <= c <= 0x7A) or (0x30 <= c <= 0x39) or c == b'+' or c == b'-' or c == b'.'):
            return -1
        scheme.push_back(<char>c)
    return <int>colon


cdef int special_rest(const unsigned char* p, size_t n, const string& scheme, Target& t,
                      size_t* path_begin) except -1:
    """Parse host/port of a standard or file URL; ``path_begin`` is where the path starts."""
    if scheme == b"file":
        return parse_file(p, n, t, path_begin)
    return parse_authority(p, n, scheme, t, path_begin)


cdef int parse_url(const unsigned char* raw, size_t raw_n, Target& t) except -1:
    """Parse and canonicalise a URL as GURL does, as far as URLPattern needs: 1 valid, 0 not."""
    cdef size_t start = 0, end = raw_n, i, n, path_begin, path_len, query_len, cut, rest_n
    cdef ssize_t query_start, colon
    cdef string cleaned, inner_scheme, raw_path
    cdef const unsigned char* p
    cdef const unsigned char* rest
    cdef const unsigned char* after
    cdef size_t after_n, hp, host_len, aend
    cdef ssize_t port_start
    cdef cbool needs_clean = False
    while start < end and raw[start] <= 0x20:
        start += 1
    while end > start and raw[end - 1] <= 0x20:
        end -= 1
    for i in range(start, end):
        if raw[i] == b'\t' or raw[i] == b'\n' or raw[i] == b'\r':
            needs_clean = True
            break
    if needs_clean:
        for i in range(start, end):
            if not (raw[i] == b'\t' or raw[i] == b'\n' or raw[i] == b'\r'):
                cleaned.push_back(<char>raw[i])
        p = <const unsigned char*>cleaned.data()
        n = cleaned.size()
    else:
        p = raw + start
        n = end - start
    colon = split_scheme(p, n, t.scheme)
    if colon < 0:
        return 0
    rest = p + colon + 1
    rest_n = n - colon - 1
    t.path.clear()
    t.host.clear()
    t.is_ip = False
    if t.scheme == b"filesystem":
        colon = split_scheme(rest, rest_n, inner_scheme)
        if colon < 0:
            return 0
        if inner_scheme == b"filesystem" or STANDARD.count(inner_scheme) == 0:
            return 0
        t.scheme.swap(inner_scheme)
        rest = rest + colon + 1
        rest_n = rest_n - colon - 1
        if not special_rest(rest, rest_n, t.scheme, t, &path_begin):
            return 0
        after = rest + path_begin
        after_n = rest_n - path_begin
        path_query(after, after_n, &path_len, &query_start, &query_len)
        if t.scheme == b"file" and (path_len == 0 or not is_slash(after[0])):
            raw_path.assign(b"/")
            raw_path.append(<const char*>after, path_len)
        else:
            raw_path.assign(<const char*>after, path_len)
        if raw_path.size() == 0 or not is_slash(<unsigned char>raw_path[0]):
            return 0
        cut = 1
        while cut < raw_path.size() and not is_slash(<unsigned char>raw_path[cut]):
            cut += 1
        canon_path(t.path, <const unsigned char*>raw_path.data(), cut, True)
        canon_path(t.path, <const unsigned char*>raw_path.data() + cut, raw_path.size() - cut, True)
        append_query(t.path, after, query_start, query_len, True)
        t.has_path = True
    elif STANDARD.count(t.scheme):
        if not special_rest(rest, rest_n, t.scheme, t, &path_begin):
            return 0
        after = rest + path_begin
        after_n = rest_n - path_begin
        path_query(after, after_n, &path_len, &query_start, &query_len)
        if t.scheme == b"file" and (path_len == 0 or not is_slash(after[0])):
            raw_path.assign(b"/")
            raw_path.append(<const char*>after, path_len)
            canon_path(t.path, <const unsigned char*>raw_path.data(), raw_path.size(), True)
        else:
            canon_path(t.path, after, path_len, True)
        append_query(t.path, after, query_start, query_len, True)
        t.has_path = True
    else:
        t.port.assign(b"-1")
        after = rest
        after_n = rest_n
        if rest_n >= 2 and rest[0] == b'/' and rest[1] == b'/':
            aend = 2 + find_any(rest + 2, rest_n - 2, b"/?#")
            hp = 2
            for i in range(2, aend):
                if rest[i] == b'@':
                    hp = i + 1
            server_info(rest + hp, aend - hp, &host_len, &port_start)
            if host_len >= 2 and rest[hp] == b'[' and rest[hp + host_len - 1] == b']':
                if not ipv6(rest + hp + 1, host_len - 2, t.host):
                    return 0
                t.is_ip = True
            else:
                for i in range(host_len):
                    if FORBIDDEN_OPAQUE[rest[hp + i]]:
                        return 0
                escape_into(t.host, rest + hp, host_len, OPAQUE_ESC)
            if port_start >= 0:
                if not effective_port(rest + hp + port_start, <ssize_t>(aend - hp - port_start), t.scheme, t.port):
                    return 0
            after = rest + aend
            after_n = rest_n - aend
        path_query(after, after_n, &path_len, &query_start, &query_len)
        if path_len and after[0] == b'/':
            canon_path(t.path, after, path_len, False)
        else:
            escape_into(t.path, after, path_len, OPAQUE_ESC)
        t.has_path = t.path.size() > 0
        append_query(t.path, after, query_start, query_len, False)
    t.scheme_bit = _scheme_bit(t.scheme)
    return 1


cdef int64_t _scheme_bit(const string& scheme) noexcept nogil:
    if scheme == b"http":
        return 1 << 0
    if scheme == b"https":
        return 1 << 1
    if scheme == b"file":
        return 1 << 2
    if scheme == b"ftp":
        return 1 << 3
    if scheme == b"chrome":
        return 1 << 4
    if scheme == b"chrome-extension":
        return 1 << 5
    if scheme == b"filesystem":
        return 1 << 6
    if scheme == b"ws":
        return 1 << 7
    if scheme == b"wss":
        return 1 << 8
    if scheme == b"data":
        return 1 << 9
    if scheme == b"uuid-in-package":
        return 1 << 10
    return 0


cdef int parse_url_object(object url, Target& t) except -1:
    cdef const char* data
    cdef Py_ssize_t size
    cdef bytes raw
    if type(url) is str:
        try:
            data = PyUnicode_AsUTF8AndSize(url, &size)
        except UnicodeEncodeError:
            raw = _twin_utf8(url)
            return parse_url(<const unsigned char*><const char*>raw, len(raw), t)
        return parse_url(<const unsigned char*>data, <size_t>size, t)
    if isinstance(url, str):
        raw = to_utf8(url)
    elif isinstance(url, bytes):
        raw = url
    elif isinstance(url, (bytearray, memoryview)):
        raw = bytes(url)
    else:
        raise TypeError(f"url must be str or bytes, not {type(url).__name__}")
    return parse_url(<const unsigned char*><const char*>raw, len(raw), t)


# ----------------------------------------------------------------------------- patterns

cdef struct Pat:
    uint64_t bit
    string scheme
    cbool scheme_star
    cbool is_file
    int64_t valid
    cbool match_all
    cbool match_subdomains
    string host_key       # canonical host without one trailing dot
    string port           # "*" or the port as written
    string path
    string path_escaped
    vector[string] segments  # path split at '*'


cdef inline cbool host_matches(const Pat& pat, const string& host, cbool is_ip) noexcept nogil:
    cdef size_t tn = host.size()
    cdef size_t pn = pat.host_key.size()
    if tn and host[tn - 1] == b'.':
        tn -= 1
    if tn == pn and memcmp(host.data(), pat.host_key.data(), tn) == 0:
        return True
    if pat.match_subdomains and pn == 0:
        return True
    if not pat.match_subdomains or is_ip:
        return False
    if tn <= pn + 1:
        return False
    if memcmp(host.data() + tn - pn, pat.host_key.data(), pn) != 0:
        return False
    return host[tn - pn - 1] == b'.'


cdef inline cbool glob(const Pat& pat, const string& text) noexcept nogil:
    """``*``-only glob with leftmost middle segments (base::MatchPattern on path_escaped_)."""
    cdef size_t count = pat.segments.size(), k, pos, limit, found
    cdef size_t tn = text.size()
    if pat.path_escaped.size() == tn + 2 and \
            memcmp(pat.path_escaped.data(), text.data(), tn) == 0 and \
            pat.path_escaped[tn] == b'/' and pat.path_escaped[tn + 1] == b'*':
        return True
    if count == 1:
        return text == pat.path
    if tn < pat.segments[0].size() or \
            memcmp(text.data(), pat.segments[0].data(), pat.segments[0].size()) != 0:
        return False
    pos = pat.segments[0].size()
    if tn < pat.segments[count - 1].size():
        return False
    limit = tn - pat.segments[count - 1].size()
    if limit < pos:
        return False
    for k in range(1, count - 1):
        if pat.segments[k].size() == 0:
            continue
        found = text.find(pat.segments[k], pos)
        if found == <size_t>-1 or found + pat.segments[k].size() > limit:
            return False
        pos = found + pat.segments[k].size()
    return memcmp(text.data() + limit, pat.segments[count - 1].data(),
                  pat.segments[count - 1].size()) == 0


cdef inline cbool pat_matches(const Pat& pat, const Target& t) noexcept nogil:
    """URLPattern::MatchesURL on an already parsed URL."""
    if pat.valid != -1 and not (pat.valid & t.scheme_bit):
        return False
    if not pat.scheme_star and pat.scheme != t.scheme:
        return False
    if pat.match_all:
        return True
    if not t.has_path:
        return False
    if not pat.is_file and not host_matches(pat, t.host, t.is_ip):
        return False
    if not (pat.port.size() == 1 and pat.port[0] == b'*') and pat.port != t.port:
        return False
    return glob(pat, t.path)


cdef bint _is_standard(str scheme):
    return scheme == "*" or STANDARD.count(scheme.lower().encode("utf-8", "surrogatepass")) > 0


cdef bint _valid_port_for_scheme(str scheme, str port):
    cdef Py_ssize_t i, start = 0
    if port == "*":
        return True
    if scheme not in ("http", "https", "ws", "wss", "ftp"):
        return False
    if port.startswith("-"):
        start = 1
    if len(port) == start:
        return False
    for i in range(start, len(port)):
        if not ("0" <= port[i] <= "9"):
            return False
    return 0 <= int(port) < 65536


cdef bint _scheme_allowed(int64_t valid, str scheme):
    if valid == -1:
        return True
    return (valid & _SCHEME_BITS.get(scheme, 0)) != 0


cdef class _PatternCore:
    """Parsed pattern fields; URLPattern is the public subclass."""

    cdef Pat pat
    cdef int64_t _valid
    cdef bint _match_all
    cdef bint _match_subdomains
    cdef str _scheme
    cdef str _host
    cdef str _port
    cdef str _path

    def __init__(self, pattern, valid_schemes=SCHEME_ALL):
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a string, not {type(pattern).__name__}")
        _twin._check_valid_schemes(valid_schemes)
        self._valid = valid_schemes
        self._match_all = False
        self._match_subdomains = False
        self._scheme = ""
        self._host = ""
        self._port = "*"
        self._path = ""
        self._parse(pattern)
        self._fill()

    cdef _set_all_urls(self):
        self._match_all = True
        self._match_subdomains = True
        self._scheme = "*"
        self._host = ""
        self._path = "/*"

    cdef _parse(self, str pattern):
        cdef Py_ssize_t scheme_end, host_start, host_end, path_start, port_separator, ipv6_end
        cdef bint standard, has_standard_separator = True
        cdef str host_and_port, host_piece, port
        cdef bytes raw
        cdef string canonical
        cdef cbool is_ip = False
        if pattern == ALL_URLS:
            self._set_all_urls()
            return
        scheme_end = pattern.find("://")
        if scheme_end < 0:
            scheme_end = pattern.find(":")
            has_standard_separator = False
        if scheme_end < 0:
            raise URLPatternError("kMissingSchemeSeparator")
        self._scheme = pattern[:scheme_end]
        if self._scheme == "*":
            self._valid &= 3
        elif not _scheme_allowed(self._valid, self._scheme):
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
        self._path = pattern[path_start:]
        if "*" in self._host:
            raise URLPatternError("kInvalidHostWildcard")
        if self._host:
            raw = to_utf8(self._host)
            if not canon_host(<const unsigned char*><const char*>raw, len(raw), canonical, &is_ip):
                raise URLPatternError("kInvalidHost")
            self._host = canonical.decode("ascii")

    cdef _fill(self):
        cdef bytes path = self._path.encode("utf-8", "surrogatepass")
        cdef bytes host = self._host.encode("ascii")
        self.pat.scheme = self._scheme.encode("utf-8", "surrogatepass")
        self.pat.scheme_star = self._scheme == "*"
        self.pat.is_file = self._scheme == "file"
        self.pat.valid = self._valid
        self.pat.match_all = self._match_all
        self.pat.match_subdomains = self._match_subdomains
        self.pat.host_key = host[:len(host) - 1] if host.endswith(b".") else host
        self.pat.port = self._port.encode("ascii")
        self.pat.path = path
        self.pat.path_escaped = path.replace(b"\\", b"\\\\").replace(b"?", b"\\?")
        self.pat.segments.clear()
        for segment in path.split(b"*"):
            self.pat.segments.push_back(segment)

    @property
    def valid_schemes(self):
        return self._valid

    @property
    def scheme(self):
        return self._scheme

    @property
    def host(self):
        return self._host

    @property
    def match_subdomains(self):
        return self._match_subdomains

    @property
    def match_all_urls(self):
        return self._match_all

    @property
    def path(self):
        return self._path

    @property
    def port(self):
        return self._port

    def get_as_string(self):
        """Return the pattern as Chromium prints it (GetAsString)."""
        if self._match_all:
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

    def __str__(self):
        return self.get_as_string()

    def __repr__(self):
        return f"URLPattern({self.get_as_string()!r})"

    def __eq__(self, other):
        if not isinstance(other, _PatternCore):
            return NotImplemented
        return self.get_as_string() == other.get_as_string()

    def __ne__(self, other):
        if not isinstance(other, _PatternCore):
            return NotImplemented
        return self.get_as_string() != other.get_as_string()

    def __lt__(self, other):
        return self.get_as_string() < other.get_as_string()

    def __hash__(self):
        return hash(self.get_as_string())

    def matches_scheme(self, str scheme):
        """Tell whether a URL with ``scheme`` can match (MatchesScheme)."""
        if not _scheme_allowed(self._valid, scheme):
            return False
        return self._scheme == "*" or scheme == self._scheme

    def matches_host(self, str host):
        """Tell whether ``host`` matches, canonicalising it as ``http://<host>/`` (MatchesHost)."""
        cdef Target t
        cdef bytes raw = b"http://" + to_utf8(host) + b"/"
        if not parse_url(<const unsigned char*><const char*>raw, len(raw), t):
            t.host.clear()
            t.is_ip = False
        return host_matches(self.pat, t.host, t.is_ip)

    def matches_port(self, str port):
        """Tell whether the port pattern accepts ``port`` (MatchesPortPattern)."""
        return self._port == "*" or self._port == port

    def matches_path(self, str path):
        """Glob-match ``path``; ``/foo/*`` also matches ``/foo`` (MatchesPath)."""
        return glob(self.pat, path.encode("utf-8", "surrogatepass"))

    def matches_url(self, url):
        """Tell whether ``url`` matches (MatchesURL); ``bytes`` are a raw 8-bit URL."""
        cdef Target t
        if not parse_url_object(url, t):
            return False
        return pat_matches(self.pat, t)


class URLPattern(_PatternCore):
    """One Chrome extension match pattern (``extensions::URLPattern``), compiled."""

    __slots__ = ()


# ----------------------------------------------------------------------------- the set

cdef _check_tag(tag):
    if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag <= 63:
        raise ValueError(f"tag must be an int from 0 to 63, not {tag!r}")


cdef class _PatternSetCore:
    """Patterns indexed by host; URLPatternSet is the public subclass."""

    cdef vector[Pat] pats
    cdef unordered_map[string, vector[size_t]] exact
    cdef unordered_map[string, vector[size_t]] subdomain
    cdef vector[size_t] wildcard
    cdef object _valid

    def __init__(self, valid_schemes=SCHEME_ALL):
        _twin._check_valid_schemes(valid_schemes)
        self._valid = valid_schemes

    cdef void _index(self, size_t i):
        cdef Pat* pat = &self.pats[i]
        if pat.match_all or pat.is_file or (pat.match_subdomains and pat.host_key.size() == 0):
            self.wildcard.push_back(i)
        elif pat.match_subdomains:
            self.subdomain[pat.host_key].push_back(i)
        else:
            self.exact[pat.host_key].push_back(i)

    cdef inline uint64_t _scan(self, const vector[size_t]* bucket, const Target& t,
                               uint64_t mask) noexcept nogil:
        cdef size_t j, i
        for j in range(bucket.size()):
            i = deref(bucket)[j]
            if not (mask & self.pats[i].bit) and pat_matches(self.pats[i], t):
                mask |= self.pats[i].bit
        return mask

    cdef void _reindex(self):
        cdef size_t i
        self.exact.clear()
        self.subdomain.clear()
        self.wildcard.clear()
        for i in range(self.pats.size()):
            self._index(i)

    def add(self, pattern, tag):
        """Parse ``pattern`` and add it under ``tag`` (0..63); raise URLPatternError if invalid."""
        cdef _PatternCore parsed
        _check_tag(tag)
        parsed = _PatternCore(pattern, self._valid)
        parsed.pat.bit = (<uint64_t>1) << (<int>tag)
        self.pats.push_back(parsed.pat)
        self._index(self.pats.size() - 1)

    def remove_tag(self, tag):
        """Drop every pattern added under ``tag``."""
        cdef uint64_t bit
        cdef vector[Pat] kept
        cdef size_t i
        _check_tag(tag)
        bit = (<uint64_t>1) << (<int>tag)
        for i in range(self.pats.size()):
            if self.pats[i].bit != bit:
                kept.push_back(self.pats[i])
        self.pats.swap(kept)
        self._reindex()

    def clear(self):
        """Drop every pattern."""
        self.pats.clear()
        self._reindex()

    def __len__(self):
        return self.pats.size()

    def match_mask(self, url):
        """Return the OR of ``1 << tag`` over every pattern that matches ``url``."""
        cdef Target t
        cdef uint64_t mask = 0
        cdef size_t i, dot, n
        cdef string key
        cdef unordered_map[string, vector[size_t]].iterator found
        if not parse_url_object(url, t):
            return 0
        mask = self._scan(&self.wildcard, t, mask)
        n = t.host.size()
        if n and t.host[n - 1] == b'.':
            n -= 1
        key.assign(t.host.data(), n)
        if not self.exact.empty():
            found = self.exact.find(key)
            if found != self.exact.end():
                mask = self._scan(&deref(found).second, t, mask)
        if not self.subdomain.empty():
            found = self.subdomain.find(key)
            if found != self.subdomain.end():
                mask = self._scan(&deref(found).second, t, mask)
            if not t.is_ip:
                dot = key.find(<char>46, 1)
                while dot != <size_t>-1:
                    found = self.subdomain.find(key.substr(dot + 1))
                    if found != self.subdomain.end():
                        mask = self._scan(&deref(found).second, t, mask)
                    dot = key.find(<char>46, dot + 1)
        return mask


class URLPatternSet(_PatternSetCore):
    """Tagged patterns matched against a URL in one pass; ``match_mask`` ORs ``1 << tag``."""

    __slots__ = ()
