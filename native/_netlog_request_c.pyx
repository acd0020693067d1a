# cython: language_level=3
"""The NetLog events of one request, compiled: the same events as ``websession._netlog_request_py``.

Each step writes its events straight into the recording files' writer buffers (``_netlog_c``)
with the time read from the monotonic clock in C, and keeps the request's state in C fields; the
rare steps (a new connection, a trace signal, a failure) call the same Python helpers in
``_netlog_transport`` as the reference does. A file written by the twin writer (a process that
mixes implementations) is written through the writer's methods instead.
"""

from cpython.dict cimport PyDict_Next
from cpython.object cimport PyObject
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.string cimport memchr, memcmp, memcpy, memmove
from libc.time cimport timespec

from websession._netlog_c cimport Observer, Writer, _Buffer

cdef extern from "Python.h":
    int PyContextVar_Get(object var, PyObject* default_value, PyObject** value) except -1
    bint PyUnicode_IS_ASCII(object s)
    void* PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

import asyncio

try:  # what asyncio.current_task() reads (CPython 3.11-3.13), looked up in C
    from _asyncio import _current_tasks, _get_running_loop
except ImportError:
    _current_tasks = None


cdef object _CURRENT_TASKS = _current_tasks if type(_current_tasks) is dict else None


cdef inline object _running_task():
    if _CURRENT_TASKS is not None:
        return (<dict>_CURRENT_TASKS).get(_get_running_loop())
    return asyncio.current_task()

from websession import _netlog_transport as transport
from websession._errors import NetError
from websession._transport import _NetworkBody
from websession._net_log import (
    Recorder,
    Source,
    _ids,
    _schedule_flush,
    redirect_params,
    request_alive_params,
    start_job_params,
)
from websession._netlog_constants import EVENT_TYPES, SOURCE_TYPES

cdef extern from "<time.h>" nogil:
    int clock_gettime(int clock_id, timespec* tp)
    enum: CLOCK_MONOTONIC

cdef enum:
    _OPEN_INLINE = 8  # open BEGINs a request's log holds without allocating

cdef enum:
    BEGIN = 1
    END = 2
    NONE = 0

cdef int _ERR_ABORTED = -3
cdef int _ERR_BLOCKED_BY_CLIENT = -20

cdef long long _REQUEST_ALIVE = EVENT_TYPES["REQUEST_ALIVE"]
cdef long long _START_JOB = EVENT_TYPES["URL_REQUEST_START_JOB"]
cdef long long _REDIRECTED = EVENT_TYPES["URL_REQUEST_REDIRECTED"]
cdef long long _DELEGATE_REDIRECT = EVENT_TYPES["URL_REQUEST_DELEGATE_RECEIVED_REDIRECT"]
cdef long long _CANCELLED = EVENT_TYPES["CANCELLED"]
cdef long long _FAILED = EVENT_TYPES["FAILED"]
cdef long long _GET_BACKEND = EVENT_TYPES["HTTP_CACHE_GET_BACKEND"]
cdef long long _OPEN_ENTRY = EVENT_TYPES["HTTP_CACHE_OPEN_OR_CREATE_ENTRY"]
cdef long long _READ_INFO = EVENT_TYPES["HTTP_CACHE_READ_INFO"]
cdef long long _SOCKET_ALIVE = EVENT_TYPES["SOCKET_ALIVE"]
cdef long long _SOCKET_CLOSED = EVENT_TYPES["SOCKET_CLOSED"]
cdef long long _SOCKET_IN_USE = EVENT_TYPES["SOCKET_IN_USE"]
cdef long long _REUSED = EVENT_TYPES["SOCKET_POOL_REUSED_AN_EXISTING_SOCKET"]
cdef long long _BOUND = EVENT_TYPES["SOCKET_POOL_BOUND_TO_SOCKET"]
cdef long long _READ_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_HEADERS"]
cdef long long _RESPONSE_HEADERS = EVENT_TYPES["HTTP_TRANSACTION_READ_RESPONSE_HEADERS"]
cdef long long _BYTES_RECEIVED = EVENT_TYPES["SOCKET_BYTES_RECEIVED"]
cdef long long _FILTERED_BYTES = EVENT_TYPES["URL_REQUEST_JOB_FILTERED_BYTES_READ"]
cdef long long _URL_REQUEST = SOURCE_TYPES["URL_REQUEST"]

