# cython: language_level=3
# The NetLog writer core's C interface, for the request log (_netlog_request_c) to write events
# straight into a writer's buffer.

cimport cython
from libc.string cimport memcpy


@cython.final
cdef class _Buffer:
    cdef char* data
    cdef Py_ssize_t length
    cdef Py_ssize_t capacity
    # The text of the last event's source and time, which the next event mostly shares.
    cdef long long source_id, source_type, source_start
    cdef char source_text[128]
    cdef int source_length
    cdef long long time_value
    cdef char time_text[24]
    cdef int time_length

    cdef int grow(self, Py_ssize_t extra) except -1

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

    cdef int put_int(self, long long value) except -1
    cdef int put_string(self, object text) except -1
    cdef int put_chars(self, object text) except -1
    cdef int put_unicode(self, object text) except -1
    cdef int put_escaped(self, const unsigned char* s, Py_ssize_t n) except -1
    cdef int put_header(self, object name, object value, int mode) except -1
    cdef int encode_header(self, object name, object value, int mode) except -1
    cdef int put_ascii(self, str text) except -1
    cdef int put_value(self, object value, int depth) except -1
    cdef int put_dict(self, dict value, int depth) except -1
    cdef int put_event(self, long long time, long long source_id, long long source_type,
                       long long source_start, long long event_type, long long phase,
                       object params) except -1
    cdef int put_tail(self, long long time, long long source_id, long long source_type,
                      long long source_start, long long event_type, long long phase) except -1
    cdef int put_fields(self, long long time, long long source_id, long long source_type,
                        long long source_start, long long event_type, long long phase) except -1
    cdef int keep_source(self, long long source_id, long long source_type,
                         long long source_start) except -1
    cdef int put_plain(self, long long time, long long source_id, long long source_type,
                       long long source_start, long long event_type, long long phase) except -1
    cdef int put_dependency(self, long long time, long long source_id, long long source_type,
                            long long source_start, long long event_type, long long phase,
                            long long dep_id, long long dep_type) except -1
    cdef int put_headers_event(self, long long time, long long source_id, long long source_type,
                               long long source_start, long long event_type, long long phase,
                               int mode, object first, object headers, object line) except -1
    cdef int put_line(self, object text) except -1
    cdef bytes take(self)


cdef class Observer:
    cdef public object path
    cdef public int mode
    cdef public object sink
    cdef public object writer
    cdef public bint flush_pending


@cython.final
cdef class Writer:
    cdef _Buffer _buffer
    cdef public object sink
    cdef public Py_ssize_t chunk_size
    cdef public Py_ssize_t events

    cdef int event(self, long long time, long long source_id, long long source_type,
                   long long source_start, long long event_type, long long phase,
                   object params) except -1
    cdef int plain(self, long long time, long long source_id, long long source_type,
                   long long source_start, long long event_type, long long phase) except -1
    cdef int headers(self, long long time, long long source_id, long long source_type,
                     long long source_start, long long event_type, long long phase, int mode,
                     object first, object headers, object line) except -1
    cdef int exchange(self, long long sent_at, long long time, long long source_id,
                      long long source_type, long long source_start, object socket, int mode,
                      object line, object request_headers, object status_line,
                      object response_headers) except -1
    cdef int written(self, Py_ssize_t count) except -1
