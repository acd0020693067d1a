"""HTTP authentication: Basic, Digest (RFC 7616), NTLM and Negotiate, the auth cache and ``login``.

Chromium: ``net/http/http_auth_controller.cc`` (which identity to try next),
``http_auth_handler_basic.cc``, ``http_auth_handler_digest.cc``, ``http_auth_cache.cc``
(entries per origin, realm and scheme, found by path for preemptive use) and
``http_auth_filter.cc`` (the allowlist of ``allowNTLMCredentialsForDomains``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import yarl
from spnego.exceptions import SpnegoError

from ._errors import NetError
from ._events import Event
from ._http import RequestState, Response
from ._naming import CamelAliases
from ._structures import Structure, field, structure

log = logging.getLogger("websession.auth")

MAX_AUTH_ROUNDS = 8  # Chromium asks until cancelled; a program must not loop for ever.
_DRAIN_LIMIT = 1 << 20
# HttpAuthHandlerFactory scores: the strongest offered scheme wins.
_SCORES = {"basic": 1, "digest": 2, "ntlm": 3, "negotiate": 4}
_DIGEST_ALGORITHMS = {
    "": "md5", "md5": "md5", "md5-sess": "md5",
    "sha-256": "sha256", "sha-256-sess": "sha256",
}


@structure
class AuthInfo(Structure):
    """Who asks for credentials (Electron's ``authInfo``)."""

    is_proxy: bool = field(default=False)
    scheme: str = field(default="")
    host: str = field(default="")
    port: int = field(default=0)
    realm: str = field(default="")


@structure
class AuthenticationResponseDetails(Structure):
    """The request that met the challenge (Electron's ``authenticationResponseDetails``)."""

    url: str = field(default="")


# -- challenges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate``/``Proxy-Authenticate`` line: scheme, parameters, token."""

    scheme: str
    params: dict[str, str] = dc_field(default_factory=dict)
    token: str = ""

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def parse_challenge(line: str) -> Challenge | None:
    """Parse one challenge line as ``HttpAuthChallengeTokenizer`` does; ``None`` when empty."""
    text = line.strip(" \t\r\n")
    i = 0
    while i < len(text) and text[i] not in " \t":
        i += 1
    scheme = text[:i].lower()
    if not scheme or not scheme.isascii():
        return None
    rest = text[i:].strip(" \t")
    params: dict[str, str] = {}
    if not rest:
        return Challenge(scheme)
    if "=" not in rest or (rest.rstrip("=").find("=") == -1 and rest.endswith("=")):
        return Challenge(scheme, params, rest)  # token68 (NTLM/Negotiate blobs end in '=')
    j = 0
    while j < len(rest):
        j = _skip_ws(rest, j)
        start = j
        while j < len(rest) and rest[j] not in "=, \t":
            j += 1
        name = rest[start:j].lower()
        j = _skip_ws(rest, j)
        value = ""
        if j < len(rest) and rest[j] == "=":
            j = _skip_ws(rest, j + 1)
            if j < len(rest) and rest[j] == '"':
                j += 1
                chars: list[str] = []
                while j < len(rest) and rest[j] != '"':
                    if rest[j] == "\\" and j + 1 < len(rest):
                        j += 1
                    chars.append(rest[j])
                    j += 1
                j += 1
                value = "".join(chars)
            else:
                start = j
                while j < len(rest) and rest[j] != ",":
                    j += 1
                value = rest[start:j].strip(" \t")
        while j < len(rest) and rest[j] != ",":
            j += 1
        j += 1
        if name and name not in params:
            params[name] = value
    return Challenge(scheme, params)


def choose_challenge(lines: list[str], usable: Callable[[Challenge], bool]) -> Challenge | None:
    """Return the strongest usable challenge (``HttpAuth::ChooseBestChallenge``)."""
    best: Challenge | None = None
    for line in lines:
        challenge = parse_challenge(line)
        if challenge is None or challenge.scheme not in _SCORES or not usable(challenge):
            continue
        if best is None or _SCORES[challenge.scheme] > _SCORES[best.scheme]:
            best = challenge
    return best


def digest_supported(challenge: Challenge) -> bool:
    """Tell whether a Digest challenge is one ``HttpAuthHandlerDigest`` accepts."""
    params = challenge.params
    if "nonce" not in params:
        return False
    if params.get("algorithm", "").lower() not in _DIGEST_ALGORITHMS:
        return False
    qop = params.get("qop")
    return qop is None or "auth" in [q.strip().lower() for q in qop.split(",")]


# -- credentials -----------------------------------------------------------------------------


def basic_authorization(username: str, password: str) -> str:
    """``Basic base64(utf8(user:password))`` (``HttpAuthHandlerBasic::GenerateAuthTokenImpl``)."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_authorization(challenge: Challenge, username: str, password: str, method: str,
                         uri: str, nc: int, cnonce: str | None = None) -> str:
    """RFC 7616 §3.4 ``Digest`` credentials for ``challenge`` (qop ``auth``, or RFC 2069)."""
    params = challenge.params
    algorithm = params.get("algorithm", "")
    digest = _DIGEST_ALGORITHMS[algorithm.lower()]

    def h(text: str) -> str:
        return hashlib.new(digest, text.encode()).hexdigest()

    realm, nonce = params.get("realm", ""), params["nonce"]
    cnonce = cnonce if cnonce is not None else os.urandom(8).hex()
    ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.lower().endswith("-sess"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    qops = [q.strip().lower() for q in params["qop"].split(",")] if "qop" in params else []
    nc_text = f"{nc:08x}"
    if "auth" in qops:
        response = h(f"{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}")
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    userhash = params.get("userhash", "").lower() == "true"
    shown = h(f"{username}:{realm}") if userhash else username
    parts = [f"username={_quote(shown)}", f"realm={_quote(realm)}", f"nonce={_quote(nonce)}",
             f"uri={_quote(uri)}"]
    if algorithm:
        parts.append(f"algorithm={algorithm}")
    parts.append(f'response="{response}"')
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    if "auth" in qops:
        parts += ["qop=auth", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def request_uri(url: str) -> str:
    """The ``uri`` of Digest credentials: the request's path and query."""
    parsed = yarl.URL(url, encoded=True)
    return parsed.raw_path_qs or "/"


def parent_directory(url: str) -> str:
    """``HttpAuth`` cache path of a URL: its path up to and including the last ``/``."""
    path = yarl.URL(url, encoded=True).raw_path or "/"
    return path[: path.rfind("/") + 1] or "/"


def origin_of(url: str) -> str:
    parsed = yarl.URL(url, encoded=True)
    return f"{parsed.scheme}://{parsed.raw_host}:{parsed.port}"


# -- the cache -------------------------------------------------------------------------------


@dataclass
class AuthEntry:
    """An ``HttpAuthCache::Entry``: the identity that worked for an origin and realm."""

    origin: str
    realm: str
    scheme: str
    username: str
    password: str
    challenge: Challenge
    paths: list[str] = dc_field(default_factory=list)
    nonce_count: int = 0

    def authorization(self, method: str, url: str) -> str:
        if self.scheme == "digest":
            self.nonce_count += 1
            return digest_authorization(self.challenge, self.username, self.password, method,
                                        request_uri(url), self.nonce_count)
        return basic_authorization(self.username, self.password)


class AuthCache:
    """``HttpAuthCache``: entries by (origin, realm, scheme), looked up by path."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], AuthEntry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: AuthEntry, path: str) -> None:
        key = (entry.origin, entry.realm, entry.scheme)
        old = self.entries.get(key)
        if old is not None:
            entry.paths = old.paths
        if not any(path.startswith(p) for p in entry.paths):
            entry.paths = [p for p in entry.paths if not p.startswith(path)] + [path]
        self.entries[key] = entry

    def lookup(self, origin: str, realm: str, scheme: str) -> AuthEntry | None:
        return self.entries.get((origin, realm, scheme))

    def lookup_by_path(self, origin: str, path: str) -> AuthEntry | None:
        """The entry whose protection space holds ``path`` (longest matching path)."""
        best: AuthEntry | None = None
        best_len = -1
        for (entry_origin, _, _), entry in self.entries.items():
            if entry_origin != origin:
                continue
            for p in entry.paths:
                if path.startswith(p) and len(p) > best_len:
                    best, best_len = entry, len(p)
        return best

    def remove(self, origin: str, realm: str, scheme: str) -> None:
        self.entries.pop((origin, realm, scheme), None)

    def clear(self) -> None:
        self.entries.clear()


# -- the NTLM/Negotiate allowlist (process-wide, as in the network service) -----------------


class _Allowlist:
    rules: Any = None
    text: str = ""


ALLOWLIST = _Allowlist()


def ambient_allowed(url: str) -> bool:
    """``HttpAuthFilterAllowlist::IsValid`` for a server: does ``url`` match the allowlist?"""
    rules = ALLOWLIST.rules
    return rules is not None and bool(rules.matches(url))


def set_allowlist(domains: str) -> None:
    from ._proxy_rules import ProxyBypassRules

    ALLOWLIST.text = domains
    ALLOWLIST.rules = ProxyBypassRules.parse(domains) if domains.strip() else None


class _SpnegoRound:
    """One NTLM or Negotiate handshake (pyspnego), kept across the 401s of one connection."""

    def __init__(self, scheme: str, host: str, username: str | None, password: str | None):
        import spnego

        self.scheme = scheme
        self.context = spnego.client(username, password, hostname=host, service="HTTP",
                                     protocol="ntlm" if scheme == "ntlm" else "negotiate")

    def step(self, token: str) -> str | None:
        data = base64.b64decode(token) if token else None
        out = self.context.step(data)
        if out is None:
            return None
        name = "NTLM" if self.scheme == "ntlm" else "Negotiate"
        return f"{name} {base64.b64encode(out).decode('ascii')}"


def url_identity(input: Any) -> tuple[str, str] | None:
    """The ``user:password@`` of a URL, percent-decoded, or ``None``."""
    url = input if isinstance(input, str) else getattr(input, "url", None)
    if not isinstance(url, str) or "@" not in url:
        return None
    try:
        parsed = yarl.URL(url.strip())
    except (ValueError, TypeError):
        return None
    if parsed.user is None and parsed.password is None:
        return None
    return parsed.user or "", parsed.password or ""


def remember_url_credentials(state: RequestState, input: Any) -> None:
    """Keep the URL's embedded credentials for the first challenge (the URL loses them)."""
    identity = url_identity(input)
    if identity is not None:
        state.extra["url_identity"] = identity


# -- the session part ------------------------------------------------------------------------


class AuthSessionMixin(CamelAliases):
    """HTTP authentication of a Session: ``login``, the auth cache, the NTLM allowlist."""

    _auth_cache: AuthCache
    _transport: Any

    def _setup_auth(self) -> None:
        self._auth_cache = AuthCache()

    async def clear_auth_cache(self) -> None:
        """Forget every identity of the HTTP authentication cache (servers and proxies)."""
        self._auth_cache.clear()
        await asyncio.sleep(0)

    def allow_ntlm_credentials_for_domains(self, domains: str) -> None:
        """Allow NTLM/Negotiate with the process's credentials for servers matching ``domains``.

        ``domains`` is a comma-separated list (``'*example.com, *foobar.com, *baz'``, ``'*'``),
        process-wide as in Chromium's network service.
        """
        if not isinstance(domains, str):
            raise TypeError("allow_ntlm_credentials_for_domains: domains must be a string")
        set_allowlist(domains)

    async def _ask_login(self, url: str, info: AuthInfo) -> tuple[str, str] | None:
        """Emit ``'login'`` and return the credentials given, or ``None`` when cancelled."""
        emitter: Any = self
        if not emitter.listeners("login"):
            return None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        called = [False]

        def callback(username: Any = None, password: Any = None) -> None:
            if called[0]:
                raise RuntimeError("login callback was already called")
            called[0] = True
            if loop.is_closed():
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                if not answer.done():
                    answer.set_result((username, password))
            else:
                loop.call_soon_threadsafe(_settle, answer, (username, password))

        event = Event(self)
        emitter.emit("login", event, AuthenticationResponseDetails(url=url), info, callback)
        for _ in range(2):  # let async listeners reach prevent_default() or the callback
            if called[0] or event.default_prevented:
                break
            await asyncio.sleep(0)
        if not called[0] and not event.default_prevented:
            return None
        username, password = await answer
        if username is None or not isinstance(username, str):
            return None
        return username, password if isinstance(password, str) else ""

    async def _network_send(self, state: RequestState) -> Response:
        """Send one hop with the auth cache's credentials, answering 401 and 407 challenges."""
        waiting = getattr(self, "_preconnecting", None)
        if waiting:
            await self._await_preconnect(state.url)  # type: ignore[attr-defined]
        # Without emulation a hop is the transport's send: one coroutine frame fewer per request.
        hop = self._transport.send if self._emulation is None else self._hop  # type: ignore[attr-defined]
        if state.credentials == "omit":
            return await hop(state)  # type: ignore[no-any-return]
        headers = state.headers
        own = "authorization" not in headers
        added = None
        if own and len(self._auth_cache):
            entry = self._auth_cache.lookup_by_path(origin_of(state.url),
                                                    parent_directory(state.url))
            if entry is not None:
                added = headers["Authorization"] = entry.authorization(state.method, state.url)
        challenged = False
        try:
            response: Response = await hop(state)
            if response.status == 401 and own:
                challenged = True
                response = await self._authenticate(state, response, proxy=False)
            elif response.status == 407 and "proxy-authorization" not in headers:
                challenged = True
                response = await self._authenticate(state, response, proxy=True)
        finally:
            # Credentials added here belong to this hop only; the caller's headers stay theirs.
            if added is not None or (challenged and own):
                headers.popall("Authorization", None)
            if challenged:
                headers.popall("Proxy-Authorization", None)
        return response

    async def _proxy_origin(self, state: RequestState, response: Response) -> tuple[str, int]:
        finder = getattr(self, "proxy_servers_for", None)
        if finder is not None:
            for server in await finder(state.url):
                if not server.is_direct:
                    return str(server.host), int(server.port)
        return response.remote_address or "", 0

    async def _authenticate(self, state: RequestState, response: Response, *,
                            proxy: bool) -> Response:
        """Answer challenges until one succeeds, identities run out or ``login`` is cancelled."""
        hop = self._hop  # type: ignore[attr-defined]
        challenge_header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        answer_header = "Proxy-Authorization" if proxy else "Authorization"
        url = yarl.URL(state.url, encoded=True)
        if proxy:
            host, port = await self._proxy_origin(state, response)
            origin = f"proxy://{host}:{port}"
        else:
            host, port = str(url.raw_host), int(url.port or 0)
            origin = origin_of(state.url)
        ambient = proxy or ambient_allowed(state.url)
        tried: set[str] = set()
        disabled: set[str] = set()
        last: tuple[Challenge, str, str] | None = None
        spnego_round: _SpnegoRound | None = None

        def usable(c: Challenge) -> bool:
            if c.scheme in disabled:
                return False
            if c.scheme == "digest":
                return digest_supported(c)
            if c.scheme == "negotiate":
                return ambient  # no explicit credentials on POSIX (HttpAuthHandlerNegotiate)
            return True

        for _ in range(MAX_AUTH_ROUNDS):
            lines = list(response.headers.getall(challenge_header, ()))
            if spnego_round is not None:
                # A connection-based handshake in progress: answer the server's next token.
                token = next((c.token for c in map(parse_challenge, lines)
                              if c is not None and c.scheme == spnego_round.scheme), "")
                value = _spnego_step(spnego_round, token) if token else None
                if value is not None:
                    response = await self._resend(state, response, answer_header, value, hop)
                    if response.status not in (401, 407):
                        return response
                    continue
                spnego_round = None
            challenge = choose_challenge(lines, usable)
            if challenge is None:
                return response
            scheme, realm = challenge.scheme, challenge.realm
            identity: tuple[str, str] | None = None
            if last is not None and last[0].scheme == scheme and last[0].realm == realm:
                if scheme == "digest" and challenge.params.get("stale", "").lower() == "true":
                    identity = (last[1], last[2])
                else:
                    # HttpAuthController::InvalidateRejectedAuthFromCache
                    self._auth_cache.remove(origin, realm, scheme)
            if scheme in ("ntlm", "negotiate"):
                value = None
                if ambient and "ambient:" + scheme not in tried:
                    tried.add("ambient:" + scheme)
                    value, spnego_round = _spnego_start(scheme, host, None, None)
                if value is None and scheme == "ntlm":
                    given = await self._next_identity(state, origin, challenge, host, port, proxy,
                                                      tried, skip_cache=True)
                    if given is None:
                        return response
                    value, spnego_round = _spnego_start(scheme, host, *given)
                if value is None:
                    disabled.add(scheme)
                    continue
                response = await self._resend(state, response, answer_header, value, hop)
                if response.status not in (401, 407):
                    return response
                continue
            if identity is None:
                identity = await self._next_identity(state, origin, challenge, host, port, proxy,
                                                     tried)
                if identity is None:
                    return response
            username, password = identity
            nc = 1
            if scheme == "digest":
                value = digest_authorization(challenge, username, password, state.method,
                                             request_uri(state.url), nc)
            else:
                value = basic_authorization(username, password)
            response = await self._resend(state, response, answer_header, value, hop)
            last = (challenge, username, password)
            if response.status not in (401, 407):
                if response.status < 400:
                    entry = AuthEntry(origin, realm, scheme, username, password, challenge,
                                      nonce_count=nc)
                    self._auth_cache.add(entry, "" if proxy else parent_directory(state.url))
                return response
        return response

    async def _next_identity(self, state: RequestState, origin: str, challenge: Challenge,
                             host: str, port: int, proxy: bool, tried: set[str],
                             skip_cache: bool = False) -> tuple[str, str] | None:
        """``HttpAuthController::SelectNextAuthIdentityToTry``: URL, cache, then ``login``."""
        if not proxy and "url" not in tried and len(state.url_chain) <= 1:
            tried.add("url")
            identity = state.extra.get("url_identity")
            if identity is not None:
                return str(identity[0]), str(identity[1])
        if not skip_cache and "cache" not in tried:
            tried.add("cache")
            entry = self._auth_cache.lookup(origin, challenge.realm, challenge.scheme)
            if entry is not None:
                return entry.username, entry.password
        info = AuthInfo(is_proxy=proxy, scheme=challenge.scheme, host=host, port=port,
                        realm=challenge.realm)
        return await self._ask_login(state.url, info)

    async def _resend(self, state: RequestState, response: Response, header: str, value: str,
                      hop: Callable[[RequestState], Any]) -> Response:
        await _drain(response)
        if state.body is not None and not isinstance(state.body, (bytes, bytearray)):
            raise NetError("ERR_UPLOAD_STREAM_REWIND_NOT_SUPPORTED")
        state.headers[header] = value
        result: Response = await hop(state)
        return result


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _spnego_start(scheme: str, host: str, username: str | None,
                  password: str | None) -> tuple[str | None, _SpnegoRound | None]:
    try:
        spnego_round = _SpnegoRound(scheme, host, username, password)
        value = spnego_round.step("")
    except (SpnegoError, ValueError, OSError) as exc:  # no credentials here, or no provider
        log.info("%s authentication unavailable: %s", scheme, exc)
        return None, None
    return value, spnego_round


def _spnego_step(spnego_round: _SpnegoRound, token: str) -> str | None:
    try:
        return spnego_round.step(token)
    except (SpnegoError, ValueError, OSError) as exc:
        log.info("%s authentication failed: %s", spnego_round.scheme, exc)
        return None


async def _drain(response: Response) -> None:
    """Read and drop a challenge's body so its connection can serve the retry."""
    stream = response._stream
    if stream is None:
        return
    total = 0
    try:
        async for chunk in stream:
            total += len(chunk)
            if total > _DRAIN_LIMIT:
                response.close()
                return
    except NetError:
        response.close()


__all__ = [
    "ALLOWLIST",
    "AuthCache",
    "AuthEntry",
    "AuthInfo",
    "AuthSessionMixin",
    "AuthenticationResponseDetails",
    "Challenge",
    "basic_authorization",
    "choose_challenge",
    "digest_authorization",
    "parse_challenge",
    "remember_url_credentials",
]
