# cython: language_level=3
"""Proxy bypass matching, compiled: same interface and answers as ``websession._bypass_py``.

Rules are indexed in C++ hash maps keyed by exact host and by ``*suffix``; the general globs and
CIDR blocks stay in vectors walked from the last rule. See ``_bypass_py`` for the semantics.
"""

from cython.operator cimport dereference as deref
from libc.string cimport memcmp, memcpy
from libcpp.string cimport string
from libcpp.string_view cimport string_view
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL

cdef extern from "<arpa/inet.h>" nogil:
    int inet_pton(int af, const char* src, void* dst)
    int AF_INET6

DEF _INCLUDE = 1
DEF _EXCLUDE = -1
DEF _NO_MATCH = 0

KIND_PATTERN = 0
KIND_CIDR = 1
KIND_LOCAL = 2
KIND_SUBTRACT_IMPLICIT = 3

INCLUDE = _INCLUDE
EXCLUDE = _EXCLUDE
NO_MATCH = _NO_MATCH

cdef struct Entry:
    int index
    int port
    string scheme

cdef struct Glob:
    int index
    int port
    string scheme
    string pattern

cdef struct Block:
    int index
    int bits
    string scheme
    unsigned char network[16]

cdef unsigned char[12] _MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]


cdef inline bint _is_wild(char c) noexcept nogil:
    return c == b'*' or c == b'?'


cdef bint _match_pattern(const char* text, Py_ssize_t ns, const char* pattern,
                         Py_ssize_t np) noexcept nogil:
    # base/strings/pattern.cc MatchPatternT (greedy, no backtracking), byte-wise.
    cdef Py_ssize_t p = 0, s = 0, p_start, s_start
    cdef int distance, questions
    cdef bint star, escape
    while True:
        questions = 0
        star = False
        while p < np:
            if pattern[p] == b'?':
                questions += 1
            elif pattern[p] == b'*':
                star = True
            else:
                break
            p += 1
        distance = -1 if star else questions
        p_start = p
        s_start = s
        escape = False
        while True:
            if p == np:
                if s == ns:
                    break
            else:
                if not escape and _is_wild(pattern[p]):
                    break
                if not escape and pattern[p] == b'\\':
                    escape = True
                    p += 1
                    continue
                escape = False
                if s == ns:
                    return False
                if pattern[p] == text[s]:
                    p += 1
                    s += 1
                    continue
            if distance == 0:
                return False
            distance -= 1
            p = p_start
            s_start += 1
            if s_start > ns:
                return False
            s = s_start
        if p == np:
            return True


cdef bint _ip_bytes(const char* host, Py_ssize_t n, unsigned char* out) noexcept nogil:
    cdef char buf[64]
    cdef Py_ssize_t i
    cdef int parts = 0, value = 0, digits = 0
    if n == 0:
        return False
    if host[0] == b'[':
        if host[n - 1] != b']' or n - 2 >= 63 or n < 2:
            return False
        memcpy(buf, host + 1, n - 2)
        buf[n - 2] = 0
        return inet_pton(AF_INET6, buf, out) == 1
    if not (b'0' <= host[n - 1] <= b'9'):
        return False
    memcpy(out, _MAPPED_PREFIX, 12)
    for i in range(n + 1):
        if i == n or host[i] == b'.':
            if digits == 0 or parts >= 4 or value > 255:
                return False
            out[12 + parts] = <unsigned char>value
            parts += 1
            value = 0
            digits = 0
        elif b'0' <= host[i] <= b'9':
            digits += 1
            if digits > 3:
                return False
            value = value * 10 + (<int>host[i] - 48)
        else:
            return False
    return parts == 4


cdef bint _in_prefix(const unsigned char* address, const unsigned char* network,
                     int bits) noexcept nogil:
    cdef int full = bits >> 3, rest = bits & 7
    cdef unsigned char mask
    if full and memcmp(address, network, full) != 0:
        return False
    if rest == 0:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return (address[full] & mask) == (network[full] & mask)


cdef bint _implicit(const char* host, Py_ssize_t n) noexcept nogil:
    cdef unsigned char address[16]
    cdef Py_ssize_t m = n
    cdef int i
    if m > 0 and host[m - 1] == b'.':
        m -= 1
    if m >= 9 and memcmp(host + m - 9, b"localhost", 9) == 0:
        if m == 9 or host[m - 10] == b'.':
            return True
    if not _ip_bytes(host, n, address):
        return False
    if memcmp(address, _MAPPED_PREFIX, 12) == 0:
        if address[12] == 127:
            return True
        return address[12] == 169 and address[13] == 254
    for i in range(15):
        if address[i] != 0:
            break
    else:
        if address[15] == 1:
            return True
    return address[0] == 0xFE and (address[1] & 0xC0) == 0x80