cdef tuple _CACHE_OPENING = ((_GET_BACKEND, BEGIN), (_GET_BACKEND, END), (_OPEN_ENTRY, BEGIN))
cdef dict _OPENED = {"result": "opened"}
cdef dict _CREATED = {"result": "created"}
# The params of REQUEST_ALIVE and URL_REQUEST_START_JOB up to their variable values, as the JSON
# writer encodes them (keys sorted; see _netlog_request_py and _net_log's *_params).
cdef bytes _ALIVE_PARAMS = b'{"params":{"priority":"MEDIUM","traffic_annotation":0,"url":'
cdef bytes _START_JOB_PARAMS = b'{"params":{"initiator":"not an origin","load_flags":'
cdef bytes _START_JOB_PARAMS_URL = (
    b',"network_isolation_key":"null null","request_type":"other",'
    b'"site_for_cookies":"SiteForCookies: {site=null; schemefully_same=false}","url":')
cdef object _SENDING = transport.SENDING
cdef str _FACTORY_ATTR = transport._FACTORY_ATTR
cdef str _SOCKET_ATTR = transport.SOCKET_ATTR
cdef object _origin = transport._origin
cdef tuple _TRANSPORT_STEPS = (_READ_HEADERS, EVENT_TYPES["HOST_RESOLVER_MANAGER_REQUEST"])


# Recorder.observers is read at every event; its slot is read in place (the member
# descriptor's offset) rather than through attribute lookup.
cdef object _RECORDER = Recorder
cdef object _IDS = _ids
cdef Py_ssize_t _OBSERVERS_OFFSET = (
    (<PyMemberDescrObject*>_RECORDER.__dict__["observers"]).d_member.offset)


cdef inline object _observers(object rec):
    """``rec.observers``: the files recording now (replaced, never changed, as they come and go)."""
    cdef PyObject* found
    if type(rec) is _RECORDER:
        found = (<PyObject**>((<char*><PyObject*>rec) + _OBSERVERS_OFFSET))[0]
        if found != NULL:
            return <object>found
    return rec.observers


cdef inline long long _now() noexcept:
    """NetLog time: milliseconds of the monotonic clock, as ``_net_log.now_ms`` reads it."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000 + ts.tv_nsec // 1000000


cdef inline object _error(long long net_error):
    return {"net_error": net_error} if net_error < 0 else None


cdef inline object _bytes(object chunk, bint everything):
    if everything:
        return {"byte_count": len(chunk), "bytes": bytes(chunk)}
    return {"byte_count": len(chunk)}


cdef inline object _writer_of(object observer):
    return (<Observer>observer).writer if type(observer) is Observer else observer.writer


cdef inline int _mode_of(object observer) except? -1:
    return (<Observer>observer).mode if type(observer) is Observer else observer.mode


cdef inline int _flush_later(object observer) except -1:
    """Have the writer's buffer reach the file within ``FLUSH_SECONDS``."""
    if type(observer) is Observer:
        if not (<Observer>observer).flush_pending:
            _schedule_flush(observer)
    elif not observer.flush_pending:
        _schedule_flush(observer)
    return 0


cdef int _emit(object rec, long long when, long long sid, long long stype, long long sstart,
               long long etype, long long phase, object params) except -1:
    """Write one event to every file ``rec`` records to, params per capture mode."""
    for observer in _observers(rec):
        value = params(_mode_of(observer)) if callable(params) else params
        writer = _writer_of(observer)
        if type(writer) is Writer:
            (<Writer>writer).event(when, sid, stype, sstart, etype, phase, value)
        else:  # the twin writer, in a process that mixes implementations
            writer.add(when, sid, stype, sstart, etype, phase, value)
        _flush_later(observer)
    return 0


cdef int _emit_plain(object rec, long long when, long long sid, long long stype,
                     long long sstart, long long etype, long long phase) except -1:
    for observer in _observers(rec):
        writer = _writer_of(observer)
        if type(writer) is Writer:
            (<Writer>writer).plain(when, sid, stype, sstart, etype, phase)
        else:
            writer.add(when, sid, stype, sstart, etype, phase, None)
        _flush_later(observer)
    return 0


cdef enum:  # the params of the hot events, which _emit_known encodes without a dict
    ALIVE_PARAMS = 1
    START_JOB_PARAMS = 2
    BYTE_COUNT_PARAMS = 3
    OPENED_PARAMS = 4
    CREATED_PARAMS = 5


