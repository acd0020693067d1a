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
from libc.math cimport floor, isfinite
from libc.string cimport memcpy

from websession._netlog_py import MAX_DEPTH, fix_surrogates, float_json

import base64

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1
    int PyUnicode_Compare(object a, object b) except? -1

cdef long long _SAFE_INTEGER = 1LL << 53

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


cdef class _Buffer:
    cdef char* data
    cdef Py_ssize_t length
    cdef Py_ssize_t capacity

    def __cinit__(self):
        self.capacity = 1 << 16
        self.data = <char*>PyMem_Malloc(self.capacity)
        if self.data == NULL:
            raise MemoryError()
        self.length = 0

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

    cdef inline int put(self, const char* s, Py_ssize_t n) except -1:
        if self.length + n > self.capacity:
            self.grow(n)
        memcpy(self.data + self.length, s, n)
        self.length += n
        return 0

    cdef inline int put_char(self, char c) except -1:
        if self.length + 1 > self.capacity:
            self.grow(1)
        self.data[self.length] = c
        self.length += 1
        return 0

    cdef int put_int(self, long long value) except -1:
        cdef char tmp[24]
        cdef int pos = 24
        cdef unsigned long long v
        cdef bint negative = value < 0
        if negative:
            v = <unsigned long long>(-(value + 1)) + 1
        else:
            v = <unsigned long long>value
        while True:
            pos -= 1
            tmp[pos] = <char>(48 + v % 10)
            v //= 10
            if v == 0:
                break
        if negative:
            pos -= 1
            tmp[pos] = b'-'
        return self.put(tmp + pos, 24 - pos)

    cdef int put_string(self, object text) except -1:
        cdef Py_ssize_t n, i, run
        cdef const unsigned char* s
        cdef unsigned char c, cls
        try:
            s = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &n)
        except UnicodeEncodeError:
            text = fix_surrogates(text)
            s = <const unsigned char*>PyUnicode_AsUTF8AndSize(text, &n)
        self.grow(n + 2)
        self.data[self.length] = b'"'
        self.length += 1
        run = 0
        i = 0
        while i < n:
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
        self.put_char(b'"')
        return 0

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
            self.put_int(phase)
            self.put(b',"source":{"id":', 16)
            self.put_int(source_id)
            self.put(b',"start_time":"', 15)
            self.put_int(source_start)
            self.put(b'","type":', 9)
            self.put_int(source_type)
            self.put(b'},"time":"', 10)
            self.put_int(time)
            self.put(b'","type":', 9)
            self.put_int(event_type)
            self.put_char(b'}')
        except BaseException:
            self.length = start
            raise
        return 0

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


cdef class Writer:
    """Encode events into a buffer of ``<event>,\\n`` lines handed to ``sink`` in chunks."""

    cdef _Buffer _buffer
    cdef public object sink
    cdef public Py_ssize_t chunk_size
    cdef public Py_ssize_t events

    def __init__(self, sink, chunk_size=1 << 16):
        self.sink = sink
        self.chunk_size = int(chunk_size)
        self.events = 0
        self._buffer = _Buffer()

    def add(self, long long time, long long source_id, long long source_type,
            long long source_start, long long event_type, long long phase, params=None):
        """Encode one event and buffer it; a failing event leaves nothing behind."""
        cdef _Buffer buffer = self._buffer
        buffer.put_event(time, source_id, source_type, source_start, event_type, phase, params)
        buffer.put(b",\n", 2)
        self.events += 1
        if buffer.length >= self.chunk_size:
            self.flush()

    @property
    def buffered(self):
        """Return how many encoded bytes wait for the next :meth:`flush`."""
        return self._buffer.length

    def flush(self):
        """Hand the buffered lines to the sink."""
        if self._buffer.length:
            self.sink.submit(self._buffer.take())
