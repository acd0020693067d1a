"""HTTP authentication against real aiohttp servers: Basic, Digest, the cache, ``login``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from proxy_fixtures import pproxy  # noqa: F401

from websession._auth import (
    Challenge,
    digest_authorization,
    parse_challenge,
)


def basic_app(seen: list[str | None], user: str = "alice", password: str = "s3cret",
              realm: str = "Zone") -> web.Application:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        seen.append(header)
        if header != expected:
            return web.Response(status=401, text="denied",
                                headers={"WWW-Authenticate": f'Basic realm="{realm}"'})
        return web.Response(text="welcome " + request.path)

    app.router.add_get("/{tail:.*}", handler)
    return app


def digest_app(seen: list[str | None], *, algorithm: str = "MD5", user: str = "bob",
               password: str = "pw", realm: str = "digest@test", stale_once: bool = False,
               proxy: bool = False) -> web.Application:
    app = web.Application()
    h = (lambda t: hashlib.md5(t.encode()).hexdigest()) if algorithm.startswith("MD5") else (
        lambda t: hashlib.sha256(t.encode()).hexdigest())
    nonces = {"current": os.urandom(8).hex()}
    state = {"stale_sent": False}
    ask_header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    answer_header = "Proxy-Authorization" if proxy else "Authorization"

    def challenge(stale: bool = False) -> web.Response:
        value = (f'Digest realm="{realm}", qop="auth", algorithm={algorithm}, '
                 f'nonce="{nonces["current"]}", opaque="xyz"')
        if stale:
            value += ", stale=true"
        return web.Response(status=407 if proxy else 401, headers={ask_header: value})

    async def handler(request: web.Request) -> web.Response:
        header = request.headers.get(answer_header)
        seen.append(header)
        if not header or not header.startswith("Digest "):
            return challenge()
        parsed = parse_challenge(header)
        assert parsed is not None
        p = parsed.params
        if p.get("nonce") != nonces["current"]:
            return challenge(stale=True)
        ha1 = h(f"{user}:{realm}:{password}")
        if algorithm.endswith("-sess"):
            ha1 = h(f"{ha1}:{p['nonce']}:{p['cnonce']}")
        ha2 = h(f"{request.method}:{p['uri']}")
        good = h(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        if p.get("username") != user or p.get("response") != good or p["uri"] != request.path_qs:
            return challenge()
        if stale_once and not state["stale_sent"]:
            state["stale_sent"] = True
            nonces["current"] = os.urandom(8).hex()
            return challenge(stale=True)
        return web.Response(text="digest ok")

    app.router.add_get("/{tail:.*}", handler)
    return app


def answer_login(ses: Any, answers: list[tuple[str, str] | None], asked: list[Any]) -> None:
    def on_login(event: Any, details: Any, auth_info: Any, callback: Any) -> None:
        # (the proxy path still hands plain dicts; Electron's keys work on both)
        info = auth_info.to_dict() if hasattr(auth_info, "to_dict") else dict(auth_info)
        asked.append((details["url"], info))
        event.prevent_default()
        given_answer = answers.pop(0) if answers else None
        if given_answer is None:
            callback()
        else:
            callback(*given_answer)

    ses.on("login", on_login)


async def test_basic_through_login_then_cache(ses, serve) -> None:  # type: ignore[no-untyped-def]
    seen: list[str | None] = []
    base = await serve(basic_app(seen))
    asked: list[Any] = []
    answer_login(ses, [("alice", "s3cret")], asked)
    response = await ses.fetch(base + "/dir/page")
    assert response.status == 200 and await response.text() == "welcome /dir/page"
    url, info = asked[0]
    assert url == base + "/dir/page"
    port = int(base.rsplit(":", 1)[1])
    assert info == {"isProxy": False, "scheme": "basic", "host": "127.0.0.1", "port": port,
                    "realm": "Zone"}
    # the cache answers preemptively under the same directory: no 401, no new prompt
    seen.clear()
    response = await ses.fetch(base + "/dir/other")
    assert response.status == 200
    assert len(seen) == 1 and seen[0] is not None
    assert len(asked) == 1
    # outside the protected path: no preemptive credentials, but the cached identity answers
    seen.clear()
    response = await ses.fetch(base + "/elsewhere")
    assert response.status == 200 and seen[0] is None and len(asked) == 1
    await ses.clear_auth_cache()
    seen.clear()
    response = await ses.fetch(base + "/dir/page")
    assert response.status == 401 and len(asked) == 2  # asked again, cancelled this time


async def test_cancelled_login_returns_the_401(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    asked: list[Any] = []
    answer_login(ses, [None], asked)
    response = await ses.fetch(base + "/x")
    assert response.status == 401 and await response.text() == "denied"
    assert len(asked) == 1


async def test_no_listener_returns_the_401(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    response = await ses.fetch(base + "/x")
    assert response.status == 401


async def test_listener_without_prevent_default_cancels(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    ses.on("login", lambda event, details, info, callback: None)
    response = await ses.fetch(base + "/x")
    assert response.status == 401


async def test_wrong_password_asks_again(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    asked: list[Any] = []
    answer_login(ses, [("alice", "wrong"), ("alice", "nope"), ("alice", "s3cret")], asked)
    response = await ses.fetch(base + "/x")
    assert response.status == 200 and len(asked) == 3


async def test_wrong_password_forever_is_bounded(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    asked: list[Any] = []

    def on_login(event: Any, details: Any, info: Any, callback: Any) -> None:
        asked.append(1)
        event.prevent_default()
        callback("alice", "wrong")

    ses.on("login", on_login)
    response = await ses.fetch(base + "/x")
    assert response.status == 401 and 1 < len(asked) <= 8


async def test_url_credentials(ses, serve) -> None:  # type: ignore[no-untyped-def]
    seen: list[str | None] = []
    base = await serve(basic_app(seen))
    with_credentials = base.replace("http://", "http://alice:s3cret@")
    response = await ses.fetch(with_credentials + "/p")
    assert response.status == 200
    assert seen[0] is None  # not sent before the challenge


async def test_credentials_omit_never_authenticates(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))
    asked: list[Any] = []
    answer_login(ses, [("alice", "s3cret")], asked)
    response = await ses.fetch(base + "/x", credentials="omit")
    assert response.status == 401 and asked == []


async def test_async_login_listener(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(basic_app([]))

    async def on_login(event: Any, details: Any, info: Any, callback: Any) -> None:
        event.prevent_default()
        await asyncio.sleep(0.01)
        callback("alice", "s3cret")

    ses.on("login", on_login)
    response = await ses.fetch(base + "/x")
    assert response.status == 200


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
async def test_digest(ses, serve, algorithm) -> None:  # type: ignore[no-untyped-def]
    seen: list[str | None] = []
    base = await serve(digest_app(seen, algorithm=algorithm))
    asked: list[Any] = []
    answer_login(ses, [("bob", "pw")], asked)
    response = await ses.fetch(base + "/d/x?q=1")
    assert response.status == 200 and await response.text() == "digest ok"
    assert asked[0][1]["scheme"] == "digest" and asked[0][1]["realm"] == "digest@test"
    seen.clear()
    response = await ses.fetch(base + "/d/y")  # preemptive, next nonce count
    assert response.status == 200 and len(seen) == 1 and "nc=00000002" in str(seen[0])


async def test_digest_stale_nonce_retries_without_asking(ses, serve) -> None:  # type: ignore[no-untyped-def]
    base = await serve(digest_app([], stale_once=True))
    asked: list[Any] = []
    answer_login(ses, [("bob", "pw")], asked)
    response = await ses.fetch(base + "/x")
    assert response.status == 200 and len(asked) == 1


async def test_proxy_digest_407(ses, serve) -> None:  # type: ignore[no-untyped-def]
    # A server answering like an HTTP proxy that wants Digest credentials.
    base = await serve(digest_app([], proxy=True))
    asked: list[Any] = []
    answer_login(ses, [("bob", "pw")], asked)
    response = await ses.fetch(base + "/x")
    assert response.status == 200
    assert asked[0][1]["isProxy"] is True and asked[0][1]["scheme"] == "digest"


async def test_strongest_scheme_wins(ses) -> None:  # type: ignore[no-untyped-def]
    from websession._auth import choose_challenge, digest_supported

    lines = ['Basic realm="a"', 'Digest realm="b", nonce="n", qop="auth"', 'Bogus x=y']
    best = choose_challenge(lines, lambda c: c.scheme != "digest" or digest_supported(c))
    assert best is not None and best.scheme == "digest"
    lines = ['Basic realm="a"', 'Digest realm="b", nonce="n", algorithm=UNKNOWN']
    best = choose_challenge(lines, lambda c: c.scheme != "digest" or digest_supported(c))
    assert best is not None and best.scheme == "basic"


def test_digest_rfc7616_example() -> None:
    # RFC 7616 §3.9.1, SHA-256 and MD5 responses for Mufasa / Circle of Life.
    challenge = Challenge("digest", {
        "realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": "SHA-256",
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "opaque":
        "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"})
    value = digest_authorization(challenge, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1,
                                 cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert 'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"' in value
    challenge = challenge.__class__("digest", {**challenge.params, "algorithm": "MD5"})
    value = digest_authorization(challenge, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1,
                                 cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert 'response="8ca523f5e9506fed4657c9700eebdbec"' in value


def test_parse_challenge() -> None:
    c = parse_challenge('Digest realm="a, \\"b\\"", nonce=abc , qop="auth,auth-int"')
    assert c is not None and c.scheme == "digest"
    assert c.params == {"realm": 'a, "b"', "nonce": "abc", "qop": "auth,auth-int"}
    c = parse_challenge("NTLM TlRMTVNTUAACAAAA==")
    assert c is not None and c.scheme == "ntlm" and c.token == "TlRMTVNTUAACAAAA=="
    assert parse_challenge("   ") is None


@given(st.text(max_size=200))
def test_parse_challenge_never_raises(text: str) -> None:
    parse_challenge(text)


async def test_allowlist_pattern_syntax(ses) -> None:  # type: ignore[no-untyped-def]
    from websession._auth import ambient_allowed

    try:
        ses.allowNTLMCredentialsForDomains("*example.com, *foobar.com, *baz")
        assert ambient_allowed("https://intranet.example.com/x")
        assert ambient_allowed("http://foobar.com/")
        assert ambient_allowed("http://a.baz/")
        assert not ambient_allowed("http://example.org/")
        ses.allow_ntlm_credentials_for_domains("*")
        assert ambient_allowed("http://anything.test/")
        with pytest.raises(TypeError):
            ses.allow_ntlm_credentials_for_domains(None)
    finally:
        ses.allow_ntlm_credentials_for_domains("")
    assert not ambient_allowed("http://anything.test/")


def ntlm_app(seen: list[str | None]) -> web.Application:
    """An NTLM server (pyspnego acceptor, credentials from NTLM_USER_FILE), per connection."""
    import spnego

    app = web.Application()
    contexts: dict[int, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        seen.append(header)
        key = id(request.transport)
        if not header or not header.startswith("NTLM "):
            return web.Response(status=401, headers={"WWW-Authenticate": "NTLM"})
        context = contexts.get(key)
        if context is None:
            context = contexts[key] = spnego.server(protocol="ntlm")
        try:
            out = context.step(base64.b64decode(header[5:]))
        except Exception:  # noqa: BLE001 - any failure is a refused handshake
            contexts.pop(key, None)
            return web.Response(status=401, headers={"WWW-Authenticate": "NTLM"})
        if not context.complete:
            assert out is not None
            return web.Response(status=401, headers={
                "WWW-Authenticate": "NTLM " + base64.b64encode(out).decode()})
        return web.Response(text="ntlm ok " + str(context.client_principal))

    app.router.add_get("/{tail:.*}", handler)
    return app


@pytest.fixture
def ntlm_user_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ntlm_users"
    path.write_text("DOMAIN:carol:hunter2\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(path))


async def test_ntlm_with_login_credentials(ses, serve, ntlm_user_file) -> None:  # type: ignore[no-untyped-def]
    base = await serve(ntlm_app([]))
    asked: list[Any] = []
    answer_login(ses, [("DOMAIN\\carol", "hunter2")], asked)
    response = await ses.fetch(base + "/n")
    assert response.status == 200 and "carol" in await response.text()
    assert asked[0][1]["scheme"] == "ntlm"


async def test_ntlm_with_process_credentials_for_allowed_domains(ses, serve, ntlm_user_file) -> None:  # type: ignore[no-untyped-def]
    base = await serve(ntlm_app([]))
    asked: list[Any] = []
    answer_login(ses, [None], asked)
    response = await ses.fetch(base + "/n")
    assert response.status == 401 and len(asked) == 1  # not allowed: asked, cancelled
    try:
        ses.allow_ntlm_credentials_for_domains("127.0.0.1")
        response = await ses.fetch(base + "/n")
        assert response.status == 200 and "carol" in await response.text()
        assert len(asked) == 1  # the process's credentials, no prompt
    finally:
        ses.allow_ntlm_credentials_for_domains("")


async def test_proxy_basic_through_login(ses, serve, pproxy) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = await serve(basic_app([], user="alice", password="s3cret"))
    proxy = pproxy("http", auth="puser:ppass")
    await ses.set_proxy(proxy_rules=f"http://127.0.0.1:{proxy.port}",
                        proxy_bypass_rules="<-loopback>")
    asked: list[Any] = []
    answer_login(ses, [("puser", "ppass"), ("alice", "s3cret")], asked)
    response = await ses.fetch(base + "/through")
    assert response.status == 200 and await response.text() == "welcome /through"
    assert [a[1]["isProxy"] for a in asked] == [True, False]
