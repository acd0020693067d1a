"""Proxy configuration on a real Session: real pproxy servers, PAC over HTTP, a loopback DNS server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import trustme
from aiohttp import web
from proxy_fixtures import DnsServer, dns_server, free_port, pproxy, wait_for  # noqa: F401

from websession._errors import NetError, SessionError
from websession._proxy_session import ProxySessionMixin
from websession._session import Session
from websession._session_base import _CONSTRUCT

if issubclass(Session, ProxySessionMixin):
    ProxiedSession = Session
else:

    class ProxiedSession(ProxySessionMixin, Session):  # type: ignore[no-redef]
        """A stand-in: the Session with the proxy mixin, until Session's bases include it."""


@pytest.fixture
async def ses(tls_ca: trustme.CA) -> AsyncIterator[ProxiedSession]:
    session = ProxiedSession(_CONSTRUCT, "proxy-test", None, True)
    tls_ca.configure_trust(session._transport.ssl_context)
    session._host_resolver._hosts_path = None
    yield session
    await session.close()


@pytest.fixture
async def target(serve) -> AsyncIterator[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """An HTTP server on 127.0.0.1 recording the paths it served."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        return web.Response(text=f"hello {request.path_qs}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    yield await serve(app), seen


async def _text(ses: ProxiedSession, url: str) -> str:
    response = await ses.fetch(url)
    return await response.text()


# ----------------------------------------------------------------------------- modes and strings


async def test_modes_and_strings(ses: ProxiedSession) -> None:
    assert await ses.resolve_proxy("http://example.com/") == "DIRECT"
    await ses.set_proxy({"mode": "direct", "proxyRules": "http=myproxy:80"})
    assert await ses.resolve_proxy("http://example.com/") == "DIRECT"
    await ses.set_proxy(proxy_rules="http=myproxy:80")
    assert await ses.resolve_proxy("http://example.com/") == "PROXY myproxy:80"
    assert await ses.resolve_proxy("http://localhost/") == "DIRECT"
    await ses.set_proxy(proxy_rules="http=myproxy:80", proxy_bypass_rules="<-loopback>")
    assert await ses.resolve_proxy("http://localhost/") == "PROXY myproxy:80"
    await ses.set_proxy(proxy_rules="myproxy:80", proxy_bypass_rules="<local>")
    assert await ses.resolve_proxy("http://example/") == "DIRECT"
    await ses.set_proxy({"proxyRules": "http=foopy,socks5://bar.com,direct://"})
    assert await ses.resolve_proxy("http://x/") == "PROXY foopy:80;SOCKS5 bar.com:1080;DIRECT"
    await ses.set_proxy({"mode": "pac_script"})
    assert await ses.resolve_proxy("http://example.com/") == "DIRECT"
    await ses.set_proxy({})
    assert await ses.resolve_proxy("http://example.com/") == "DIRECT"
    assert await ses.resolve_proxy("not a url") == ""


async def test_bad_config_is_rejected_and_keeps_the_old_one(ses: ProxiedSession) -> None:
    await ses.set_proxy(proxy_rules="keep:1")
    with pytest.raises(SessionError, match="Invalid mode, must be one of direct, auto_detect"):
        await ses.set_proxy(mode="bogus")
    with pytest.raises(SessionError, match="proxyRules.*'ftp://x'"):
        await ses.set_proxy(proxy_rules="http=a:1,ftp://x")
    with pytest.raises(SessionError, match="proxyBypassRules.*'\\*.com:-443'"):
        await ses.set_proxy(proxy_rules="a:1", proxy_bypass_rules="*.com:-443")
    with pytest.raises(TypeError, match="proxyRules"):
        await ses.set_proxy(proxy_rules=5)
    with pytest.raises(TypeError, match="unknown option"):
        await ses.set_proxy(proxy_rulez="a:1")
    assert await ses.resolve_proxy("http://x/") == "PROXY keep:1"


async def test_system_mode_reads_the_environment(ses: ProxiedSession,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "auto_proxy", "SOCKS_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://envproxy:3128")
    monkeypatch.setenv("no_proxy", "skip.example")
    await ses.set_proxy(mode="system")
    assert await ses.resolve_proxy("http://a.example/") == "PROXY envproxy:3128"
    assert await ses.resolve_proxy("http://x.skip.example/") == "DIRECT"
    assert await ses.resolve_proxy("https://a.example/") == "DIRECT"
    monkeypatch.setenv("HTTPS_PROXY", "sproxy:8443")
    assert await ses.resolve_proxy("https://a.example/") == "DIRECT"
    await ses.force_reload_proxy_config()
    assert await ses.resolve_proxy("https://a.example/") == "PROXY sproxy:8443"


# ----------------------------------------------------------------------------- PAC


async def test_pac_over_http_and_reload(ses: ProxiedSession, serve) -> None:  # type: ignore[no-untyped-def]
    port = {"value": 8132}

    async def pac(request: web.Request) -> web.Response:
        body = f'function FindProxyForURL(url, host) {{ return "PROXY myproxy:{port["value"]}"; }}'
        return web.Response(text=body, content_type="application/x-ns-proxy-autoconfig")

    app = web.Application()
    app.router.add_get("/proxy.pac", pac)
    base = await serve(app)
    await ses.set_proxy(pac_script=base + "/proxy.pac")
    assert await ses.resolve_proxy("http://example.com/") == "PROXY myproxy:8132"
    port["value"] = 8133
    assert await ses.resolve_proxy("http://example.com/") == "PROXY myproxy:8132"
    await ses.force_reload_proxy_config()
    assert await ses.resolve_proxy("http://example.com/") == "PROXY myproxy:8133"
    # Localhost never goes to the PAC script.
    assert await ses.resolve_proxy("http://127.0.0.1/") == "DIRECT"


async def test_pac_sees_sanitized_urls_and_uses_the_session_resolver(
        ses: ProxiedSession, dns_server: DnsServer) -> None:  # noqa: F811
    dns_server.records[("inside.test", "A")] = (["10.20.30.40"], 300)
    ses._host_resolver.set_nameservers([dns_server.address])
    script = """
    function FindProxyForURL(url, host) {
      if (isInNet(host, "10.20.0.0", "255.255.0.0")) return "PROXY inner:1; DIRECT";
      if (!isResolvable(host)) return "SOCKS5 unresolvable:2";
      return "HTTPS " + url.replace(/[^a-z0-9]/g, "-") + ":443";
    }"""
    import urllib.parse

    await ses.set_proxy(pac_script="data:," + urllib.parse.quote(script))
    assert await ses.resolve_proxy("http://inside.test/a") == "PROXY inner:1;DIRECT"
    assert await ses.resolve_proxy("http://nowhere.test/a") == "SOCKS5 unresolvable:2"
    assert ("inside.test", "A") in dns_server.queries
    dns_server.records[("seen.test", "A")] = (["192.0.2.1"], 300)
    # https URLs reach the script without path or query (Chromium's SanitizeUrl).
    assert await ses.resolve_proxy("https://u:p@seen.test/secret?q=1#f") == "HTTPS https---seen-test-:443"
    assert await ses.resolve_proxy("http://seen.test/x?q=1#f") == "HTTPS http---seen-test-x-q-1:443"


@pytest.mark.parametrize("body", [
    'function FindProxyForURL(url, host) { throw new Error("boom"); }',
    "function FindProxyForURL(url, host) { for (;;) {} }",
    "this is not javascript",
    "var x = 1;",
])
async def test_failing_pac_is_contained(ses: ProxiedSession, body: str, target) -> None:  # type: ignore[no-untyped-def]
    import urllib.parse

    ses._proxy_state.pac_time_limit = 0.2
    await ses.set_proxy(pac_script="data:," + urllib.parse.quote(body))
    # pac_script is mandatory in Electron: no fallback to DIRECT.
    assert await ses.resolve_proxy("http://example.com/") == ""
    with pytest.raises(NetError) as info:
        await ses.fetch("http://example.com/")
    assert info.value.name == "net::ERR_MANDATORY_PROXY_CONFIGURATION_FAILED"
    # Loopback still works: the PAC script is not consulted for it.
    base, _ = target
    assert (await _text(ses, base + "/ok")) == "hello /ok"


async def test_unreachable_pac_and_auto_detect_fallback(ses: ProxiedSession, serve,  # type: ignore[no-untyped-def]
                                                        dns_server: DnsServer) -> None:  # noqa: F811
    await ses.set_proxy(pac_script=f"http://127.0.0.1:{free_port()}/none.pac")
    assert await ses.resolve_proxy("http://example.com/") == ""
    # auto_detect fetches http://wpad/wpad.dat through the session's resolver; it is not
    # mandatory, so without a script everything goes DIRECT.
    ses._host_resolver.set_nameservers([dns_server.address])
    await ses.set_proxy(mode="auto_detect")
    assert await ses.resolve_proxy("http://example.com/") == "DIRECT"
    assert ("wpad", "A") in dns_server.queries or ("wpad", "AAAA") in dns_server.queries

    async def wpad(request: web.Request) -> web.Response:
        return web.Response(text='function FindProxyForURL(u, h) { return "PROXY wpadproxy:80"; }')

    app = web.Application()
    app.router.add_get("/wpad.dat", wpad)
    base = await serve(app)
    dns_server.records[("wpad", "A")] = (["127.0.0.1"], 300)
    ses._proxy_state.wpad_url = f"http://wpad:{base.rsplit(':', 1)[1]}/wpad.dat"
    await ses.set_proxy(mode="auto_detect")
    assert await ses.resolve_proxy("http://example.com/") == "PROXY wpadproxy:80"


async def test_pac_from_file(ses: ProxiedSession, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.pac"
    path.write_text('function FindProxyForURL(u, h) { return "SOCKS s:1; QUIC q:2; HTTPS [::1]:3"; }')
    await ses.set_proxy(pac_script=path.as_uri())
    assert await ses.resolve_proxy("http://example.com/") == "SOCKS s:1;QUIC q:2;HTTPS [::1]:3"


# ----------------------------------------------------------------------------- real proxying


async def test_http_proxy_for_http_and_https(ses: ProxiedSession, pproxy, target, serve) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http")
    base, _seen = target
    await ses.set_proxy(proxy_rules=f"127.0.0.1:{proxy.port}", proxy_bypass_rules="<-loopback>")
    assert await ses.resolve_proxy(base) == f"PROXY 127.0.0.1:{proxy.port}"
    assert await _text(ses, base + "/one?x=1") == "hello /one?x=1"
    host_port = base.split("//")[1]
    await wait_for(lambda: proxy.connections() == [host_port])

    async def secure(request: web.Request) -> web.Response:
        return web.Response(text="secure")

    app = web.Application()
    app.router.add_get("/", secure)
    tls_base = await serve(app, tls=True)
    assert await _text(ses, tls_base + "/") == "secure"  # CONNECT tunnel, TLS inside
    await wait_for(lambda: len(proxy.connections()) == 2)
    assert proxy.connections()[1] == tls_base.split("//")[1]


async def test_https_proxy(ses: ProxiedSession, pproxy, target) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http", tls=True)
    base, seen = target
    await ses.set_proxy(proxy_rules=f"https://127.0.0.1:{proxy.port}",
                        proxy_bypass_rules="<-loopback>")
    assert await ses.resolve_proxy(base) == f"HTTPS 127.0.0.1:{proxy.port}"
    assert await _text(ses, base + "/via-tls") == "hello /via-tls"
    await wait_for(lambda: len(proxy.connections()) == 1)
    assert seen == ["/via-tls"]


async def test_socks5_resolves_names_at_the_proxy(ses: ProxiedSession, pproxy, target,  # type: ignore[no-untyped-def]  # noqa: F811
                                                  dns_server: DnsServer) -> None:  # noqa: F811
    name = socket.gethostname()
    try:
        addresses = {i[4][0] for i in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        pytest.skip("the host name does not resolve on this machine")
    if not addresses <= {"127.0.0.1", "127.0.1.1"}:
        pytest.skip("the host name does not resolve to loopback here")
    proxy = pproxy("socks5")
    base, _seen = target
    port = base.rsplit(":", 1)[1]
    # The session itself cannot resolve the name (its DNS server says NXDOMAIN): only the
    # proxy can, which is what SOCKS5 with remote DNS means.
    ses._host_resolver.set_nameservers([dns_server.address])
    await ses.set_proxy(proxy_rules=f"socks5://127.0.0.1:{proxy.port}")
    url = f"http://{name}:{port}/remote-dns"
    assert await ses.resolve_proxy(url) == f"SOCKS5 127.0.0.1:{proxy.port}"
    assert await _text(ses, url) == "hello /remote-dns"
    await wait_for(lambda: proxy.connections() == [f"{name}:{port}"])
    assert (name.lower(), "A") not in dns_server.queries


async def test_socks4_resolves_names_locally(ses: ProxiedSession, pproxy, target,  # type: ignore[no-untyped-def]  # noqa: F811
                                             dns_server: DnsServer) -> None:  # noqa: F811
    proxy = pproxy("socks4")
    base, _seen = target
    port = base.rsplit(":", 1)[1]
    dns_server.records[("target.test", "A")] = (["127.0.0.1"], 300)
    ses._host_resolver.set_nameservers([dns_server.address])
    await ses.set_proxy(proxy_rules=f"socks4://127.0.0.1:{proxy.port}")
    assert await ses.resolve_proxy(f"http://target.test:{port}/") == f"SOCKS 127.0.0.1:{proxy.port}"
    assert await _text(ses, f"http://target.test:{port}/s4") == "hello /s4"
    await wait_for(lambda: proxy.connections() == [f"127.0.0.1:{port}"])
    assert ("target.test", "A") in dns_server.queries


async def test_per_scheme_rules_route_to_the_right_proxy(ses: ProxiedSession, pproxy, target,  # type: ignore[no-untyped-def]  # noqa: F811
                                                         serve) -> None:
    http_proxy = pproxy("http")
    socks_proxy = pproxy("socks5")
    base, _seen = target

    async def secure(request: web.Request) -> web.Response:
        return web.Response(text="tls")

    app = web.Application()
    app.router.add_get("/", secure)
    tls_base = await serve(app, tls=True)
    await ses.set_proxy(
        proxy_rules=f"http=127.0.0.1:{http_proxy.port};socks=socks5://127.0.0.1:{socks_proxy.port}",
        proxy_bypass_rules="<-loopback>")
    assert await _text(ses, base + "/h") == "hello /h"
    assert await _text(ses, tls_base + "/") == "tls"
    await wait_for(lambda: len(http_proxy.connections()) == 1 and len(socks_proxy.connections()) == 1)
    assert http_proxy.connections() == [base.split("//")[1]]
    assert socks_proxy.connections() == [tls_base.split("//")[1]]


async def test_bypass_rules_hold(ses: ProxiedSession, pproxy, target) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http")
    base, seen = target
    port = base.rsplit(":", 1)[1]
    await ses.set_proxy(proxy_rules=f"127.0.0.1:{proxy.port}",
                        proxy_bypass_rules=f"<-loopback>, 127.0.0.1:{port}")
    assert await ses.resolve_proxy(base) == "DIRECT"
    assert await _text(ses, base + "/direct") == "hello /direct"
    assert seen == ["/direct"]
    assert proxy.connections() == []


async def test_fallback_and_bad_proxy_memory(ses: ProxiedSession, pproxy, target) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http")
    dead = free_port()
    base, _seen = target
    await ses.set_proxy(proxy_rules=f"127.0.0.1:{dead},127.0.0.1:{proxy.port}",
                        proxy_bypass_rules="<-loopback>")
    assert await ses.resolve_proxy(base) == f"PROXY 127.0.0.1:{dead};PROXY 127.0.0.1:{proxy.port}"
    assert await _text(ses, base + "/fb") == "hello /fb"
    await wait_for(lambda: len(proxy.connections()) == 1)
    # The dead proxy is remembered as bad and tried last from now on.
    assert await ses.resolve_proxy(base) == f"PROXY 127.0.0.1:{proxy.port};PROXY 127.0.0.1:{dead}"
    assert ses._proxy_state.connect.bad_proxies() == {
        f"PROXY 127.0.0.1:{dead}": "net::ERR_PROXY_CONNECTION_FAILED"}
    # After the retry delay it is tried first again.
    ses._proxy_state.connect.clock = lambda: 10**9
    assert await ses.resolve_proxy(base) == f"PROXY 127.0.0.1:{dead};PROXY 127.0.0.1:{proxy.port}"

    await ses.set_proxy(proxy_rules=f"127.0.0.1:{free_port()},direct://",
                        proxy_bypass_rules="<-loopback>")
    assert await _text(ses, base + "/direct-fallback") == "hello /direct-fallback"

    await ses.set_proxy(proxy_rules=f"127.0.0.1:{free_port()}", proxy_bypass_rules="<-loopback>")
    with pytest.raises(NetError) as info:
        await ses.fetch(base + "/nowhere")
    assert info.value.name == "net::ERR_PROXY_CONNECTION_FAILED"


async def test_pac_routes_through_a_real_proxy(ses: ProxiedSession, pproxy, target,  # type: ignore[no-untyped-def]  # noqa: F811
                                               dns_server: DnsServer, serve) -> None:  # noqa: F811
    proxy = pproxy("socks4")
    base, _seen = target
    port = base.rsplit(":", 1)[1]
    dns_server.records[("pac-target.test", "A")] = (["127.0.0.1"], 300)
    ses._host_resolver.set_nameservers([dns_server.address])

    async def pac(request: web.Request) -> web.Response:
        return web.Response(text=(
            "function FindProxyForURL(url, host) {"
            f" if (host == 'pac-target.test') return 'SOCKS 127.0.0.1:{proxy.port}; DIRECT';"
            " return 'DIRECT'; }"))

    app = web.Application()
    app.router.add_get("/p.pac", pac)
    pac_base = await serve(app)
    await ses.set_proxy(pac_script=pac_base + "/p.pac")
    assert await _text(ses, f"http://pac-target.test:{port}/via-pac") == "hello /via-pac"
    await wait_for(lambda: proxy.connections() == [f"127.0.0.1:{port}"])


async def test_proxy_login_event(ses: ProxiedSession, pproxy, target) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proxy = pproxy("http", auth="dave:pw")
    base, _seen = target
    calls: list[tuple[dict, dict]] = []

    def on_login(event, details, auth_info, callback) -> None:  # type: ignore[no-untyped-def]
        calls.append((details, auth_info))
        event.prevent_default()
        callback("dave", "pw")

    ses.on("login", on_login)
    await ses.set_proxy(proxy_rules=f"127.0.0.1:{proxy.port}", proxy_bypass_rules="<-loopback>")
    assert await _text(ses, base + "/login") == "hello /login"
    assert calls and calls[0][1]["isProxy"] is True and calls[0][1]["realm"] == "simple"
    assert calls[0][0]["url"] == base + "/login"
