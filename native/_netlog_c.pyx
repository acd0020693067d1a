# cython: language_level=3
"""NetLog event encoding and buffering, compiled: same bytes and errors as ``websession._netlog_py``.

Events are serialised straight into one growable C buffer (no intermediate Python strings):
strings are copied from their cached UTF-8 form in runs between the bytes Chrome escapes,
integers are printed with a small C routine, and the buffer becomes one ``bytes`` object per
chunk handed to the sink. See ``_netlog_py`` for the format.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_Next
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.math cimport floor, isfinite
from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memcpy, memset
from libc.stdio cimport snprintf

from websession._netlog_py import MAX_DEPTH, elide_header_value, fix_surrogates, float_json

import base64

cdef extern from "strings.h":
    int strncasecmp(const char* a, const char* b, size_t n)

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    int PyUnicode_Compare(object a, object b) except? -1
    bint PyUnicode_IS_ASCII(object s)
    bint PyUnicode_IS_READY(object s)
    bint PyUnicode_Check(object s)
    void* PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)

cdef long long _SAFE_INTEGER = 1LL << 53

from websession._netlog_constants import EVENT_TYPES as _EVENT_TYPES

cdef long long _REUSED = _EVENT_TYPES["SOCKET_POOL_REUSED_AN_EXISTING_SOCKET"]
cdef long long _BOUND = _EVENT_TYPES["SOCKET_POOL_BOUND_TO_SOCKET"]
cdef long long _SOCKET_IN_USE = _EVENT_TYPES["SOCKET_IN_USE"]
cdef long long _SEND_REQUEST = _EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST"]
cdef long long _SEND_HEADERS = _EVENT_TYPES["HTTP_TRANSACTION_SEND_REQUEST_HEADERS"]
cdef long long _READ_HEADERS = _EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
cdef long long _RESPONSE_HEADERS = _EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]

# Per byte: 0 copy as is, 1 escape, 2 maybe U+2028/U+2029 (lead byte 0xE2).
cdef unsigned char _CLASS[256]
cdef int _i
for _i in range(256):
    _CLASS[_i] = 1 if _i < 0x20 else 0
_CLASS[ord('"')] = 1
_CLASS[ord('\\')] = 1
_CLASS[ord('<')] = 1
_CLASS[0xE2] = 2

cdef const char* _HEX = b"0123456789ABCDEF"
cdef bytes _REQUEST_LINE_END = b' HTTP/1.1\\r\\n"'  # JSON of " HTTP/1.1\r\n" and the closing quote
cdef const char* _DIGIT_PAIRS = (
    b"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    b"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    b"8081828384858687888990919293949596979899")


cdef uint64_t _ONES = 0x0101010101010101ULL
cdef uint64_t _HIGHS = 0x8080808080808080ULL


cdef inline uint64_t _has_zero_byte(uint64_t v) noexcept:
    return (v - _ONES) & ~v & _HIGHS


cdef inline uint64_t _special_bytes(uint64_t x) noexcept:
    """Tell (non-zero) whether a byte of ``x`` is one put_chars must look at: a control byte,
    '"', '\\', '<', or any byte of a multi-byte character (bit tricks: "Bit Twiddling Hacks",
    hasless and haszero)."""
    return (((x - _ONES * 0x20) & ~x & _HIGHS)
            | _has_zero_byte(x ^ (_ONES * 0x22))
            | _has_zero_byte(x ^ (_ONES * 0x5C))
            | _has_zero_byte(x ^ (_ONES * 0x3C))
            | (x & _HIGHS))


cdef inline int _decimal_length(unsigned long long v) noexcept:
    cdef int n = 1
    while v >= 10000:
        v //= 10000
        n += 4
    if v >= 1000:
        return n + 3
    if v >= 100:
        return n + 2
    if v >= 10:
        return n + 1
    return n


cdef int _format_int(char* out, long long value) noexcept:
    """Write ``value`` in decimal at ``out`` (at most 20 bytes); return the length."""
    cdef unsigned long long v
    cdef unsigned int pair
    cdef int length = 0
    if value < 0:
        v = <unsigned long long>(-(value + 1)) + 1
        out[0] = b'-'
        length = 1
    else:
        v = <unsigned long long>value
    length += _decimal_length(v)
    cdef int pos = length
    while v >= 100:
        pair = <unsigned int>(v % 100) * 2
        v //= 100
        pos -= 2
        out[pos] = _DIGIT_PAIRS[pair]
        out[pos + 1] = _DIGIT_PAIRS[pair + 1]
    if v >= 10:
        pair = <unsigned int>v * 2
        out[pos - 2] = _DIGIT_PAIRS[pair]
        out[pos - 1] = _DIGIT_PAIRS[pair + 1]
    else:
        out[pos - 1] = <char>(48 + v)
    return length


# The text of an event's end, '","type":N}', for the event types Chrome has (a few hundred).
cdef enum:
    _TYPE_TEXTS = 1024
    _TYPE_TEXT_SIZE = 16
    _SOURCE_TEXT_SIZE = 128
    _TIME_TEXT_SIZE = 24
    # put_fields' room: the phase, the kept source and time texts, the type's text
    _FIELDS_ROOM = 24 + _SOURCE_TEXT_SIZE + _TIME_TEXT_SIZE + 32
cdef char _TYPE_TEXT[_TYPE_TEXTS][_TYPE_TEXT_SIZE]
cdef unsigned char _TYPE_TEXT_LENGTH[_TYPE_TEXTS]
cdef int _type, _length
for _type in range(_TYPE_TEXTS):
    memcpy(_TYPE_TEXT[_type], b'","type":', 9)
    _length = 9 + _format_int(_TYPE_TEXT[_type] + 9, _type)
    _TYPE_TEXT[_type][_length] = b'}'
    _TYPE_TEXT_LENGTH[_type] = _length + 1


# The kept header lines (see _Buffer.put_header): a value held by reference, so its identity
# stands for its text, with its name, and the line's text once the two have been met twice.
cdef enum:
    _LINE_SLOTS = 64
    _LINE_MAX = 512


cdef struct _HeaderLine:
    PyObject* name
    PyObject* value
    int mode
    char* text
    Py_ssize_t length


cdef _HeaderLine _LINES[_LINE_SLOTS]
memset(_LINES, 0, sizeof(_LINES))


cdef inline bint _ascii_str(object s) noexcept:
    """Tell whether ``s`` is a ready ``str`` (or subclass) of ASCII text: its data is its UTF-8."""
    return PyUnicode_Check(s) and PyUnicode_IS_READY(s) and PyUnicode_IS_ASCII(s)


cdef inline bint _same_name(object kept, object name) noexcept:
    """Tell whether ``kept`` and ``name``, an ASCII str, have the same text."""
    cdef Py_ssize_t n
    if kept is name:
        return True
    n = PyUnicode_GET_LENGTH(name)
    return (_ascii_str(kept) and PyUnicode_GET_LENGTH(kept) == n
            and memcmp(PyUnicode_DATA(kept), PyUnicode_DATA(name), n) == 0)


cdef void _forget_line(_HeaderLine* line) noexcept:
    Py_XDECREF(line.name)
    Py_XDECREF(line.value)
    PyMem_Free(line.text)
    line.name = NULL
    line.value = NULL
    line.text = NULL
    line.length = 0


cdef class _Buffer:
    def __cinit__(self):
        self.capacity = 1 << 16
        self.data = <char*>PyMem_Malloc(self.capacity)
        if self.data == NULL:
            raise MemoryError()
        self.length = 0
        self.source_length = 0
        self.time_length = 0
        memset(self.source_text, 0, sizeof(self.source_text))
        memset(self.time_text, 0, sizeof(self.time_text))

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef int grow(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.length + extra
        cdef Py_ssize_t cap = self.capacity
        cdef char* data
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        data = <char*>PyMem_Realloc(self.data, cap)
        if data == NULL:
            raise MemoryError()
        self.data = data
        self.capacity = cap
        return 0

    cdef int put_int(self, long long value) except -1:
        if self.length + 20 > self.capacity:
            self.grow(20)
        self.length += _format_int(self.data + self.length, value)
        return 0

    cdef int put_string(self, object text) except -1:
        self.put_char(b'"')
        self.put_chars(text)
        return self.put_char(b'"')

    cdef int put_chars(self, object text) except -1:
        """Put the escaped UTF-8 of ``text`` without quotes."""
        if _ascii_str(text):
            return self.put_escaped(<const unsigned char*>PyUnicode_DATA(text),
                                    PyUnicode_GET_LENGTH(text))
        return self.put_unicode(text)

    cdef int put_unicode(self, object text) except -1:
        """``put_chars`` of a string that is not plain ASCII (or not a ready ``str``)."""
        cdef Py_ssize_t n
        cdef const unsigned char* s
        try:
            s = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &n)
        except UnicodeEncodeError:
            text = fix_surrogates(text)
            s = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &n)
        return self.put_escaped(s, n)

    cdef int put_escaped(self, const unsigned char* s, Py_ssize_t n) except -1:
        """Put the UTF-8 ``s[:n]`` with the bytes Chrome's JSON writer escapes escaped."""
        cdef Py_ssize_t i, run
        cdef unsigned char c, cls
        cdef uint64_t word
        if self.length + n + 1 > self.capacity:
            self.grow(n + 1)
        run = 0
        i = 0
        while i < n:
            # Skip eight bytes at a time while none of them needs escaping (plain ASCII).
            while i + 8 <= n:
                memcpy(&word, s + i, 8)
                if _special_bytes(word):
                    break
                i += 8
            if i >= n:
                break
            c = s[i]
            cls = _CLASS[c]
            if cls == 0 or (cls == 2 and not (
                    i + 2 < n and s[i + 1] == 0x80 and (s[i + 2] == 0xA8 or s[i + 2] == 0xA9))):
                i += 1
                continue
            if i > run:
                self.put(<const char*>s + run, i - run)
            if cls == 2:
                self.put(b"\\u202", 5)
                self.put_char(b'8' if s[i + 2] == 0xA8 else b'9')
                i += 3
                run = i
                continue
            if c == b'"':
                self.put(b'\\"', 2)
            elif c == b'\\':
                self.put(b"\\\\", 2)
            elif c == b'<':
                self.put(b"\\u003C", 6)
            elif c == 0x08:
                self.put(b"\\b", 2)
            elif c == 0x0C:
                self.put(b"\\f", 2)
            elif c == 0x0A:
                self.put(b"\\n", 2)
            elif c == 0x0D:
                self.put(b"\\r", 2)
            elif c == 0x09:
                self.put(b"\\t", 2)
            else:
                self.put(b"\\u00", 4)
                self.put_char(_HEX[c >> 4])
                self.put_char(_HEX[c & 15])
            i += 1
            run = i
        if n > run:
            self.put(<const char*>s + run, n - run)
        return 0

    cdef int put_header(self, object name, object value, int mode) except -1:
        """Put ``"name: value"`` with the value elided as ``elide_header_value`` does.

        A crawler sends the same header values with every request (its user agent, its accept
        headers: the same objects, while the names are new copies), so the text of a value
        object met twice under an equal name is kept in a small table: its next uses are one
        copy.
        """
        cdef size_t slot
        cdef _HeaderLine* line
        cdef Py_ssize_t start, length
        if not _ascii_str(name):  # left to the encoder
            return self.encode_header(name, value, mode)
        slot = ((<size_t><PyObject*>value >> 4) * 31 + <size_t>PyUnicode_GET_LENGTH(name)) % _LINE_SLOTS
        line = &_LINES[slot]
        if (line.value == <PyObject*>value and line.mode == mode
                and _same_name(<object>line.name, name)):
            if line.text != NULL:
                return self.put(line.text, line.length)
            start = self.length
            self.encode_header(name, value, mode)
            length = self.length - start
            if length <= _LINE_MAX:
                line.text = <char*>PyMem_Malloc(length)
                if line.text != NULL:
                    memcpy(line.text, self.data + start, length)
                    line.length = length
            return 0
        self.encode_header(name, value, mode)
        _forget_line(line)
        Py_INCREF(name)
        Py_INCREF(value)
        line.name = <PyObject*>name
        line.value = <PyObject*>value
        line.mode = mode
        return 0

    cdef int encode_header(self, object name, object value, int mode) except -1:
        cdef Py_ssize_t n, vn
        cdef const char* s
        cdef int kind = 0
        cdef char tmp[48]
        cdef int written
        if type(name) is not str and not isinstance(name, str):
            raise TypeError(f"NetLog header names must be str, not {type(name).__name__}")
        if type(value) is not str and not isinstance(value, str):
            raise TypeError(f"NetLog header values must be str, not {type(value).__name__}")
        if mode < 1:
            if not PyUnicode_IS_ASCII(name):  # leave Unicode case folding to Python
                value = elide_header_value(mode, name, value)
            else:
                s = PyUnicode_AsUTF8AndSize(name, &n)
                # net/http/http_log_util.cc: 1 strips the value, 2 may strip a challenge's token
                if n == 6 and strncasecmp(s, "cookie", 6) == 0:
                    kind = 1
                elif n == 10 and strncasecmp(s, "set-cookie", 10) == 0:
                    kind = 1
                elif n == 11 and strncasecmp(s, "set-cookie2", 11) == 0:
                    kind = 1
                elif n == 13 and strncasecmp(s, "authorization", 13) == 0:
                    kind = 1
                elif n == 19 and strncasecmp(s, "proxy-authorization", 19) == 0:
                    kind = 1
                elif n == 16 and strncasecmp(s, "www-authenticate", 16) == 0:
                    value = elide_header_value(mode, name, value)
                elif n == 18 and strncasecmp(s, "proxy-authenticate", 18) == 0:
                    value = elide_header_value(mode, name, value)
        self.put_char(b'"')
        self.put_chars(name)
        self.put(b": ", 2)
        if kind == 1:
            vn = len((<str>value).encode("utf-8", "surrogatepass"))
            written = snprintf(tmp, 48, b"[%lld bytes were stripped]", <long long>vn)
            self.put(tmp, written)
        else:
            self.put_chars(value)
        return self.put_char(b'"')

    cdef int put_ascii(self, str text) except -1:
        cdef Py_ssize_t n
        cdef const char* s = PyUnicode_AsUTF8AndSize(text, &n)
        return self.put(s, n)

    cdef int put_value(self, object value, int depth) except -1:
        cdef int overflow = 0
        cdef long long number
        cdef double real
        if type(value) is str:
            return self.put_string(value)
        if value is None:
            return self.put(b"null", 4)
        if value is True:
            return self.put(b"true", 4)
        if value is False:
            return self.put(b"false", 5)
        if isinstance(value, int):
            number = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow == 0 and -_SAFE_INTEGER <= number <= _SAFE_INTEGER:
                return self.put_int(number)
            self.put_char(b'"')
            self.put_ascii(str(int(value)))
            return self.put_char(b'"')
        if isinstance(value, str):
            return self.put_string(value)
        if isinstance(value, float):
            real = value
            if isfinite(real) and floor(real) == real and -9223372036854775808.0 <= real < 9223372036854775808.0:
                return self.put_int(<long long>real)
            return self.put_ascii(float_json(real))
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise ValueError(f"NetLog params nest deeper than {MAX_DEPTH} levels")
            return self.put_dict(<dict>value, depth + 1)
        if isinstance(value, (list, tuple)):
            if depth >= MAX_DEPTH:
                raise ValueError(f"NetLog params nest deeper than {MAX_DEPTH} levels")
            self.put_char(b'[')
            first = True
            for item in value:
                if not first:
                    self.put_char(b',')
                first = False
                self.put_value(item, depth + 1)
            return self.put_char(b']')
        if isinstance(value, (bytes, bytearray, memoryview)):
            self.put_char(b'"')
            self.put_ascii(base64.b64encode(value).decode("ascii"))
            return self.put_char(b'"')
        raise TypeError(f"NetLog params cannot hold a {type(value).__name__}")

    cdef int put_dict(self, dict value, int depth) except -1:
        cdef Py_ssize_t pos = 0
        cdef object key
        cdef object previous = None
        cdef bint ordered = True
        cdef bint first = True
        cdef PyObject* k
        cdef PyObject* v
        while PyDict_Next(value, &pos, &k, &v):
            key = <object>k
            if not isinstance(key, str):
                raise TypeError(f"NetLog params keys must be str, not {type(key).__name__}")
            if ordered and previous is not None and PyUnicode_Compare(previous, key) > 0:
                ordered = False
            previous = key
        self.put_char(b'{')
        if ordered:
            pos = 0
            while PyDict_Next(value, &pos, &k, &v):
                if not first:
                    self.put_char(b',')
                first = False
                self.put_string(<object>k)
                self.put_char(b':')
                self.put_value(<object>v, depth)
        else:
            for key in sorted(value):
                if not first:
                    self.put_char(b',')
                first = False
                self.put_string(key)
                self.put_char(b':')
                self.put_value(value[key], depth)
        return self.put_char(b'}')

    cdef int put_event(self, long long time, long long source_id, long long source_type,
                       long long source_start, long long event_type, long long phase,
                       object params) except -1:
        cdef Py_ssize_t start = self.length
        try:
            if params:
                if type(params) is not dict and not isinstance(params, dict):
                    raise TypeError(
                        f"NetLog params must be a dict or None, not {type(params).__name__}")
                self.put(b'{"params":', 10)
                self.put_dict(<dict>params, 1)
                self.put(b',"phase":', 9)
            elif params is None or isinstance(params, dict):
                self.put(b'{"phase":', 9)
            else:
                raise TypeError(
                    f"NetLog params must be a dict or None, not {type(params).__name__}")
            self.put_fields(time, source_id, source_type, source_start, event_type, phase)
        except BaseException:
            self.length = start
            raise
        return 0

    cdef int put_tail(self, long long time, long long source_id, long long source_type,
                      long long source_start, long long event_type, long long phase) except -1:
        """Put ``"phase":...}`` and the line's ``,\n`` (everything after the params)."""
        self.put(b'"phase":', 8)
        self.put_fields(time, source_id, source_type, source_start, event_type, phase)
        return self.put(b',\n', 2)

    cdef int put_fields(self, long long time, long long source_id, long long source_type,
                        long long source_start, long long event_type, long long phase) except -1:
        """Put the phase value and everything after it, up to the event's closing ``}``.

        Consecutive events mostly share their source and millisecond, so their text is kept;
        the kept texts are copied as fixed-size blocks (a few vector moves) into room reserved
        once, and only their length is counted.
        """
        cdef char* p
        if self.length + _FIELDS_ROOM > self.capacity:
            self.grow(_FIELDS_ROOM)
        p = self.data + self.length
        if 0 <= phase <= 9:
            p[0] = <char>(48 + phase)
            p += 1
        else:
            p += _format_int(p, phase)
        if (self.source_length == 0 or source_id != self.source_id
                or source_start != self.source_start or source_type != self.source_type):
            self.keep_source(source_id, source_type, source_start)
        memcpy(p, self.source_text, _SOURCE_TEXT_SIZE)
        p += self.source_length
        if self.time_length == 0 or time != self.time_value:
            self.time_length = _format_int(self.time_text, time)
            self.time_value = time
        memcpy(p, self.time_text, _TIME_TEXT_SIZE)
        p += self.time_length
        if 0 <= event_type < _TYPE_TEXTS:
            memcpy(p, _TYPE_TEXT[event_type], _TYPE_TEXT_SIZE)
            p += _TYPE_TEXT_LENGTH[event_type]
        else:
            memcpy(p, b'","type":', 9)
            p += 9
            p += _format_int(p, event_type)
            p[0] = b'}'
            p += 1
        self.length = p - self.data
        return 0

    cdef int keep_source(self, long long source_id, long long source_type,
                         long long source_start) except -1:
        """Keep the text from the source to the time's opening quote for the next events."""
        cdef int n = 16
        memcpy(self.source_text, b',"source":{"id":', 16)
        n += _format_int(self.source_text + n, source_id)
        memcpy(self.source_text + n, b',"start_time":"', 15)
        n += 15
        n += _format_int(self.source_text + n, source_start)
        memcpy(self.source_text + n, b'","type":', 9)
        n += 9
        n += _format_int(self.source_text + n, source_type)
        memcpy(self.source_text + n, b'},"time":"', 10)
        self.source_length = n + 10
        self.source_id = source_id
        self.source_type = source_type
        self.source_start = source_start
        return 0

    cdef int put_plain(self, long long time, long long source_id, long long source_type,
                       long long source_start, long long event_type, long long phase) except -1:
        self.put(b'{"phase":', 9)
        self.put_fields(time, source_id, source_type, source_start, event_type, phase)
        return self.put(b',\n', 2)

    cdef int put_dependency(self, long long time, long long source_id, long long source_type,
                            long long source_start, long long event_type, long long phase,
                            long long dep_id, long long dep_type) except -1:
        self.put(b'{"params":{"source_dependency":{"id":', 37)
        self.put_int(dep_id)
        self.put(b',"type":', 8)
        self.put_int(dep_type)
        self.put(b'}},', 3)
        return self.put_tail(time, source_id, source_type, source_start, event_type, phase)

    cdef int put_headers_event(self, long long time, long long source_id, long long source_type,
                               long long source_start, long long event_type, long long phase,
                               int mode, object first, object headers, object line) except -1:
        cdef Py_ssize_t start = self.length
        cdef bint comma = False
        try:
            self.put(b'{"params":{"headers":[', 22)
            if first is not None:
                self.put_line(first)
                comma = True
            for name, value in headers:
                if comma:
                    self.put_char(b',')
                comma = True
                self.put_header(name, value, mode)
            self.put_char(b']')
            if line is not None:
                self.put(b',"line":', 8)
                self.put_line(line)
            self.put(b'},"phase":', 10)
            self.put_fields(time, source_id, source_type, source_start, event_type, phase)
        except BaseException:
            self.length = start
            raise
        return 0

    cdef int put_line(self, object text) except -1:
        """Put the status or request line of a headers event: a ``str``, or (from the compiled
        request log) its parts, ``(major, minor, status, reason)`` for what
        ``f"HTTP/{major}.{minor} {status} {reason or ''}".rstrip()`` reads, ``(method, path)``
        for ``f"{method} {path} HTTP/1.1\\r\\n"``."""
        if type(text) is str:
            return self.put_string(text)
        if type(text) is tuple and len(<tuple>text) == 4:
            major, minor, status, reason = <tuple>text
            self.put(b'"HTTP/', 6)
            self.put_int(major)
            self.put_char(b'.')
            self.put_int(minor)
            self.put_char(b' ')
            self.put_int(status)
            if reason:
                reason = reason.rstrip()
                if reason:
                    self.put_char(b' ')
                    self.put_chars(reason)
            return self.put_char(b'"')
        if type(text) is tuple and len(<tuple>text) == 2:
            method, path = <tuple>text
            self.put_char(b'"')
            self.put_chars(method)
            self.put_char(b' ')
            self.put_chars(path)
            return self.put(_REQUEST_LINE_END, len(_REQUEST_LINE_END))
        if isinstance(text, str):
            return self.put_string(text)
        raise TypeError(f"NetLog params cannot hold a {type(text).__name__}")

    cdef bytes take(self):
        cdef bytes out = PyBytes_FromStringAndSize(self.data, self.length)
        self.length = 0
        return out