cdef int _emit_known(object rec, long long when, long long sid, long long stype,
                     long long sstart, long long etype, long long phase, int kind, object url,
                     object method, long long number) except -1:
    """Write one event whose params (``kind``: REQUEST_ALIVE's of ``url``, START_JOB's of
    ``url``, ``method`` and load flags ``number``, a byte count ``number``, or a cache entry's
    result) go straight into compiled writers' buffers, as the JSON writer would encode the
    dict a twin writer gets."""
    cdef _Buffer buffer
    for observer in _observers(rec):
        writer = _writer_of(observer)
        if type(writer) is not Writer:
            writer.add(when, sid, stype, sstart, etype, phase,
                       _known_params(kind, url, method, number, _mode_of(observer)))
            _flush_later(observer)
            continue
        buffer = (<Writer>writer)._buffer
        if kind == ALIVE_PARAMS:  # NetLogURLRequestConstructorParams
            buffer.put(_ALIVE_PARAMS, len(_ALIVE_PARAMS))
            buffer.put_string(url)
        elif kind == START_JOB_PARAMS:  # NetLogURLRequestStartParams
            buffer.put(_START_JOB_PARAMS, len(_START_JOB_PARAMS))
            buffer.put_int(number)
            buffer.put(b',"method":', 10)
            buffer.put_string(method)
            buffer.put(_START_JOB_PARAMS_URL, len(_START_JOB_PARAMS_URL))
            buffer.put_string(url)
        elif kind == BYTE_COUNT_PARAMS:
            buffer.put(b'{"params":{"byte_count":', 24)
            buffer.put_int(number)
        elif kind == OPENED_PARAMS:
            buffer.put(b'{"params":{"result":"opened"', 28)
        else:
            buffer.put(b'{"params":{"result":"created"', 29)
        buffer.put(b'},', 2)
        buffer.put_tail(when, sid, stype, sstart, etype, phase)
        (<Writer>writer).written(1)
        _flush_later(observer)
    return 0


cdef dict _known_params(int kind, object url, object method, long long number, int mode):
    if kind == ALIVE_PARAMS:
        return {"priority": "MEDIUM", "traffic_annotation": 0, "url": url}
    if kind == START_JOB_PARAMS:
        return start_job_params(url, method, number)(mode)
    if kind == BYTE_COUNT_PARAMS:
        return {"byte_count": number}
    return _OPENED if kind == OPENED_PARAMS else _CREATED


cdef inline int _put(object rec, long long when, object src, long long etype, long long phase,
                     object params) except -1:
    return _emit(rec, when, src.id, src.type, src.start_time, etype, phase, params)


cdef class Socket:
    """A pooled connection's ``SOCKET`` source and the request using it now."""

    cdef public object rec
    cdef public object source
    cdef public tuple ident
    cdef public object in_use
    cdef public bint alive
    cdef public long long tcp_up_at  # when the TCP connect of a TLS connection ended
    cdef long long sid, stype, sstart

    def __init__(self, rec, long long when, owner):
        self.rec = rec
        self.tcp_up_at = 0
        self.source = source = rec.new_source("SOCKET")
        self.sid, self.stype, self.sstart = source.id, source.type, source.start_time
        self.ident = (self.sid, self.stype, self.sstart)
        self.in_use = None
        self.alive = True
        _emit(rec, when, self.sid, self.stype, self.sstart, _SOCKET_ALIVE, BEGIN, owner.dependency())

    def release(self, long long when):
        """End ``SOCKET_IN_USE`` for the request using the socket, if one is."""
        self._release(when)

    cdef int _release(self, long long when) except -1:
        user = self.in_use
        if user is not None:
            self.in_use = None
            _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _SOCKET_IN_USE, END)
            if user.sock is self:
                user.sock = None
        return 0

    def closed(self, long long net_error=0):
        """Log the end of the connection (``SOCKET_CLOSED``, ``SOCKET_ALIVE`` END), once."""
        if not self.alive:
            return
        self.alive = False
        cdef long long when = _now()
        self._release(when)
        _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _SOCKET_CLOSED, NONE)
        _emit(self.rec, when, self.sid, self.stype, self.sstart, _SOCKET_ALIVE, END,
              _error(net_error))


cdef class Sending:
    """``_netlog_transport.Sending`` with C fields: the log of the hop a task is sending."""

    cdef public object nl
    cdef public object task

    def __init__(self, task):
        self.task = task
        self.nl = None


