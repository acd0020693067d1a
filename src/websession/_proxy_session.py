"""The Session's proxy and DNS methods: ``set_proxy``, ``resolve_proxy``, ``resolve_host``...

Electron: ``shell/browser/api/electron_api_session.cc`` (SetProxy, ResolveProxy, ResolveHost,
ClearHostResolverCache, ForceReloadProxyConfig) and ``resolve_proxy_helper.cc``; Chromium's
``ProxyResolutionServiceImpl`` for how a configuration turns into a proxy list.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ._errors import NetError, SessionError
from ._host_resolver import HostResolver, ResolvedHost
from ._options import Opt, options
from ._pac import PacEngine, PacScriptError, fetch_script
from ._proxy_connect import ProxyConnectState
from ._proxy_rules import (
    DIRECT_SERVER,
    INVALID_MODE,
    MODES,
    WPAD_URL,
    ProxyConfig,
    ProxyList,
    ProxyServer,
    config_from_electron,
    config_from_environment,
    host_no_brackets,
    matches_implicit,
    split_url,
)

log = logging.getLogger("websession.proxy")

_SET_PROXY = {
    "mode": Opt(str),
    "pac_script": Opt(str),
    "proxy_rules": Opt(str),
    "proxy_bypass_rules": Opt(str),
}
_RESOLVE_HOST = {
    "query_type": Opt(object),
    "source": Opt(object),
    "cache_usage": Opt(object),
    "secure_dns_policy": Opt(object),
}
_CRYPTOGRAPHIC = ("https", "wss")


@dataclass
class ProxyState:
    """Everything the session knows about its proxy configuration."""

    config: ProxyConfig = field(default_factory=ProxyConfig)
    mode: str = "system_default"
    wpad_url: str = WPAD_URL
    pac_time_limit: float = 1.0
    engine: PacEngine | None = None
    pac_failure: NetError | None = None
    loading: asyncio.Task[None] | None = None
    connect: ProxyConnectState = field(default_factory=ProxyConnectState)
    resolve_lock: asyncio.Lock | None = None
    generation: int = 0
    # Fixed rules depend only on scheme, host and port: their answer per origin is kept until
    # the configuration changes.
    by_origin: dict[str, ProxyList] = field(default_factory=dict)


class ProxySessionMixin:
    """Proxy configuration, proxy resolution and host resolution for a Session."""

    _proxy_state: ProxyState
    _host_resolver: HostResolver

    def _setup_proxy(self) -> None:
        self._host_resolver = HostResolver()
        self._proxy_state = ProxyState()
        self._proxy_direct = True
        transport = getattr(self, "_transport", None)
        if transport is not None:
            transport.resolver = self._host_resolver

    async def _teardown_proxy(self) -> None:
        state = self._proxy_state
        self._drop_engine()
        await state.connect.close()
        await self._host_resolver.close()

    # -- configuration ---------------------------------------------------------------------------

    async def set_proxy(self, *args: Any, **kwargs: Any) -> None:
        """Set the proxy configuration (Electron's ``ProxyConfig``; kwargs or a camelCase dict)."""
        given = options("setProxy", _SET_PROXY, args, kwargs)
        mode = given.get("mode")
        pac_script = given.get("pac_script", "")
        proxy_rules = given.get("proxy_rules", "")
        bypass = given.get("proxy_bypass_rules", "")
        if mode is not None and mode not in MODES:
            raise SessionError(INVALID_MODE)
        if mode is None:
            mode = "pac_script" if pac_script else "fixed_servers"
        try:
            config = config_from_electron(mode, pac_script, proxy_rules, bypass, strict=True)
        except ValueError as error:
            raise SessionError(str(error)) from None
        state = self._proxy_state
        self._drop_engine()
        state.config = config
        state.by_origin.clear()
        self._proxy_direct = self._always_direct()
        state.mode = mode
        state.generation += 1
        await asyncio.sleep(0)  # Electron resolves on the next task

    def _drop_engine(self) -> None:
        state = self._proxy_state
        if state.loading is not None and not state.loading.done():
            state.loading.cancel()
        state.loading = None
        if state.engine is not None:
            state.engine.close()
        state.engine = None
        state.pac_failure = None

    async def force_reload_proxy_config(self) -> None:
        """Re-read the configuration: re-fetch the PAC script, re-read the environment."""
        state = self._proxy_state
        if state.mode == "system":
            state.config = config_from_environment(dict(os.environ))
            state.by_origin.clear()
            self._proxy_direct = self._always_direct()
        self._drop_engine()
        if state.config.has_automatic_settings:
            await self._ensure_pac()

    # -- PAC -------------------------------------------------------------------------------------

    def _pac_url(self) -> str:
        config = self._proxy_state.config
        return config.pac_url or (self._proxy_state.wpad_url if config.auto_detect else "")

    async def _ensure_pac(self) -> None:
        state = self._proxy_state
        if state.engine is not None or state.pac_failure is not None:
            return
        if state.loading is None:
            state.loading = asyncio.ensure_future(self._load_pac(state.generation))
        await asyncio.shield(state.loading)

    async def _load_pac(self, generation: int) -> None:
        state = self._proxy_state
        resolver = self._host_resolver
        url = self._pac_url()
        transport = getattr(self, "_transport", None)
        ssl_context = getattr(transport, "ssl_context", None)
        try:
            script = await fetch_script(url, resolver=resolver, ssl_context=ssl_context)

            async def lookup(host: str) -> list[str]:
                return list(await resolver.lookup(host, query_type="A"))

            async def lookup_ex(host: str) -> list[str]:
                return list(await resolver.lookup(host))

            engine = PacEngine(script, lookup=lookup, lookup_ex=lookup_ex,
                               time_limit=state.pac_time_limit)
            try:
                await engine.load()
            except BaseException:
                engine.close()
                raise
        except NetError as exc:
            log.warning("PAC script %s could not be used: %s", url, exc)
            if generation == state.generation:
                state.pac_failure = exc
            return
        if generation == state.generation:
            state.engine = engine
        else:
            engine.close()

    # -- resolution ------------------------------------------------------------------------------

    async def _proxy_list(self, url: str) -> ProxyList:
        """Return the proxies for ``url``; a mandatory PAC failure raises :class:`NetError`."""
        state = self._proxy_state
        if not state.config.has_automatic_settings:
            authority_end = url.find("/", url.find("://") + 3)
            origin = url if authority_end == -1 else url[:authority_end]
            found = state.by_origin.get(origin)
            if found is None:
                found = self._rules_list(url)
                if len(state.by_origin) >= 4096:
                    state.by_origin.clear()
                state.by_origin[origin] = found
            return found
        parts = split_url(url)
        if parts is None:
            raise NetError("ERR_INVALID_URL")
        config = state.config
        direct = ProxyList([DIRECT_CHAIN])
        # ProxyResolutionServiceImpl: localhost and link-local never go to the PAC script.
        if matches_implicit(parts.host):
            return direct
        await self._ensure_pac()
        engine = state.engine
        if engine is None:
            if config.pac_mandatory:
                raise NetError("ERR_MANDATORY_PROXY_CONFIGURATION_FAILED")
            return config.rules.apply(parts)[0]
        # SanitizeUrl: no credentials or fragment; no path or query for https/wss.
        spec = parts.spec(strip_path=parts.scheme in _CRYPTOGRAPHIC)
        try:
            result = await engine.find_proxy(spec, host_no_brackets(parts.host))
        except PacScriptError:
            if config.pac_mandatory:
                raise NetError("ERR_MANDATORY_PROXY_CONFIGURATION_FAILED") from None
            return direct
        return ProxyList.from_pac_string(result.result)

    def _rules_list(self, url: str) -> ProxyList:
        parts = split_url(url)
        if parts is None:
            raise NetError("ERR_INVALID_URL")
        found: ProxyList = self._proxy_state.config.rules.apply(parts)[0]
        return found

    def _always_direct(self) -> bool:
        """Tell whether every request goes direct (no rules, no PAC): the transport's fast path."""
        config = self._proxy_state.config
        return not config.has_automatic_settings and config.rules.empty

    async def proxy_servers_for(self, url: str) -> list[ProxyServer]:
        """Return the proxies to try for ``url``, bad ones last (DIRECT is a ProxyServer too)."""
        found = await self._proxy_list(url)
        return self._proxy_state.connect.order(found.servers() or [DIRECT_SERVER])

    async def resolve_proxy(self, url: str) -> str:
        """Return Chromium's PAC-style string for ``url`` (``"PROXY h:p;DIRECT"``), ``""`` on failure."""
        if not isinstance(url, str):
            raise TypeError("resolve_proxy: url must be a string")
        state = self._proxy_state
        if state.resolve_lock is None:
            state.resolve_lock = asyncio.Lock()
        async with state.resolve_lock:  # Electron's ResolveProxyHelper answers in FIFO order
            try:
                servers = await self.proxy_servers_for(url)
            except NetError:
                return ""
        return ";".join(s.to_pac() for s in servers)

    async def _proxy_login(self, url: str, auth_info: dict[str, Any]) -> tuple[str, str] | None:
        """Ask the session's ``'login'`` listeners for proxy credentials (Electron's ``login``)."""
        from ._auth import AuthInfo
        from ._naming import snake_case

        fields = {snake_case(k): v for k, v in auth_info.items()}
        info = AuthInfo(**{k: fields[k] for k in ("is_proxy", "scheme", "host", "port", "realm") if k in fields})
        asker: Any = self
        result: tuple[str, str] | None = await asker._ask_login(url, info)
        return result

    # -- host resolution -------------------------------------------------------------------------

    async def resolve_host(self, host: str, *args: Any, **kwargs: Any) -> ResolvedHost:
        """Resolve ``host`` through the session's resolver (``ses.resolveHost``)."""
        if not isinstance(host, str):
            raise TypeError("resolve_host: host must be a string")
        given = options("resolveHost", _RESOLVE_HOST, args, kwargs)
        return await self._host_resolver.resolve_host(
            host,
            query_type=given.get("query_type"),
            source=given.get("source", "any"),
            cache_usage=given.get("cache_usage", "allowed"),
            secure_dns_policy=given.get("secure_dns_policy", "allow"),
        )

    async def clear_host_resolver_cache(self) -> None:
        """Empty the session's host cache."""
        self._host_resolver.clear()
        await asyncio.sleep(0)


DIRECT_CHAIN = ProxyList.from_pac_string("DIRECT").chains[0]