def matches_implicit(str host):
    """Tell whether Chromium's implicit bypass rules cover ``host``."""
    cdef Py_ssize_t n
    cdef const char* h = PyUnicode_AsUTF8AndSize(host, &n)
    return _implicit(h, n)


def match_pattern(str text, str pattern):
    """Match ``text`` against a ``base::MatchPattern`` glob."""
    cdef Py_ssize_t nt, np
    cdef const char* t = PyUnicode_AsUTF8AndSize(text, &nt)
    cdef const char* p = PyUnicode_AsUTF8AndSize(pattern, &np)
    return _match_pattern(t, nt, p, np)


def ip_bytes(str host):
    """Return the 16-byte (IPv4-mapped for IPv4) address of a canonical host, or None."""
    cdef Py_ssize_t n
    cdef const char* h = PyUnicode_AsUTF8AndSize(host, &n)
    cdef unsigned char out[16]
    if _ip_bytes(h, n, out):
        return bytes(out[:16])
    return None


cdef inline bint _scheme_ok(const string& rule_scheme, const char* scheme,
                            Py_ssize_t ns) noexcept nogil:
    return rule_scheme.size() == 0 or (
        <Py_ssize_t>rule_scheme.size() == ns and memcmp(rule_scheme.data(), scheme, ns) == 0)