cdef class RequestLog:
    """The ``URL_REQUEST`` source of one request, with the BEGINs still waiting for their END.

    The BEGINs waiting for their END are a stack of C arrays: the event type, and the source
    (a reference, or NULL for the request's own, whose ``Source``, ``req``, is only made when
    Python code asks for it).
    """

    cdef public object rec
    cdef object _req
    cdef long long* open_types
    cdef PyObject** open_keys
    cdef int open_count, open_capacity
    cdef long long open_types_inline[_OPEN_INLINE]
    cdef PyObject* open_keys_inline[_OPEN_INLINE]
    cdef public object sock
    cdef public object connecting
    cdef public object caching
    cdef public object proto
    cdef public object traced
    cdef public str url
    cdef public long long sending_at
    cdef public bint awaiting
    cdef public bint sent
    cdef public bint job
    cdef public bint ended
    cdef public bint raw_counted
    cdef public bint everything
    cdef public object body_sock
    cdef long long body_sid, body_stype, body_sstart  # body_sock's, when it is a Socket's
    cdef long long sid, stype, sstart

    def __cinit__(self):
        self.open_types = self.open_types_inline
        self.open_keys = self.open_keys_inline
        self.open_count = 0
        self.open_capacity = _OPEN_INLINE

    def __dealloc__(self):
        cdef int i
        for i in range(self.open_count):
            Py_XDECREF(self.open_keys[i])
        if self.open_types != self.open_types_inline:
            PyMem_Free(self.open_types)
            PyMem_Free(self.open_keys)

    def __init__(self, rec, state):
        self.rec = rec
        self.sid = next(_IDS)  # _net_log._next_id, without its method wrapper
        self.stype = _URL_REQUEST
        self.sstart = _now()
        self._req = None
        self.sock = None
        self.connecting = None
        self.caching = None
        self.proto = None
        self.traced = None
        self.url = url = state.url
        self.sending_at = 0
        self.awaiting = False
        self.sent = False
        self.job = False
        self.ended = False
        self.raw_counted = False
        self.body_sock = None
        self.everything = rec.everything
        if "@" in url:
            _emit(rec, self.sstart, self.sid, self.stype, self.sstart, _REQUEST_ALIVE, BEGIN,
                  request_alive_params(url))
            return
        _emit_known(rec, self.sstart, self.sid, self.stype, self.sstart, _REQUEST_ALIVE, BEGIN,
                    ALIVE_PARAMS, url, None, 0)

    @property
    def req(self):
        """The request's ``Source``."""
        if self._req is None:
            self._req = Source(self.rec, self.stype, self.sid, self.sstart)
        return self._req

    # -- BEGIN/END bookkeeping ---------------------------------------------------------------

    cdef inline object _key(self, object src):
        return None if src is None or src is self._req else src

    cdef int _write(self, object key, long long etype, long long phase, object params,
                    long long when) except -1:
        if key is None:
            if params is None:
                return _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, etype, phase)
            return _emit(self.rec, when, self.sid, self.stype, self.sstart, etype, phase, params)
        return _put(self.rec, when, key, etype, phase, params)

    def begin_event(self, src, long long etype, params, long long when):
        """Write a BEGIN of ``src`` that a later :meth:`end_event` (or a failure) closes."""
        self._begin(self._key(src), etype, params, when)

    def end_event(self, src, long long etype, params, long long when):
        """Write the END of an open ``etype`` of ``src``; tell whether one was open."""
        return self._end(self._key(src), etype, params, when)

    cdef int _begin(self, object key, long long etype, object params, long long when) except -1:
        self._write(key, etype, BEGIN, params, when)
        return self._push(key, etype)

    cdef int _push(self, object key, long long etype) except -1:
        """Put an open ``etype`` of ``key`` (``None``: the request) on the stack."""
        cdef int n = self.open_count
        if n == self.open_capacity:
            self._grow_stack()
        self.open_types[n] = etype
        if key is None:
            self.open_keys[n] = NULL
        else:
            Py_INCREF(key)
            self.open_keys[n] = <PyObject*>key
        self.open_count = n + 1
        return 0

    cdef int _grow_stack(self) except -1:
        cdef int capacity = self.open_capacity * 2
        cdef long long* types = <long long*>PyMem_Malloc(capacity * sizeof(long long))
        cdef PyObject** keys = <PyObject**>PyMem_Malloc(capacity * sizeof(PyObject*))
        if types == NULL or keys == NULL:
            PyMem_Free(types)
            PyMem_Free(keys)
            raise MemoryError()
        memcpy(types, self.open_types, self.open_count * sizeof(long long))
        memcpy(keys, self.open_keys, self.open_count * sizeof(PyObject*))
        if self.open_types != self.open_types_inline:
            PyMem_Free(self.open_types)
            PyMem_Free(self.open_keys)
        self.open_types = types
        self.open_keys = keys
        self.open_capacity = capacity
        return 0

    cdef object _take(self, int i):
        """Remove entry ``i`` of the stack; return its key (``None``: the request)."""
        cdef PyObject* raw = self.open_keys[i]
        cdef int n = self.open_count - 1
        key = None if raw == NULL else <object>raw
        Py_XDECREF(raw)  # ``key`` holds it now
        if i < n:
            memmove(&self.open_types[i], &self.open_types[i + 1], (n - i) * sizeof(long long))
            memmove(&self.open_keys[i], &self.open_keys[i + 1], (n - i) * sizeof(PyObject*))
        self.open_count = n
        return key

    cdef bint _pop(self, object key, long long etype) except -1:
        """Take the latest open ``etype`` of ``key`` off the stack; tell whether one was open."""
        cdef PyObject* raw = NULL if key is None else <PyObject*>key
        cdef int i
        for i in range(self.open_count - 1, -1, -1):
            if self.open_types[i] == etype and self.open_keys[i] == raw:
                self._take(i)
                return True
        return False

    cdef bint _end(self, object key, long long etype, object params, long long when) except -1:
        if not self._pop(key, etype):
            return False
        self._write(key, etype, END, params, when)
        return True

    cdef int _end_entry(self, bint opened, long long when) except -1:
        """End the HTTP cache's ``OPEN_OR_CREATE_ENTRY`` step, if open: the entry was opened (a
        cache hit or a revalidation) or created."""
        if self._pop(None, _OPEN_ENTRY):
            _emit_known(self.rec, when, self.sid, self.stype, self.sstart, _OPEN_ENTRY, END,
                        OPENED_PARAMS if opened else CREATED_PARAMS, None, None, 0)
        return 0

    cdef int _unwind(self, long long net_error, long long when) except -1:
        cdef long long etype
        params = _error(net_error)
        while self.open_count:
            etype = self.open_types[self.open_count - 1]
            key = self._take(self.open_count - 1)
            self._write(key, etype, END, params, when)
        return 0

    def end_transport_events(self, sock, long long net_error, long long when):
        """End, with ``net_error``, what a failed hop left open in the transport: reading the
        headers, resolving the host, and every event of the socket ``sock`` it was opening."""
        cdef int i
        cdef long long etype
        cdef PyObject* raw = NULL if sock is None else <PyObject*>sock
        for i in range(self.open_count - 1, -1, -1):  # taking entry i leaves those below it
            etype = self.open_types[i]
            if etype in _TRANSPORT_STEPS or (raw != NULL and self.open_keys[i] == raw):
                key = self._take(i)
                self._write(key, etype, END, {"net_error": net_error}, when)

    def begin(self, str name, params=None):
        """Log a BEGIN of the request that a later :meth:`end` (or a failure) closes."""
        if self.caching is not None:
            self._settle()
        self._begin(None, EVENT_TYPES[name], params, _now())

    def end(self, str name, params=None):
        """Log the END of an open ``name``; tell whether one was open."""
        return self._end(None, EVENT_TYPES[name], params, _now())

    def new_socket(self, long long when):
        """Return a new ``SOCKET`` source opened for this request at ``when``."""
        return Socket(self.rec, when, self.req)

    # -- the pipeline's steps ----------------------------------------------------------------

    def start_job(self, state):
        """``URL_REQUEST_START_JOB``: one hop of the request begins."""
        self.job = True
        url = self.url = state.url
        method = state.method
        load_flags = state.load_flags
        cdef long long when = _now()
        if "@" in url or type(method) is not str or type(load_flags) is not int:
            self._begin(None, _START_JOB, start_job_params(url, method, load_flags), when)
            return
        _emit_known(self.rec, when, self.sid, self.stype, self.sstart, _START_JOB, BEGIN,
                    START_JOB_PARAMS, url, method, load_flags)
        self._push(None, _START_JOB)

    def job_started(self):
        """The hop's response headers are in and accepted: end ``URL_REQUEST_START_JOB``."""
        if self.caching is not None:
            self._settle()
        self._end(None, _START_JOB, None, _now())

    def redirect(self, state, str location):
        """Log a redirect to ``location`` and the ``onBeforeRedirect`` delegate step."""
        if not self.job:  # an onBeforeRequest redirect: Chrome runs a redirect job for it
            self.start_job(state)
        self.job = False
        cdef long long when = _now()
        self.release_socket(when)
        self._end(None, _START_JOB, None, when)
        _emit(self.rec, when, self.sid, self.stype, self.sstart, _REDIRECTED, NONE,
              {"location": location} if "@" not in location else redirect_params(location))
        _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _DELEGATE_REDIRECT, BEGIN)
        _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _DELEGATE_REDIRECT, END)

    def through_cache(self, cache, state, send):
        """Return ``cache.fetch(state, send)`` with the HTTP cache steps logged around it (see
        ``_netlog_request_py.RequestLog.through_cache``)."""
        cdef long long when = _now()
        for observer in _observers(self.rec):
            writer = _writer_of(observer)
            if type(writer) is Writer:
                (<Writer>writer).plain(when, self.sid, self.stype, self.sstart, _GET_BACKEND, BEGIN)
                (<Writer>writer).plain(when, self.sid, self.stype, self.sstart, _GET_BACKEND, END)
                (<Writer>writer).plain(when, self.sid, self.stype, self.sstart, _OPEN_ENTRY, BEGIN)
            else:
                writer.add_plain(when, self.sid, self.stype, self.sstart, _CACHE_OPENING)
            _flush_later(observer)
        self._push(None, _OPEN_ENTRY)
        self.caching = state
        return cache.fetch(state, send)

    cdef int _settle(self) except -1:
        """The cache answered: end the entry it opened without the network, log a cache read."""
        state = self.caching
        if state is None:
            return 0
        self.caching = None
        cdef long long when = _now()
        self._end_entry(True, when)
        if state.from_cache:
            _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _READ_INFO, BEGIN)
            _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _READ_INFO, END)
        return 0

    def raw_body(self, response):
        """Count a content-encoded body's bytes as they come off the socket, before decoding."""
        sock = self.sock
        if sock is not None and response._stream is not None and "Content-Encoding" in response.headers:
            self.raw_counted = True
            response._stream = transport.socket_bytes(self, response._stream, sock.source)

    def finish(self, response):
        """Watch the body the caller reads (decoded); the request ends with it."""
        stream = response._stream
        if stream is None:
            self._done(0)
            return
        sock = None if self.raw_counted or self.sock is None else self.sock.source
        if type(stream) is _NetworkBody:  # it tells its watcher itself
            self.body_sock = sock
            if sock is not None and type(self.sock) is Socket:
                self.body_sid = (<Socket>self.sock).sid
                self.body_stype = (<Socket>self.sock).stype
                self.body_sstart = (<Socket>self.sock).sstart
            stream.watcher = self
        else:
            response._stream = transport.watch_body(stream, self, sock)

    # -- what the network body tells its watcher (``_transport.BodyWatcher``) ------------------

    def body_read(self, chunk):
        if self.body_sid and not self.everything:  # the common case: no Source attributes read
            _emit_known(self.rec, _now(), self.body_sid, self.body_stype, self.body_sstart,
                        _BYTES_RECEIVED, NONE, BYTE_COUNT_PARAMS, None, None, len(chunk))
        else:
            self._read(chunk, self.body_sock)

    def body_done(self):
        self._done(0)

    def body_failed(self, error):
        self._failed(error)

    def body_dropped(self):
        if not self.ended:  # the reader dropped the body unfinished: Chrome cancels the request
            self._failed(NetError("ERR_ABORTED"))

    def read(self, chunk, sock):
        """Log ``chunk`` of the body as read off ``sock`` (if given) and by the request."""
        self._read(chunk, sock)

    cdef int _read(self, object chunk, object sock) except -1:
        cdef bint everything = self.everything
        cdef long long when
        if sock is None and not everything:
            return 0
        when = _now()
        if everything:
            params = _bytes(chunk, True)
            if sock is not None:
                _put(self.rec, when, sock, _BYTES_RECEIVED, NONE, params)
            # url_request_job.cc logs these only while some log captures bytes.
            return _emit(self.rec, when, self.sid, self.stype, self.sstart, _FILTERED_BYTES,
                         NONE, params)
        return _emit_known(self.rec, when, sock.id, sock.type, sock.start_time, _BYTES_RECEIVED,
                           NONE, BYTE_COUNT_PARAMS, None, None, len(chunk))

    def release_socket(self, long long when):
        """End the use of this request's socket, if it has one."""
        sock = self.sock
        if sock is not None:
            sock.release(when)

    def done(self, long long net_error):
        """End the request: ``REQUEST_ALIVE`` END (with ``net_error`` when it failed)."""
        self._done(net_error)

    cdef int _done(self, long long net_error) except -1:
        if self.ended:
            return 0
        self.ended = True
        if self.caching is not None:
            self._settle()
        cdef long long when = _now()
        if self.open_count:
            self._unwind(net_error, when)
        sock = self.sock
        if sock is not None:
            if type(sock) is Socket:
                (<Socket>sock)._release(when)
            else:
                sock.release(when)
        if self.traced is not None:
            transport.untrace(self)
        if net_error == 0:
            return _emit_plain(self.rec, when, self.sid, self.stype, self.sstart, _REQUEST_ALIVE, END)
        return _emit(self.rec, when, self.sid, self.stype, self.sstart, _REQUEST_ALIVE, END,
                     _error(net_error))

    def failed(self, error):
        """Log the failure or cancellation ``error`` and end the request."""
        self._failed(error)

    cdef int _failed(self, object error) except -1:
        if self.ended:
            return 0
        self.awaiting = False
        self.caching = None  # what the cache opened ends with the error below
        cdef long long code = error.code
        cdef long long when = _now()
        if self.connecting is not None:
            transport.tcp_connected(self, self.connecting)
        self._unwind(code, when)
        connecting = self.connecting
        if connecting is not None:
            self.connecting = None
            connecting.closed(code)
        _emit(self.rec, when, self.sid, self.stype, self.sstart,
              _CANCELLED if code == _ERR_ABORTED or code == _ERR_BLOCKED_BY_CLIENT else _FAILED,
              NONE, {"net_error": code})
        return self._done(code)

    # -- the transport -----------------------------------------------------------------------

    def sending(self, client, extra):
        """A hop is about to go out on ``client``; return ``extra`` for ``_request``."""
        cdef long long when = _now()
        self.sending_at = when
        state = self.caching
        if state is not None:  # the cache's entry goes to the network (to be revalidated, if opened)
            self._end_entry(state.cache_validating, when)
        self.awaiting = True
        self.sent = False
        self.proto = None
        cdef PyObject* found = NULL
        PyContextVar_Get(_SENDING, NULL, &found)
        holder = <object>found if found != NULL else None
        Py_XDECREF(found)
        task = _running_task()
        if type(holder) is not Sending or (<Sending>holder).task is not task:
            holder = Sending(task)
            _SENDING.set(holder)
        (<Sending>holder).nl = self
        connector = client._connector
        if connector is None:
            return extra
        if not getattr(connector, _FACTORY_ATTR, False):
            transport._wrap_factory(connector)
        if _idle_connection(connector, self.url):
            return extra
        return transport.trace(self, client, extra)

    def bind(self, sock, long long when):
        """Log that this request sends on ``sock`` (an auth resend may change sockets)."""
        if self.sock is not None:
            self.release_socket(when)
        if sock.in_use is not None:
            sock.release(when)
        self.sock = sock
        sock.in_use = self
        self._log_bound(sock, when)

    cdef int _log_bound(self, object sock, long long when) except -1:
        source = sock.source
        _emit(self.rec, when, self.sid, self.stype, self.sstart, _BOUND, NONE, source.dependency())
        _put(self.rec, when, source, _SOCKET_IN_USE, BEGIN,
             {"source_dependency": {"id": self.sid, "type": self.stype}})
        return 0

    def received(self, raw):
        """The hop's response headers are in: log what the traces did not."""
        cdef long long when = _now()
        cdef long long sent_at = self.sending_at
        cdef Socket bound = None
        self.awaiting = False
        proto = getattr(raw, "_protocol", None)
        if self.connecting is not None and self.proto is not None:
            transport.connection_up(self, when)  # a new connection no trace watched
        if proto is not None:
            sock = getattr(proto, _SOCKET_ATTR, None)
            if sock is None or not (
                    (<Socket>sock).alive if type(sock) is Socket else sock.alive):
                sock = Socket(self.rec, sent_at, self.req)  # opened before this log started
                transport.watch_close(proto, sock)
            if sock is not self.sock:
                if (type(sock) is not Socket or self.sock is not None
                        or (<Socket>sock).in_use is not None or self.proto is not None):
                    self.bind(sock, sent_at)
                else:  # the common case, logged below with the exchange
                    bound = <Socket>sock
                    self.sock = bound
                    bound.in_use = self
        rec = self.rec
        version = raw.version
        # The status line's parts: the writer joins them as the reference's f-string does.
        if version is not None:
            status_line = (version.major, version.minor, raw.status, raw.reason)
        else:
            status_line = (1, 1, raw.status, None)
        if bound is not None and self.sent:
            _emit_plain(rec, sent_at, self.sid, self.stype, self.sstart, _REUSED, NONE)
            self._log_bound(bound, sent_at)
            bound = None
        if self.sent:
            for observer in _observers(rec):
                writer = _writer_of(observer)
                if type(writer) is Writer:
                    (<Writer>writer).headers(when, self.sid, self.stype, self.sstart,
                                             _RESPONSE_HEADERS, NONE, _mode_of(observer), status_line,
                                             raw.headers.items(), None)
                else:
                    writer.add_headers(when, self.sid, self.stype, self.sstart, _RESPONSE_HEADERS,
                                       NONE, _mode_of(observer), _status_text(status_line),
                                       raw.headers.items(), None)
                _flush_later(observer)
            self._end(None, _READ_HEADERS, None, when)
        else:
            info = raw.request_info
            line = (info.method, info.url.raw_path_qs)
            sent = info.headers.items()
            received = raw.headers.items()
            socket = bound.ident if bound is not None else None
            for observer in _observers(rec):
                writer = _writer_of(observer)
                if type(writer) is Writer:
                    (<Writer>writer).exchange(sent_at, when, self.sid, self.stype, self.sstart,
                                              socket, _mode_of(observer), line, sent, status_line,
                                              received)
                else:
                    writer.add_exchange(sent_at, when, self.sid, self.stype, self.sstart, socket,
                                        _mode_of(observer), f"{line[0]} {line[1]} HTTP/1.1\r\n", sent,
                                        _status_text(status_line), received)
                _flush_later(observer)
        if self.traced is not None:
            transport.untrace(self)


