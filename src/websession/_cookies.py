"""``ses.cookies``: Electron's ``Cookies`` class over the session's :class:`CookieJar`.

``get`` / ``set`` / ``remove`` / ``flush_store`` and the ``'changed'`` event behave as
Electron's (``reference/electron/cookies.md``, SEMANTICS §4); ``export`` / ``import_`` read and
write Netscape ``cookies.txt`` and JSON lists of Electron cookie dicts; ``remove_for_origins``
and ``clear`` serve ``clear_data`` and ``clear_storage_data``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from yarl import URL

from . import _cookiestore_py as rules
from ._cookie_jar import CookieJar, Record
from ._errors import SessionError
from ._events import Event, EventEmitter
from ._impl import core
from ._options import Opt, options
from ._structures import Structure, field

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")

    # The checker reads ``@structure`` as the frozen dataclass it builds.
    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def structure(cls: type[_T]) -> type[_T]: ...
else:
    from ._structures import structure

__all__ = ["FORMATS", "Cookie", "Cookies", "CookiesSessionMixin"]

SAME_SITE_NAMES = {-1: "unspecified", 0: "no_restriction", 1: "lax", 2: "strict"}
SAME_SITE_VALUES = {v: k for k, v in SAME_SITE_NAMES.items()}
FORMATS = ("netscape", "json")
_INSERT_CAUSES = (0, 1, 2)

# CookieInclusionStatus::ExclusionReason, in Chromium's order, with Electron's human texts
_EXCLUSION_TEXTS = {
    "EXCLUDE_UNKNOWN_ERROR": "Unknown error",
    "EXCLUDE_HTTP_ONLY": "The cookie was HttpOnly, but the attempted access was through a non-HTTP API.",
    "EXCLUDE_SECURE_ONLY": "The cookie was Secure, but the URL was not allowed to access Secure cookies.",
    "EXCLUDE_DOMAIN_MISMATCH": "The cookie's domain attribute did not match the domain of the URL attempting access.",
    "EXCLUDE_NOT_ON_PATH": "The cookie's path attribute did not match the path of the URL attempting access.",
    "EXCLUDE_SAMESITE_NONE_INSECURE": "The cookie specified SameSite=None, but it was not Secure.",
    "EXCLUDE_FAILURE_TO_STORE": "The cookie was malformed and could not be stored",
    "EXCLUDE_NONCOOKIEABLE_SCHEME": "Attempted to set a cookie from a scheme that does not support cookies.",
    "EXCLUDE_OVERWRITE_SECURE": "The cookie would have overwritten a Secure cookie, and was not allowed to do so.",
    "EXCLUDE_OVERWRITE_HTTP_ONLY": "The cookie would have overwritten an HttpOnly cookie, and was not allowed to do so.",
    "EXCLUDE_INVALID_DOMAIN": "The cookie was set with an invalid Domain attribute.",
    "EXCLUDE_INVALID_PREFIX": "The cookie was set with an invalid __Host- or __Secure- prefix.",
    "EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE": "The cookie exceeded the name/value pair size limit.",
    "EXCLUDE_ATTRIBUTE_VALUE_EXCEEDS_MAX_SIZE": "Cookie exceeded the attribute size limit.",
    "EXCLUDE_DOMAIN_NON_ASCII": "The cookie was set with a Domain attribute containing non ASCII characters.",
    "EXCLUDE_DISALLOWED_CHARACTER": "The cookie contains ASCII control characters",
    "EXCLUDE_NO_COOKIE_CONTENT": "The cookie contains no content or only whitespace.",
}  # fmt: skip
_EXCLUSION_ORDER = list(_EXCLUSION_TEXTS)
# characters a cookie path may not hold without being changed by URL canonicalisation
_PATH_FORBIDDEN = frozenset(' "#<>?`{};\\')


@structure
class Cookie(Structure):
    """A cookie as Electron reports it (``structures/cookie.md``)."""

    name: str
    value: str
    domain: str | None = field()
    host_only: bool | None = field()
    path: str | None = field()
    secure: bool | None = field()
    http_only: bool | None = field()
    session: bool | None = field()
    expiration_date: float | None = field()
    same_site: str = field(default="unspecified")


def cookie_from_record(rec: Record) -> Cookie:
    """Return the Electron :class:`Cookie` of a store record."""
    name, value, domain, path, _, expiry, _, secure, http_only, persistent, same_site = rec[:11]
    return Cookie(
        name=name, value=value, domain=domain, host_only=not domain.startswith("."), path=path,
        secure=secure, http_only=http_only, session=not persistent,
        expiration_date=expiry / 1e6 if persistent else None,
        same_site=SAME_SITE_NAMES.get(same_site, "unspecified"),
    )  # fmt: skip


def _canonical_url(url: str) -> tuple[str, str, str, str] | None:
    """Return (canonical URL, scheme, host, path) or None when ``url`` is not a valid URL."""
    try:
        u = URL(url)
        host = u.raw_host
    except (ValueError, TypeError):
        return None
    if not u.is_absolute() or not host or not u.scheme:
        return None
    if ":" in host:
        host = f"[{host}]"
    path = u.raw_path or "/"
    scheme = u.scheme.lower()
    return f"{scheme}://{host.lower()}{path}", scheme, host.lower(), path


def _set_error(reasons: list[str]) -> SessionError:
    ordered = sorted(set(reasons), key=_EXCLUSION_ORDER.index)
    texts = "".join(_EXCLUSION_TEXTS[r] for r in ordered)
    debug = "".join(r + ", " for r in ordered) + "DO_NOT_WARN, NO_EXEMPTION"
    return SessionError(f"Failed to set cookie - {texts}{debug}")


def _bad_name_or_value(text: str, is_name: bool) -> bool:
    if text != text.strip(" \t"):
        return True
    for ch in text:
        o = ord(ch)
        if o < 0x20 or o == 0x7F or ch == ";" or (is_name and ch == "="):
            return True
    return False


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


_GET_SPEC = {
    "url": Opt(str), "name": Opt(str), "domain": Opt(str), "path": Opt(str),
    "secure": Opt(bool), "session": Opt(bool), "http_only": Opt(bool),
}  # fmt: skip
_SET_SPEC = {
    "url": Opt(str), "name": Opt(str), "value": Opt(str), "domain": Opt(str), "path": Opt(str),
    "secure": Opt(bool), "http_only": Opt(bool), "expiration_date": Opt((int, float)),
    "same_site": Opt(str), "creation_date": Opt((int, float)),
    "last_access_date": Opt((int, float)),
}  # fmt: skip


def _is_domain_match(cookie_domain: str, wanted: str) -> bool:
    # Electron's cookies.get filter (electron_api_cookies.cc MatchesDomain)
    if wanted == cookie_domain:
        return True
    if not cookie_domain.startswith("."):
        return False
    return cookie_domain[1:] == wanted or (
        len(wanted) > len(cookie_domain) and wanted.endswith(cookie_domain)
    )


class Cookies(EventEmitter):
    """A session's cookies: query and modify them, and hear every change (``'changed'``)."""

    def __init__(self, session: Any, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self._session = session
        folder = session.storage_path if session.is_persistent() else None
        self.jar = CookieJar(None if folder is None else Path(folder) / "Cookies", clock=clock)
        """The store the request pipeline reads and writes."""
        self._observing = False

    # -- 'changed' costs nothing until someone listens

    def _add_event_handler(self, event: str, k: Callable[..., Any], v: Callable[..., Any]) -> None:
        super()._add_event_handler(event, k, v)
        self._sync_observer()

    def _remove_listener(self, event: str, f: Callable[..., Any]) -> None:
        super()._remove_listener(event, f)
        self._sync_observer()

    def remove_all_listeners(self, event: str | None = None) -> None:
        """Remove every listener of ``event`` (of every event when None)."""
        super().remove_all_listeners(event)
        self._sync_observer()

    def _sync_observer(self) -> None:
        wanted = self.has_listeners("changed")
        if wanted and not self._observing:
            self.jar.add_observer(self._on_change)
        elif not wanted and self._observing:
            self.jar.remove_observer(self._on_change)
        self._observing = wanted

    def _on_change(self, rec: Record, cause: int) -> None:
        self.emit("changed", Event(self), cookie_from_record(rec), rules.CAUSES[cause],
                  cause not in _INSERT_CAUSES)  # fmt: skip

    # -- Electron's methods

    async def get(self, *args: Any, **kwargs: Any) -> list[Cookie]:
        """Return the cookies matching ``filter`` (url, name, domain, path, secure, session, http_only)."""
        f = options("cookies.get", _GET_SPEC, args, kwargs)
        url = f.get("url") or ""
        if url:
            canonical = _canonical_url(url)
            records = self.jar.matching(canonical[0]) if canonical is not None else []
        else:
            records = self.jar.all()
        out = []
        for rec in records:
            if "name" in f and rec[0] != f["name"]:
                continue
            if "domain" in f and not _is_domain_match(rec[2], f["domain"]):
                continue
            if "path" in f and rec[3] != f["path"]:
                continue
            if "secure" in f and rec[7] != f["secure"]:
                continue
            if "http_only" in f and rec[8] != f["http_only"]:
                continue
            if "session" in f and (not rec[9]) != f["session"]:
                continue
            out.append(cookie_from_record(rec))
        return out

    async def set(self, *args: Any, **kwargs: Any) -> None:
        """Set a cookie from ``details`` (url, name, value, domain, path, secure, http_only,
        expiration_date, same_site), with Electron's defaults and errors."""
        d = options("cookies.set", _SET_SPEC, args, kwargs)
        if "url" not in d:
            raise SessionError("Missing required option 'url'")
        same_site_name = d.get("same_site", "lax")
        if same_site_name not in SAME_SITE_VALUES:
            raise SessionError(
                f"Failed to convert '{same_site_name}' to an appropriate cookie same site value"
            )
        rec, secure_url = self._sanitized(d, SAME_SITE_VALUES[same_site_name])
        reason = self.jar.insert(rec, secure_url, rec[8])
        if reason is not None:
            raise _set_error([reason])

    def _sanitized(self, d: Mapping[str, Any], same_site: int) -> tuple[Record, bool]:
        # CanonicalCookie::CreateSanitizedCookie
        secure = d.get("secure", same_site == rules.NO_RESTRICTION)
        http_only = d.get("http_only", False)
        name, value = d.get("name", ""), d.get("value", "")
        domain_attr, path_attr = d.get("domain", ""), d.get("path", "")
        canonical = _canonical_url(d["url"])
        if canonical is None:
            raise _set_error(["EXCLUDE_INVALID_DOMAIN"])
        _, scheme, host, url_path = canonical
        if scheme not in rules.COOKIEABLE_SCHEMES:
            raise _set_error(["EXCLUDE_NONCOOKIEABLE_SCHEME"])
        reasons: list[str] = []
        if _bad_name_or_value(name, True) or _bad_name_or_value(value, False):
            reasons.append("EXCLUDE_DISALLOWED_CHARACTER")
        if not name and not value:
            reasons.append("EXCLUDE_NO_COOKIE_CONTENT")
        if _utf8(name) + _utf8(value) > rules.MAX_NAME_VALUE:
            reasons.append("EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE")
        domain: str | None = host
        if domain_attr and not domain_attr.isascii():
            reasons.append("EXCLUDE_DOMAIN_NON_ASCII")
        elif len(domain_attr) > rules.MAX_ATTRIBUTE_VALUE:
            reasons.append("EXCLUDE_INVALID_DOMAIN")
        else:
            domain = rules.cookie_domain(host, domain_attr or None)
            if domain is None:
                reasons.append("EXCLUDE_INVALID_DOMAIN")
        path = rules.default_path(url_path)
        if path_attr:
            if _utf8(path_attr) > rules.MAX_ATTRIBUTE_VALUE:
                reasons.append("EXCLUDE_ATTRIBUTE_VALUE_EXCEEDS_MAX_SIZE")
            elif not path_attr.startswith("/") or not path_attr.isascii() or any(
                ch in _PATH_FORBIDDEN or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path_attr
            ):
                reasons.append("EXCLUDE_FAILURE_TO_STORE")
            else:
                path = path_attr
        secure_url = rules.is_secure_url(scheme, host)
        low = name.lower()
        if (low.startswith("__secure-") and not (secure and secure_url)) or (
            low.startswith("__host-") and not (secure and secure_url and not domain_attr and path == "/")
        ) or (not name and value.lower().startswith(("__secure-", "__host-"))):
            reasons.append("EXCLUDE_INVALID_PREFIX")
        if "last_access_date" in d and "creation_date" not in d:
            reasons.append("EXCLUDE_FAILURE_TO_STORE")
        if secure and not secure_url:
            reasons.append("EXCLUDE_SECURE_ONLY")
        if same_site == rules.NO_RESTRICTION and not secure:
            reasons.append("EXCLUDE_SAMESITE_NONE_INSECURE")
        if reasons or domain is None:
            raise _set_error(reasons)
        creation = _micros(d.get("creation_date"), "creation_date")
        last_access = _micros(d.get("last_access_date"), "last_access_date")
        persistent = "expiration_date" in d
        expiry = _micros(d.get("expiration_date"), "expiration_date") if persistent else 0
        if persistent:
            base = creation or int(time.time() * 1e6)
            expiry = min(expiry, base + rules.MAX_EXPIRY_AGE)
        rec: Record = (name, value, domain, path, creation, expiry, last_access, secure,
                       http_only, persistent, same_site, rules.PRIORITY_MEDIUM, False)  # fmt: skip
        return rec, secure_url

    async def remove(self, url: str, name: str) -> None:
        """Remove the cookies named ``name`` that a request to ``url`` would carry."""
        if not isinstance(url, str):
            raise TypeError(f"cookies.remove: url must be a string, not {type(url).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"cookies.remove: name must be a string, not {type(name).__name__}")
        canonical = _canonical_url(url)
        if canonical is None:
            return
        for rec in self.jar.matching(canonical[0]):
            if rec[0] == name:
                self.jar.delete(rec[2], rec[0], rec[3])

    async def flush_store(self) -> None:
        """Write pending cookie changes to disk now (otherwise every 30 s or 512 changes)."""
        await asyncio.to_thread(self.jar.flush)

    # -- used by clear_data / clear_storage_data

    def remove_for_origins(self, origins: list[str], exclude: bool) -> int:
        """Remove the cookies of the origins' registrable domains (of all others with ``exclude``).

        ``https://a.b.example.com`` stands for every ``example.com`` cookie (SEMANTICS §5.2).
        """
        keys = set()
        for origin in origins:
            canonical = _canonical_url(origin)
            if canonical is None:
                raise TypeError(f"Invalid origin: '{origin}'")
            keys.add(core("cookiestore").registrable_key(canonical[2]))
        return self.jar.delete_keys(keys, exclude)

    def clear(self) -> int:
        """Remove every cookie (cause ``explicit``); return how many were removed."""
        return self.jar.clear()

    # -- interchange

    async def export(self, path: str | Path, format: str = "netscape") -> int:
        """Write every cookie to ``path`` as Netscape ``cookies.txt`` or a JSON list; return the count."""
        _check_format(format)
        cookies = [cookie_from_record(r) for r in self.jar.all()]
        text = dumps(cookies, format)
        await asyncio.to_thread(Path(path).write_text, text, encoding="utf-8")
        return len(cookies)

    async def import_(self, path: str | Path, format: str = "netscape") -> int:
        """Add the cookies of a Netscape ``cookies.txt`` or JSON file; return how many were stored.

        The whole file is checked before anything is stored; expired cookies are skipped.
        """
        _check_format(format)
        text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
        records = loads(text, format)
        stored = 0
        for rec in records:
            if self.jar.insert(rec, True, True) is None:
                stored += 1
        return stored

    async def close(self) -> None:
        """Flush and close the cookie database (the Session's teardown)."""
        await asyncio.to_thread(self.jar.close)


def _micros(seconds: float | None, key: str) -> int:
    if seconds is None:
        return 0
    if not math.isfinite(seconds):
        raise ValueError(f"cookies.set: option '{key}' must be a finite number")
    return int(seconds * 1e6)


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")


def dumps(cookies: list[Cookie], format: str) -> str:
    """Serialise cookies as Netscape ``cookies.txt`` or as a JSON list of Electron dicts."""
    _check_format(format)
    if format == "json":
        return json.dumps([c.to_dict() for c in cookies], indent=1, ensure_ascii=False) + "\n"
    lines = ["# Netscape HTTP Cookie File", "# Written by websession", ""]
    for c in cookies:
        domain = c.domain or ""
        prefix = "#HttpOnly_" if c.http_only else ""
        expires = int(c.expiration_date) if c.expiration_date is not None else 0
        lines.append("\t".join((
            prefix + domain, "FALSE" if c.host_only else "TRUE", c.path or "/",
            "TRUE" if c.secure else "FALSE", str(expires), c.name, c.value,
        )))  # fmt: skip
    return "\n".join(lines) + "\n"


def loads(text: str, format: str) -> list[Record]:
    """Parse Netscape ``cookies.txt`` or a JSON list into store records; ValueError names the entry."""
    _check_format(format)
    now = int(time.time() * 1e6)
    out: list[Record] = []
    if format == "json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"cookie file is not JSON: {exc}") from None
        if not isinstance(items, list):
            raise ValueError("a JSON cookie file holds a list of cookie objects")
        for i, item in enumerate(items):
            out.append(_record_from_dict(item, f"cookie #{i}"))
    else:
        for lineno, line in enumerate(text.splitlines(), 1):
            http_only = line.startswith("#HttpOnly_")
            if http_only:
                line = line[len("#HttpOnly_") :]
            elif not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\r").split("\t")
            if len(fields) == 6:
                fields.append("")
            if len(fields) != 7:
                raise ValueError(f"line {lineno}: expected 7 tab-separated fields, got {len(fields)}")
            domain, subdomains, path, secure, expires, name, value = fields
            try:
                expiry = int(float(expires))
            except ValueError:
                raise ValueError(f"line {lineno}: expiry {expires!r} is not a number") from None
            domain = domain.lower()
            if subdomains.upper() == "TRUE":
                domain = "." + domain.lstrip(".")
            out.append(_checked((name, value, domain, path or "/", 0, expiry * 1_000_000, 0,
                                 secure.upper() == "TRUE", http_only, expiry != 0,
                                 rules.UNSPECIFIED, rules.PRIORITY_MEDIUM, False),
                                f"line {lineno}"))  # fmt: skip
    return [r for r in out if not (r[9] and r[5] <= now)]


def _record_from_dict(item: Any, where: str) -> Record:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(item).__name__}")  # noqa: TRY004
    try:
        name, value, domain = item["name"], item["value"], item["domain"]
    except KeyError as exc:
        raise ValueError(f"{where}: missing '{exc.args[0]}'") from None
    path = item.get("path", "/")
    same_site = SAME_SITE_VALUES.get(item.get("sameSite", "unspecified"))
    if same_site is None:
        raise ValueError(f"{where}: sameSite {item.get('sameSite')!r} is not one of {list(SAME_SITE_VALUES)}")
    for key, v in (("name", name), ("value", value), ("domain", domain), ("path", path)):
        if not isinstance(v, str):
            raise ValueError(f"{where}: '{key}' must be a string")  # noqa: TRY004
    expiration = item.get("expirationDate")
    persistent = expiration is not None and not item.get("session", False)
    if persistent and (not isinstance(expiration, (int, float)) or isinstance(expiration, bool)):
        raise ValueError(f"{where}: 'expirationDate' must be a number")
    domain = domain.lower()
    if item.get("hostOnly") is False and not domain.startswith("."):
        domain = "." + domain
    return _checked((name, value, domain, path, 0,
                     int(expiration * 1e6) if persistent and expiration is not None else 0, 0, bool(item.get("secure")),
                     bool(item.get("httpOnly")), persistent, same_site, rules.PRIORITY_MEDIUM,
                     False), where)  # fmt: skip


def _checked(rec: Record, where: str) -> Record:
    name, value, domain, path = rec[:4]
    if not domain.strip("."):
        raise ValueError(f"{where}: empty domain")
    if not path.startswith("/"):
        raise ValueError(f"{where}: path {path!r} does not start with '/'")
    if not name and not value:
        raise ValueError(f"{where}: a cookie needs a name or a value")
    if _bad_name_or_value(name, True) or _bad_name_or_value(value, False):
        raise ValueError(f"{where}: cookie {name!r} holds characters a cookie may not hold")
    return rec


class CookiesSessionMixin:
    """``ses.cookies`` for the Session; the pipeline's jar is ``ses._cookie_jar()``."""

    _cookies_api: Cookies | None

    def _setup_cookies(self) -> None:
        self._cookies_api = None

    @property
    def cookies(self) -> Cookies:
        """The session's :class:`Cookies` (the same object every time)."""
        if self._cookies_api is None:
            self._cookies_api = Cookies(self)
        return self._cookies_api

    def _cookie_jar(self) -> CookieJar:
        return self.cookies.jar

    async def _teardown_cookies(self) -> None:
        if self._cookies_api is not None:
            await self._cookies_api.close()
