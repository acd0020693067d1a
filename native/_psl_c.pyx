# cython: language_level=3
"""Registrable domain (eTLD+1) from the Public Suffix List: the compiled core.

Same interface and answers as ``websession._psl_py`` (the reference), which also supplies the
parsed rule table. Rules live in an open-addressing table whose hash is computed from the
right end of a suffix, so walking a host's labels right to left extends one hash instead of
rehashing each suffix. ``_capi`` is a capsule holding ``registrable_start`` for other cores.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.pycapsule cimport PyCapsule_New
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t, uint32_t, uint8_t
from libc.string cimport memcmp, memcpy

from websession import _psl_py

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)

__all__ = ["registrable_domain", "public_suffix", "is_public_suffix"]

cdef enum:
    NODE = 1
    RULE = 2
    WILDCARD = 4
    EXCEPTION = 8

cdef uint64_t FNV_OFFSET = 14695981039346656037ULL
cdef uint64_t FNV_PRIME = 1099511628211ULL

ctypedef struct Entry:
    uint64_t hash
    const char* key
    uint32_t length
    uint8_t flags

cdef Entry* _table = NULL
cdef uint64_t _mask = 0
cdef char* _keys = NULL


cdef inline uint64_t _hash_step(uint64_t h, unsigned char c) noexcept nogil:
    return (h ^ c) * FNV_PRIME


cdef uint64_t _hash_right(const char* s, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = FNV_OFFSET
    cdef Py_ssize_t i = n - 1
    while i >= 0:
        h = _hash_step(h, <unsigned char>s[i])
        i -= 1
    return h


cdef void _build() except *:
    global _table, _mask, _keys
    table = _psl_py.rules()
    encoded = [(k.encode("utf-8"), v) for k, v in table.items()]
    cdef Py_ssize_t total = sum(len(k) for k, _ in encoded)
    cdef uint64_t size = 1
    while size < <uint64_t>(len(encoded) * 3):
        size <<= 1
    _table = <Entry*>PyMem_Malloc(size * sizeof(Entry))
    _keys = <char*>PyMem_Malloc(total + 1)
    if _table == NULL or _keys == NULL:
        raise MemoryError()
    _mask = size - 1
    cdef uint64_t i
    for i in range(size):
        _table[i].key = NULL
    cdef Py_ssize_t offset = 0
    cdef bytes key
    cdef uint64_t h, slot
    cdef Py_ssize_t n
    for key, flags in encoded:
        n = PyBytes_GET_SIZE(key)
        memcpy(_keys + offset, PyBytes_AS_STRING(key), n)
        h = _hash_right(_keys + offset, n)
        slot = h & _mask
        while _table[slot].key != NULL:
            slot = (slot + 1) & _mask
        _table[slot].hash = h
        _table[slot].key = _keys + offset
        _table[slot].length = <uint32_t>n
        _table[slot].flags = <uint8_t>flags
        offset += n


cdef inline uint8_t _lookup(uint64_t h, const char* s, Py_ssize_t n) noexcept nogil:
    cdef uint64_t slot = h & _mask
    while _table[slot].key != NULL:
        if _table[slot].hash == h and _table[slot].length == n and memcmp(_table[slot].key, s, n) == 0:
            return _table[slot].flags
        slot = (slot + 1) & _mask
    return 0


cdef Py_ssize_t _suffix_start(const char* h, Py_ssize_t n) noexcept nogil:
    """Index where the public suffix of h starts (h: lower-case, no empty label, no end dot)."""
    cdef uint64_t hv = FNV_OFFSET
    cdef int parent = WILDCARD
    cdef Py_ssize_t pos = n, i, start, ps = 0
    cdef uint8_t flags
    while True:
        i = pos - 1
        while i >= 0 and h[i] != b'.':
            hv = _hash_step(hv, <unsigned char>h[i])
            i -= 1
        start = i + 1
        flags = _lookup(hv, h + start, n - start)
        if flags & EXCEPTION:
            while h[start] != b'.':
                start += 1
            return start + 1
        if flags & RULE or parent & WILDCARD:
            ps = start
        if not (flags & NODE) or i < 0:
            return ps
        parent = flags
        hv = _hash_step(hv, b'.')
        pos = i


cdef inline bint _is_ip(const char* h, Py_ssize_t n) noexcept nogil:
    """Tell whether h (no trailing dot) is an IP literal: IPv6, or a last label that is a number."""
    cdef Py_ssize_t i, last = 0
    for i in range(n):
        if h[i] == b'[' or h[i] == b':':
            return True
        if h[i] == b'.':
            last = i + 1
    if last == n:
        return False
    if n - last >= 2 and h[last] == b'0' and h[last + 1] == b'x':
        for i in range(last + 2, n):
            if not (b'0' <= h[i] <= b'9' or b'a' <= h[i] <= b'f'):
                return False
        return True
    for i in range(last, n):
        if not (b'0' <= h[i] <= b'9'):
            return False
    return True


cdef Py_ssize_t _check(const char* h, Py_ssize_t n) noexcept nogil:
    """Return n without a trailing dot, or -1 when h has no suffix (empty label, IP)."""
    cdef Py_ssize_t i
    if n > 0 and h[n - 1] == b'.':
        n -= 1
    if n == 0 or h[0] == b'.' or h[n - 1] == b'.':
        return -1
    for i in range(1, n):
        if h[i] == b'.' and h[i - 1] == b'.':
            return -1
    if _is_ip(h, n):
        return -1
    return n


cdef Py_ssize_t registrable_start(const char* h, Py_ssize_t n) noexcept nogil:
    """Chromium's GetDomainAndRegistry on a lower-case ASCII host: the index where the
    registrable domain starts (leading dots skipped, a trailing dot kept), or -1."""
    cdef Py_ssize_t lead = 0, m, ps
    while lead < n and h[lead] == b'.':
        lead += 1
    m = _check(h + lead, n - lead)
    if m < 0:
        return -1
    ps = _suffix_start(h + lead, m)
    if ps == 0:
        return -1
    ps -= 2
    while ps >= 0 and h[lead + ps] != b'.':
        ps -= 1
    return lead + ps + 1


# mode: 0 registrable domain, 1 public suffix, 2 is public suffix
cdef object _answer(object host, int mode):
    cdef char stack[256]
    cdef char* buf = stack
    cdef const char* src
    cdef Py_ssize_t n, m, i, ps, start
    cdef bint ascii
    cdef char c
    cdef object encoded = None
    if host is None:
        return False if mode == 2 else None
    if not isinstance(host, str):
        raise TypeError(f"host must be a str, not {type(host).__name__}")
    ascii = PyUnicode_IS_ASCII(host)
    if ascii:
        src = <const char*>PyUnicode_DATA(host)
        n = PyUnicode_GET_LENGTH(host)
    else:
        encoded = host.translate(_psl_py._FULL_STOPS).lower().encode("utf-8", "surrogatepass")
        src = PyBytes_AS_STRING(encoded)
        n = PyBytes_GET_SIZE(encoded)
    if n > 256:
        buf = <char*>PyMem_Malloc(n)
        if buf == NULL:
            raise MemoryError()
    try:
        for i in range(n):
            c = src[i]
            buf[i] = c + 32 if b'A' <= c <= b'Z' else c
        m = _check(buf, n)
        if m < 0:
            return False if mode == 2 else None
        ps = _suffix_start(buf, m)
        if mode == 2:
            return ps == 0
        if mode == 1:
            start = ps
        else:
            if ps == 0:
                return None
            start = ps - 2
            while start >= 0 and buf[start] != b'.':
                start -= 1
            start += 1
        if ascii:
            return PyUnicode_FromKindAndData(1, buf + start, n - start)
        return PyUnicode_DecodeUTF8(buf + start, n - start, "surrogatepass")
    finally:
        if buf != stack:
            PyMem_Free(buf)


def registrable_domain(host):
    """Return the registrable domain (eTLD+1) of ``host``, or None when it has none."""
    return _answer(host, 0)


def public_suffix(host):
    """Return the public suffix of ``host``, or None for IP addresses and malformed hosts."""
    return _answer(host, 1)


def is_public_suffix(host):
    """Tell whether ``host`` is itself a public suffix (``com``, ``co.uk``, ``github.io``)."""
    return _answer(host, 2)


_build()
_capi = PyCapsule_New(<void*>registrable_start, b"websession._psl_c.registrable_start", NULL)