cdef str _status_text(tuple parts):
    major, minor, status, reason = parts
    return f"HTTP/{major}.{minor} {status} {reason or ''}".rstrip()


cdef struct _Origin:
    Py_ssize_t host_start, host_length
    long long port
    bint is_ssl


cdef bint _parse_origin(const char* s, Py_ssize_t n, _Origin* out) noexcept:
    """``_netlog_transport._origin`` of an ASCII URL, as offsets into it: the authority runs
    from after ``://`` to the first ``/`` (then ``?``); the port follows its last ``:`` unless
    a ``]`` does; the host loses its brackets. Return False when the URL has no ``://`` (or a
    port of more digits than a long long holds)."""
    cdef Py_ssize_t i, start, end, colon, host_end
    cdef long long port = 0
    cdef bint digits
    start = -1
    for i in range(n - 2):
        if s[i] == b':' and s[i + 1] == b'/' and s[i + 2] == b'/':
            start = i + 3
            break
    if start < 0:
        return False
    out.is_ssl = (start == 8 and memcmp(s, b"https", 5) == 0) or (start == 6 and memcmp(s, b"wss", 3) == 0)
    end = start
    while end < n and s[end] != b'/':
        end += 1
    i = start
    while i < end and s[i] != b'?':
        i += 1
    end = i
    colon = -1
    for i in range(end - 1, start - 1, -1):
        if s[i] == b':':
            colon = i
            break
    if colon < 0 or memchr(s + colon + 1, b']', end - colon - 1) != NULL:
        host_end = end
        port = 443 if out.is_ssl else 80
    else:
        host_end = colon
        digits = end > colon + 1
        for i in range(colon + 1, end):
            if not (b'0' <= s[i] <= b'9'):
                digits = False
                break
            if port > 100000000000:
                return False  # no connection has such a port: left to the reference
            port = port * 10 + (s[i] - 48)
        if not digits:
            port = 0
    while start < host_end and (s[start] == b'[' or s[start] == b']'):
        start += 1
    while host_end > start and (s[host_end - 1] == b'[' or s[host_end - 1] == b']'):
        host_end -= 1
    out.host_start = start
    out.host_length = host_end - start
    out.port = port
    return True