def encode(value):
    """Return ``value`` serialised as Chrome's JSON writer serialises NetLog values."""
    cdef _Buffer buffer = _Buffer()
    buffer.put_value(value, 0)
    return buffer.take()


def encode_event(long long time, long long source_id, long long source_type,
                 long long source_start, long long event_type, long long phase, params=None):
    """Return one event as its JSON line (without the ``,\\n`` that follows it in a file)."""
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"NetLog params must be a dict or None, not {type(params).__name__}")
    cdef _Buffer buffer = _Buffer()
    buffer.put_event(time, source_id, source_type, source_start, event_type, phase, params)
    return buffer.take()


cdef class Observer:
    """One file being written: its writer core, sink and capture mode (``_net_log`` makes one
    per ``start_logging``; the request log reads its fields in C)."""

    def __init__(self, path, int mode, sink, writer):
        self.path = path
        self.mode = mode
        self.sink = sink
        self.writer = writer
        self.flush_pending = False

    def flush(self):
        """Hand what the writer buffered to the sink (the periodic flush)."""
        self.flush_pending = False
        self.writer.flush()


cdef class Writer:
    """Encode events into a buffer of ``<event>,\\n`` lines handed to ``sink`` in chunks."""

    def __init__(self, sink, chunk_size=1 << 16):
        self.sink = sink
        self.chunk_size = int(chunk_size)
        self.events = 0
        self._buffer = _Buffer()

    # The request log (``_netlog_request_c``) writes through these, without Python calls.

    cdef int event(self, long long time, long long source_id, long long source_type,
                   long long source_start, long long event_type, long long phase,
                   object params) except -1:
        self._buffer.put_event(time, source_id, source_type, source_start, event_type, phase, params)
        self._buffer.put(b",\n", 2)
        return self.written(1)

    cdef int plain(self, long long time, long long source_id, long long source_type,
                   long long source_start, long long event_type, long long phase) except -1:
        self._buffer.put_plain(time, source_id, source_type, source_start, event_type, phase)
        return self.written(1)

    cdef int headers(self, long long time, long long source_id, long long source_type,
                     long long source_start, long long event_type, long long phase, int mode,
                     object first, object headers, object line) except -1:
        self._buffer.put_headers_event(time, source_id, source_type, source_start, event_type,
                                       phase, mode, first, headers, line)
        self._buffer.put(b",\n", 2)
        return self.written(1)

    cdef int exchange(self, long long sent_at, long long time, long long source_id,
                      long long source_type, long long source_start, object socket, int mode,
                      object line, object request_headers, object status_line,
                      object response_headers) except -1:
        cdef _Buffer buffer = self._buffer
        cdef Py_ssize_t start = buffer.length
        cdef long long sock_id = 0, sock_type = 0, sock_start = 0
        cdef Py_ssize_t count = 6
        if socket is not None:
            sock_id, sock_type, sock_start = socket
        try:
            if socket is not None:
                count = 9
                buffer.put_plain(sent_at, source_id, source_type, source_start, _REUSED, 0)
                buffer.put_dependency(sent_at, source_id, source_type, source_start, _BOUND, 0,
                                      sock_id, sock_type)
                buffer.put_dependency(sent_at, sock_id, sock_type, sock_start, _SOCKET_IN_USE, 1,
                                      source_id, source_type)
            buffer.put_plain(sent_at, source_id, source_type, source_start, _SEND_REQUEST, 1)
            buffer.put_headers_event(sent_at, source_id, source_type, source_start, _SEND_HEADERS,
                                     0, mode, None, request_headers, line)
            buffer.put(b",\n", 2)
            buffer.put_plain(sent_at, source_id, source_type, source_start, _SEND_REQUEST, 2)
            buffer.put_plain(sent_at, source_id, source_type, source_start, _READ_HEADERS, 1)
            buffer.put_headers_event(time, source_id, source_type, source_start, _RESPONSE_HEADERS,
                                     0, mode, status_line, response_headers, None)
            buffer.put(b",\n", 2)
            buffer.put_plain(time, source_id, source_type, source_start, _READ_HEADERS, 2)
        except BaseException:
            buffer.length = start
            raise
        return self.written(count)

    cdef int written(self, Py_ssize_t count) except -1:
        """Count ``count`` events just buffered; hand a full chunk to the sink."""
        self.events += count
        if self._buffer.length >= self.chunk_size:
            self.flush()
        return 0

    def add(self, long long time, long long source_id, long long source_type,
            long long source_start, long long event_type, long long phase, params=None):
        """Encode one event and buffer it; a failing event leaves nothing behind."""
        self.event(time, source_id, source_type, source_start, event_type, phase, params)

    def add_headers(self, long long time, long long source_id, long long source_type,
                    long long source_start, long long event_type, long long phase, int mode,
                    first, headers, line=None):
        """Buffer a headers event with ``headers_params(mode, first, headers, line)`` as its
        params (see ``_netlog_py``), formatted straight from the ``(name, value)`` pairs."""
        self.headers(time, source_id, source_type, source_start, event_type, phase, mode, first,
                     headers, line)

    def add_exchange(self, long long sent_at, long long time, long long source_id,
                     long long source_type, long long source_start, object socket, int mode,
                     object line, object request_headers, object status_line,
                     object response_headers):
        """Buffer the events of one request/response exchange on a connection (see
        ``_netlog_py.Writer.add_exchange``); a failing exchange leaves nothing behind."""
        self.exchange(sent_at, time, source_id, source_type, source_start, socket, mode, line,
                      request_headers, status_line, response_headers)

    def add_plain(self, long long time, long long source_id, long long source_type,
                  long long source_start, tuple events):
        """Buffer events without params: ``events`` holds ``(event_type, phase)`` pairs."""
        cdef _Buffer buffer = self._buffer
        cdef Py_ssize_t start = buffer.length
        cdef long long event_type, phase
        try:
            for event_type, phase in events:
                buffer.put_plain(time, source_id, source_type, source_start, event_type, phase)
        except BaseException:
            buffer.length = start
            raise
        self.written(len(events))

    @property
    def buffered(self):
        """Return how many encoded bytes wait for the next :meth:`flush`."""
        return self._buffer.length

    def flush(self):
        """Hand the buffered lines to the sink."""
        if self._buffer.length:
            self.sink.submit(self._buffer.take())
