"""PAC scripts: fetched from http(s)/file/data URLs, run in QuickJS with Chromium's PAC runtime.

A :class:`PacEngine` owns one QuickJS context on its own thread (QuickJS checks the stack of
the thread that made the context, and a script must never block the event loop). Each call
runs under a time limit, so a script that loops is interrupted and its request fails with
``net::ERR_PAC_SCRIPT_FAILED``, as a throwing script does. Host lookups (``dnsResolve``,
``dnsResolveEx``, ``isResolvable``, ``myIpAddress``...) go through the session's resolver
without blocking: a run that needs an answer it does not have is abandoned, the hosts are
resolved, and the run starts again with the answers (Chromium's ProxyResolverV8Tracing).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ._errors import NetError

log = logging.getLogger("websession.pac")

DEFAULT_TIME_LIMIT = 1.0
MEMORY_LIMIT = 64 * 1024 * 1024
MAX_SCRIPT_BYTES = 1024 * 1024  # PacFileFetcherImpl kDefaultMaxResponseBytes
MAX_RESTARTS = 64

Lookup = Callable[[str], Awaitable[list[str]]]

_LIBRARY = resources.files(__package__).joinpath("_pac_library.js").read_text("utf-8")

_RUN = """
function __wsRun(url, host) {
  __ws.missing = []; __ws.abandoned = false; __ws.alerts = [];
  var r;
  try { r = __wsFind(url, host); }
  catch (e) {
    if (__ws.abandoned) return JSON.stringify({missing: __ws.missing});
    return JSON.stringify({error: "Uncaught " + String(e)});
  }
  r.alerts = __ws.alerts;
  return JSON.stringify(r);
}
function __wsInit() {
  if (__ws.abandoned) return JSON.stringify({missing: __ws.missing});
  var r = {alerts: __ws.alerts};
  try {
    if (typeof this.FindProxyForURL !== "function") {
      r.error = "FindProxyForURL is undefined or not a function.";
    }
  } catch (e) {
    if (__ws.abandoned) return JSON.stringify({missing: __ws.missing});
    r.error = "Uncaught " + String(e);
    r.extra = "Accessing FindProxyForURL threw an exception.";
  }
  return JSON.stringify(r);
}
"""


class PacScriptError(NetError):
    """A PAC script failed to load or to answer; ``errors`` holds the script's messages."""

    def __init__(self, errors: list[str], code: str = "ERR_PAC_SCRIPT_FAILED") -> None:
        super().__init__(code, "; ".join(errors) or None)
        self.errors = errors


def to_ascii_host(host: str) -> str | None:
    """Return ``host`` in punycode when it is not ASCII (``GetHostnameArgument``)."""
    if host.isascii():
        return host
    try:
        import idna

        return str(idna.encode(host, uts46=True, transitional=False).decode("ascii"))
    except (UnicodeError, ValueError, Exception):  # noqa: BLE001 - idna raises many kinds
        return None


@dataclass
class PacResult:
    """What one ``FindProxyForURL`` call returned, with the alerts it raised."""

    result: str
    alerts: list[str] = field(default_factory=list)