cdef bint _idle_connection(object connector, str url) except -1:
    """Tell whether ``connector`` holds an idle connection a request to ``url`` would reuse
    (``_netlog_transport.idle_connection``; an ASCII URL is parsed here, without objects)."""
    conns = connector._conns
    if not conns:
        return False
    cdef _Origin origin
    cdef const char* text
    cdef const char* host_text
    cdef Py_ssize_t host_length
    cdef Py_ssize_t pos = 0
    cdef PyObject* k
    cdef PyObject* v
    if not (PyUnicode_IS_ASCII(url) and _parse_origin(
            <const char*>PyUnicode_DATA(url), PyUnicode_GET_LENGTH(url), &origin)):
        return _idle_connection_of(conns, _origin(url))
    text = <const char*>PyUnicode_DATA(url)
    while PyDict_Next(conns, &pos, &k, &v):
        if not <object>v:
            continue
        key = <object>k
        port = key.port
        if (key.proxy is not None or type(port) is not int or <long long>port != origin.port
                or bool(key.is_ssl) != origin.is_ssl):
            continue
        host = key.host
        if type(host) is not str or not PyUnicode_IS_ASCII(host):
            continue
        host_length = PyUnicode_GET_LENGTH(host)
        host_text = <const char*>PyUnicode_DATA(host)
        if host_length == origin.host_length and memcmp(
                host_text, text + origin.host_start, host_length) == 0:
            return True
    return False


def origin(str url):
    """Return ``(host, port, is_ssl)`` of ``url`` as the idle-connection check reads it: the
    same as ``_netlog_transport._origin`` (the differential tests hold them to it)."""
    cdef _Origin parsed
    if not (PyUnicode_IS_ASCII(url) and _parse_origin(
            <const char*>PyUnicode_DATA(url), PyUnicode_GET_LENGTH(url), &parsed)):
        return _origin(url)
    return (url[parsed.host_start:parsed.host_start + parsed.host_length], parsed.port,
            bool(parsed.is_ssl))


cdef bint _idle_connection_of(object conns, tuple origin) except -1:
    """``_idle_connection`` for a URL only the reference's ``_origin`` reads."""
    host, port, is_ssl = origin
    cdef Py_ssize_t pos = 0
    cdef PyObject* k
    cdef PyObject* v
    while PyDict_Next(conns, &pos, &k, &v):
        key = <object>k
        if (<object>v and key.port == port and key.is_ssl == is_ssl and key.host == host
                and key.proxy is None):
            return True
    return False