cdef class BypassMatcher:
    """Evaluate parsed bypass rules against (scheme, canonical host, effective port)."""

    cdef vector[string] _keys_storage
    cdef unordered_map[string_view, vector[Entry]] _exact
    cdef unordered_map[string_view, vector[Entry]] _suffix
    cdef vector[size_t] _suffix_lengths
    cdef vector[Glob] _generic
    cdef vector[Block] _cidr
    cdef int _local
    cdef int _subtract
    cdef int _count

    def __init__(self, rules):
        cdef Entry entry
        cdef Glob glob
        cdef Block block
        cdef int index = 0
        cdef bytes pattern_b, network_b
        cdef string key
        cdef vector[string] exact_keys, suffix_keys
        cdef vector[Entry] exact_entries, suffix_entries
        cdef size_t i
        cdef vector[Glob] generic
        cdef vector[Block] cidr
        self._local = -1
        self._subtract = -1
        rules = list(rules)
        self._count = len(rules)
        for rule in rules:
            kind, scheme, pattern, port, network, bits = rule
            if kind == KIND_PATTERN:
                pattern_b = pattern.encode("utf-8")
                wild = "*" in pattern or "?" in pattern or "\\" in pattern
                tail = pattern[1:]
                entry.index = index
                entry.port = port
                entry.scheme = scheme.encode("utf-8")
                if not wild:
                    exact_keys.push_back(pattern_b)
                    exact_entries.push_back(entry)
                elif pattern[0] == "*" and not ("*" in tail or "?" in tail or "\\" in tail):
                    suffix_keys.push_back(pattern_b[1:])
                    suffix_entries.push_back(entry)
                else:
                    glob.index = index
                    glob.port = port
                    glob.scheme = entry.scheme
                    glob.pattern = pattern_b
                    self._generic.push_back(glob)
            elif kind == KIND_CIDR:
                network_b = bytes(network)
                if len(network_b) != 16 or not 0 <= bits <= 128:
                    raise ValueError("a CIDR rule needs a 16-byte network and 0-128 prefix bits")
                block.index = index
                block.bits = bits
                block.scheme = scheme.encode("utf-8")
                memcpy(block.network, <const char*>network_b, 16)
                self._cidr.push_back(block)
            elif kind == KIND_LOCAL:
                self._local = index
            elif kind == KIND_SUBTRACT_IMPLICIT:
                self._subtract = index
            else:
                raise ValueError(f"unknown bypass rule kind {kind!r}")
            index += 1
        # Own every key first so the string_views below stay valid (no reallocation later).
        self._keys_storage.reserve(exact_keys.size() + suffix_keys.size())
        for i in range(exact_keys.size()):
            self._keys_storage.push_back(exact_keys[i])
        for i in range(suffix_keys.size()):
            self._keys_storage.push_back(suffix_keys[i])
        # Insert last rule first, so each bucket lists rules from the highest index down.
        for i in reversed(range(exact_keys.size())):
            self._exact[string_view(self._keys_storage[i].data(),
                                    self._keys_storage[i].size())].push_back(exact_entries[i])
        seen = set()
        for i in reversed(range(suffix_keys.size())):
            key = self._keys_storage[exact_keys.size() + i]
            self._suffix[string_view(self._keys_storage[exact_keys.size() + i].data(),
                                     key.size())].push_back(suffix_entries[i])
            seen.add(key.size())
        for length in sorted(seen):
            self._suffix_lengths.push_back(length)
        for i in reversed(range(self._generic.size())):
            generic.push_back(self._generic[i])
        for i in reversed(range(self._cidr.size())):
            cidr.push_back(self._cidr[i])
        self._generic.swap(generic)
        self._cidr.swap(cidr)

    def __len__(self):
        return self._count

    cdef int _first(self, vector[Entry]* entries, const char* scheme, Py_ssize_t ns, int port,
                    int best) noexcept nogil:
        cdef size_t i
        cdef Entry* e
        for i in range(entries.size()):
            e = &entries[0][i]
            if e.index <= best:
                break
            if (e.port == -1 or e.port == port) and _scheme_ok(e.scheme, scheme, ns):
                return e.index
        return best

    cdef int _evaluate(self, const char* scheme, Py_ssize_t ns, const char* host, Py_ssize_t nh,
                       int port) noexcept nogil:
        cdef int best = -1
        cdef size_t i, length
        cdef unordered_map[string_view, vector[Entry]].iterator it
        cdef Glob* g
        cdef Block* b
        cdef unsigned char address[16]
        cdef bint have_address = False, is_ip = False
        it = self._exact.find(string_view(host, nh))
        if it != self._exact.end():
            best = self._first(&deref(it).second, scheme, ns, port, best)
        for i in range(self._suffix_lengths.size()):
            length = self._suffix_lengths[i]
            if <Py_ssize_t>length > nh:
                break
            it = self._suffix.find(string_view(host + nh - length, length))
            if it != self._suffix.end():
                best = self._first(&deref(it).second, scheme, ns, port, best)
        for i in range(self._generic.size()):
            g = &self._generic[i]
            if g.index <= best:
                break
            if (g.port == -1 or g.port == port) and _scheme_ok(g.scheme, scheme, ns):
                if _match_pattern(host, nh, g.pattern.data(), g.pattern.size()):
                    best = g.index
                    break
        if self._cidr.size() and self._cidr[0].index > best:
            have_address = True
            is_ip = _ip_bytes(host, nh, address)
            if is_ip:
                for i in range(self._cidr.size()):
                    b = &self._cidr[i]
                    if b.index <= best:
                        break
                    if _scheme_ok(b.scheme, scheme, ns) and _in_prefix(address, b.network, b.bits):
                        best = b.index
                        break
        if self._local > best:
            for i in range(<size_t>nh):
                if host[i] == b'.':
                    break
            else:
                if not have_address:
                    is_ip = _ip_bytes(host, nh, address)
                if not is_ip:
                    best = self._local
        if self._subtract > best and _implicit(host, nh):
            return _EXCLUDE
        return _NO_MATCH if best < 0 else _INCLUDE

    def evaluate(self, str scheme, str host, int port):
        """Return ``INCLUDE`` (bypass), ``EXCLUDE`` (``<-loopback>`` hit) or ``NO_MATCH``."""
        cdef Py_ssize_t ns, nh
        cdef const char* s = PyUnicode_AsUTF8AndSize(scheme, &ns)
        cdef const char* h = PyUnicode_AsUTF8AndSize(host, &nh)
        return self._evaluate(s, ns, h, nh, port)

    def matches(self, str scheme, str host, int port, bint reverse=False):
        """Tell whether the proxy is bypassed (``ProxyBypassRules::Matches``)."""
        cdef Py_ssize_t ns, nh
        cdef const char* s = PyUnicode_AsUTF8AndSize(scheme, &ns)
        cdef const char* h = PyUnicode_AsUTF8AndSize(host, &nh)
        cdef int result = self._evaluate(s, ns, h, nh, port)
        if result == _INCLUDE:
            return not reverse
        if result == _EXCLUDE:
            return reverse
        if _implicit(h, nh):
            return True
        return reverse