class PacEngine:
    """One loaded PAC script; ``find_proxy`` runs ``FindProxyForURL`` in it."""

    def __init__(self, script: str, *, lookup: Lookup | None = None,
                 lookup_ex: Lookup | None = None,
                 my_ip_address: Callable[[], Awaitable[tuple[str, str]]] | None = None,
                 time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self.script = script
        self.time_limit = time_limit
        self._lookup = lookup
        self._lookup_ex = lookup_ex
        self._my_ip = my_ip_address
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="websession-pac")
        self._context: Any = None
        self._run_fn: Any = None
        self._table_dirty = True
        self._lock = asyncio.Lock()
        self.load_alerts: list[str] = []
        self.dns_lookups: list[str] = []
        self.my_ip_calls = 0

    # -- thread side ---------------------------------------------------------------------------

    def _new_context(self, table: dict[str, Any]) -> dict[str, Any]:
        import quickjs

        context = quickjs.Context()
        context.set_memory_limit(MEMORY_LIMIT)
        context.set_max_stack_size(1024 * 1024)
        context.eval(_LIBRARY)
        context.eval(_RUN)
        context.set("__ws_table", json.dumps(table))
        context.eval("__ws.dns = JSON.parse(__ws_table);")
        context.set_time_limit(self.time_limit)
        try:
            context.eval(self.script)
            outcome = json.loads(context.eval("__wsInit()"))
        except Exception as exc:  # noqa: BLE001 - quickjs raises its own exception classes
            if context.eval("__ws.abandoned"):
                return {"missing": json.loads(context.eval("JSON.stringify(__ws.missing)"))}
            outcome = {"error": _describe(exc)}
        self._context = context
        self._run_fn = None
        self._table_dirty = True
        return dict(outcome)

    def _run(self, url: str, host: str, table: dict[str, Any]) -> dict[str, Any]:
        context = self._context
        if table or self._table_dirty:
            context.set("__ws_table", json.dumps(table))
            context.eval("__ws.dns = JSON.parse(__ws_table);")
            self._table_dirty = bool(table)
        try:
            if self._run_fn is None:
                self._run_fn = context.eval("__wsRun")
            return dict(json.loads(self._run_fn(url, host)))
        except Exception as exc:  # noqa: BLE001 - interrupted, out of memory, stack overflow
            text = _describe(exc)
            if "out of memory" in text.lower() or "null" == text.strip():
                self._context = None
                self._run_fn = None
            return {"error": text}

    # -- loop side -----------------------------------------------------------------------------

    async def _call(self, fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _fill(self, table: dict[str, Any], missing: list[str]) -> None:
        async def answer(key: str) -> None:
            kind, _, host = key.partition(":")
            if kind in ("M", "MX"):
                self.my_ip_calls += 1
                ip, ip_ex = await self._my_ip_address()
                table["M:"] = ip
                table["MX:"] = ip_ex
                return
            ascii_host = to_ascii_host(host)
            self.dns_lookups.append(f"{kind}:{ascii_host if ascii_host is not None else host}")
            addresses: list[str] = []
            if ascii_host is not None:
                try:
                    if kind == "A":
                        lookup = self._lookup
                        addresses = await lookup(ascii_host) if lookup is not None else []
                    else:
                        lookup = self._lookup_ex or self._lookup
                        addresses = await lookup(ascii_host) if lookup is not None else []
                except NetError:
                    addresses = []
            if kind == "A":
                table[key] = next((a for a in addresses if ":" not in a), None)
            else:
                table[key] = ";".join(addresses)

        await asyncio.gather(*(answer(k) for k in dict.fromkeys(missing) if k not in table))

    async def _my_ip_address(self) -> tuple[str, str]:
        if self._my_ip is not None:
            return await self._my_ip()
        return await default_my_ip_address(self._lookup_ex or self._lookup)

    async def load(self) -> None:
        """Evaluate the script; a script that fails raises :class:`PacScriptError`."""
        async with self._lock:
            table: dict[str, Any] = {}
            for _ in range(MAX_RESTARTS):
                outcome = await self._call(self._new_context, table)
                if "missing" in outcome:
                    await self._fill(table, outcome["missing"])
                    continue
                self.load_alerts = list(outcome.get("alerts", ()))
                for alert in self.load_alerts:
                    log.info("PAC alert: %s", alert)
                if "error" in outcome:
                    self._context = None
                    errors = [outcome["error"]] + ([outcome["extra"]] if "extra" in outcome else [])
                    raise PacScriptError(errors)
                return
            raise PacScriptError(["too many host lookups while loading the script"])

    async def find_proxy(self, url: str, host: str) -> PacResult:
        """Run ``FindProxyForURL(url, host)``; failures raise :class:`PacScriptError`."""
        async with self._lock:
            if self._context is None:
                raise PacScriptError(["the PAC script is not loaded"])
            table: dict[str, Any] = {}
            for _ in range(MAX_RESTARTS):
                outcome = await self._call(self._run, url, host, table)
                if "missing" in outcome:
                    await self._fill(table, outcome["missing"])
                    continue
                alerts = list(outcome.get("alerts", ()))
                for alert in alerts:
                    log.info("PAC alert: %s", alert)
                if "error" in outcome:
                    errors = [outcome["error"]] + ([outcome["extra"]] if "extra" in outcome else [])
                    log.warning("PAC script error: %s", "; ".join(errors))
                    if self._context is None:
                        await self._reload_quietly()
                    raise PacScriptError(errors)
                result = outcome["result"]
                if not result.isascii():
                    raise PacScriptError(["FindProxyForURL() returned a non-ASCII string."])
                return PacResult(result, alerts)
            raise PacScriptError(["too many host lookups in FindProxyForURL()"])

    async def _reload_quietly(self) -> None:
        try:
            await self._call(self._new_context, {})
        except Exception:  # noqa: BLE001 - the next call reports the failure
            self._context = None

    def close(self) -> None:
        """Stop the script's thread."""
        self._context = None
        self._run_fn = None
        self._executor.shutdown(wait=False, cancel_futures=True)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "interrupted" in first:
        return "The PAC script was terminated: it ran longer than its time limit."
    return "Uncaught " + first


async def default_my_ip_address(lookup: Lookup | None) -> tuple[str, str]:
    """Return (``myIpAddress()``, ``myIpAddressEx()``) without sending packets off the host.

    Resolves the host name through the session (``MyIpAddressImpl``'s second strategy);
    falls back to ``127.0.0.1`` and ``""`` as Chromium does.
    """
    addresses: list[str] = []
    if lookup is not None:
        try:
            addresses = await lookup(socket.gethostname())
        except NetError:
            addresses = []
    public = [a for a in addresses if not a.startswith("127.") and a != "::1"
              and not a.lower().startswith("fe80")]
    ipv4 = [a for a in public if ":" not in a]
    return (ipv4[0] if ipv4 else "127.0.0.1", ";".join(public))


# --------------------------------------------------------------------------- fetching


def decode_script(data: bytes, content_type: str | None = None) -> str:
    """Decode a PAC body: BOM, then the ``charset`` parameter, else ISO-8859-1 (Chromium)."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    charset = None
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset":
                charset = value.strip().strip('"')
    if charset:
        with contextlib.suppress(LookupError):
            return data.decode(charset, errors="replace")
    return data.decode("latin-1")


def _data_url(url: str) -> bytes:
    head, sep, payload = url[5:].partition(",")
    if not sep:
        raise NetError("ERR_INVALID_URL", "a data: URL needs a comma")
    if head.lower().rstrip().endswith(";base64"):
        compact = "".join(unquote(payload).split())
        try:
            return base64.b64decode(compact + "=" * (-len(compact) % 4))
        except ValueError as exc:
            raise NetError("ERR_INVALID_URL", "bad base64 in a data: URL") from exc
    return unquote_to_bytes(payload)


async def fetch_script(url: str, *, resolver: Any = None, ssl_context: Any = None,
                       timeout: float = 30.0) -> str:
    """Fetch a PAC script from an ``http(s)``, ``file`` or ``data`` URL, without any proxy."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "data":
        return decode_script(_data_url(url), "text/plain;charset=utf-8")
    if scheme == "file":
        path = Path(unquote(urlsplit(url).path))

        def read() -> bytes:
            with path.open("rb") as handle:
                return handle.read(MAX_SCRIPT_BYTES + 1)

        try:
            data = await asyncio.to_thread(read)
        except OSError as exc:
            raise NetError("ERR_FILE_NOT_FOUND", str(exc)) from exc
        if len(data) > MAX_SCRIPT_BYTES:
            raise NetError("ERR_FILE_TOO_BIG")
        return decode_script(data)
    if scheme not in ("http", "https"):
        raise NetError("ERR_DISALLOWED_URL_SCHEME", f"a PAC script cannot come from {scheme}:")
    import aiohttp

    from ._transport import map_error

    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False,
                                     ssl=ssl_context if ssl_context is not None else True)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, trust_env=False) as client,
            client.get(url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=True,
                       max_redirects=20) as response,
        ):
            if response.status != 200:
                raise NetError("ERR_HTTP_RESPONSE_CODE_FAILURE",
                               f"PAC fetch returned HTTP {response.status}")
            data = await response.content.read(MAX_SCRIPT_BYTES + 1)
            if len(data) > MAX_SCRIPT_BYTES:
                raise NetError("ERR_FILE_TOO_BIG")
            return decode_script(data, response.headers.get("Content-Type"))
    except NetError:
        raise
    except Exception as exc:
        raise map_error(exc) from exc
