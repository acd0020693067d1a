"""``ses.cookies``: Electron's API, the 'changed' event, persistence, kill -9, interchange.

Every test uses the real Session: conftest's ``ses`` (in memory, per core implementation), or
``session.from_path`` for a persistent one (in child processes too).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from websession import session
from websession._cookie_jar import CookieJar, SQLiteCookieBackend
from websession._cookies import Cookie, loads
from websession._errors import SessionError

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _memory_session() -> Any:
    return session.from_partition(f"cookies-{uuid.uuid4().hex}")


async def test_set_get_and_cookie_shape(ses: Any) -> None:
    c = ses.cookies
    await c.set({"url": "https://example.com/a/b", "name": "n", "value": "v"})
    [cookie] = await c.get({})
    assert cookie.to_dict() == {
        "name": "n", "value": "v", "domain": "example.com", "hostOnly": True, "path": "/a",
        "secure": False, "httpOnly": False, "session": True, "sameSite": "lax",
    }  # fmt: skip
    assert cookie.sameSite == "lax" and cookie["hostOnly"] is True
    await c.set(url="https://example.com/", name="p", value="1", domain="example.com",
                expiration_date=time.time() + 100, same_site="no_restriction")  # fmt: skip
    [p] = await c.get(name="p")
    assert p.domain == ".example.com" and p.secure and not p.session and p.expiration_date


async def test_get_filters(ses: Any) -> None:
    c = ses.cookies
    await c.set(url="https://example.com/", name="a", value="1", domain="example.com")
    await c.set(url="https://example.com/", name="b", value="1", http_only=True, path="/x")
    await c.set(url="https://127.0.0.1/", name="c", value="1")
    names = lambda cs: sorted(x.name for x in cs)
    assert names(await c.get(domain="b.example.com")) == ["a"]
    assert names(await c.get(domain="example.com")) == ["a", "b"]
    assert names(await c.get(domain="otherexample.com")) == []
    assert names(await c.get(domain="127.0.0.2")) == []
    assert names(await c.get(url="https://www.example.com/")) == ["a"]
    assert [x.name for x in await c.get(url="https://example.com/x/y")] == ["b", "a"]  # longer path first
    assert names(await c.get(http_only=True)) == ["b"]
    assert names(await c.get(path="/x")) == ["b"]
    assert names(await c.get({"httpOnly": False, "session": True})) == ["a", "c"]
    with pytest.raises(TypeError, match="bogus"):
        await c.get(bogus=1)


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"name": "x"}, "Missing required option 'url'"),
        ({"url": "https://e.com", "sameSite": "bogus"},
         "Failed to convert 'bogus' to an appropriate cookie same site value"),
        ({"url": "", "name": "a"}, "Failed to set cookie - The cookie was set with an invalid Domain attribute."),
        ({"url": "asdf", "name": "a"}, "Failed to set cookie - The cookie was set with an invalid Domain attribute."),
        ({"url": "https://electronjs.org", "name": "a", "value": "1", "domain": "wssss.iamabaddomain.fun"},
         "Failed to set cookie - The cookie was set with an invalid Domain attribute.EXCLUDE_INVALID_DOMAIN, DO_NOT_WARN, NO_EXEMPTION"),
        ({"url": "https://e.com", "name": "a", "value": "test;test"},
         "Failed to set cookie - The cookie contains ASCII control characters"),
        ({"url": "http://e.com", "name": "a", "value": "1", "secure": True},
         "Failed to set cookie - The cookie was Secure, but the URL was not allowed"),
        ({"url": "https://e.com", "name": "__Host-a", "value": "1", "secure": True, "path": "/x"},
         "Failed to set cookie - The cookie was set with an invalid __Host- or __Secure- prefix."),
    ],
)  # fmt: skip
async def test_set_errors(ses: Any, details: dict[str, Any], message: str) -> None:
    c = ses.cookies
    await c.set(url="https://e.com/", name="keep", value="1")
    with pytest.raises(SessionError) as info:
        await c.set(details)
    assert str(info.value).startswith(message)
    assert [x.name for x in await c.get({})] == ["keep"]  # nothing lost


async def test_overwrite_rules_from_the_api(ses: Any) -> None:
    c = ses.cookies
    await c.set(url="https://e.com/", name="h", value="1", http_only=True)
    with pytest.raises(SessionError, match="would have overwritten an HttpOnly cookie"):
        await c.set(url="https://e.com/", name="h", value="2")
    await c.set(url="https://e.com/", name="s", value="1", secure=True)
    with pytest.raises(SessionError, match="would have overwritten a Secure cookie"):
        await c.set(url="http://e.com/", name="s", value="2")
    await c.set(url="http://127.0.0.1/", name="t", value="1", secure=True)  # trustworthy
    assert [x.value for x in await c.get(name="s")] == ["1"]


async def test_changed_events_in_order(ses: Any) -> None:
    c = ses.cookies
    seen: list[tuple[str, str, str, bool]] = []
    c.on("changed", lambda ev, cookie, cause, removed: seen.append(
        (type(ev).__name__, cookie.value, cause, removed)))  # fmt: skip
    url = "https://example.com/"
    await c.set(url=url, name="a", value="1")
    await c.set(url=url, name="a", value="1")
    await c.set(url=url, name="a", value="1", expiration_date=time.time() + 60)
    await c.set(url=url, name="a", value="2")
    await c.set(url=url, name="a", value="3", expiration_date=0)
    await c.set(url=url, name="b", value="1")
    await c.remove(url, "b")
    c.jar.set_from_response(url, ["d=1"])  # a response through the pipeline's jar
    c.remove_for_origins(["https://www.example.com"], False)
    assert seen == [
        ("Event", "1", "inserted", False),
        ("Event", "1", "overwrite", True), ("Event", "1", "inserted-no-change-overwrite", False),
        ("Event", "1", "overwrite", True), ("Event", "1", "inserted-no-value-change-overwrite", False),
        ("Event", "1", "overwrite", True), ("Event", "2", "inserted", False),
        ("Event", "2", "expired-overwrite", True),
        ("Event", "1", "inserted", False), ("Event", "1", "explicit", True),
        ("Event", "1", "inserted", False), ("Event", "1", "explicit", True),
    ]  # fmt: skip
    c.remove_all_listeners("changed")
    assert c.jar._core.recording is False  # no listener, no persistence: no change log


async def test_remove_for_origins_and_clear(ses: Any) -> None:
    c = ses.cookies
    for url in ("https://a.b.example.com/", "https://example.com/", "https://x.org/", "https://y.net/"):
        c.jar.set_from_response(url, ["k=1"])
    assert c.remove_for_origins(["https://a.b.example.com"], False) == 2
    assert c.remove_for_origins(["https://x.org:8443"], True) == 1
    assert [x.domain for x in await c.get({})] == ["x.org"]
    with pytest.raises(TypeError, match="Invalid origin: 'foo'"):
        c.remove_for_origins(["foo"], False)
    assert c.clear() == 1


async def test_export_import_roundtrip(ses: Any, tmp_path: Path) -> None:
    c = ses.cookies
    far = time.time() + 3600
    await c.set(url="https://example.com/", name="a", value="1", domain="example.com",
                expiration_date=far, http_only=True)  # fmt: skip
    await c.set(url="https://example.com/p", name="b", value="x y", path="/p", secure=True)
    for fmt in ("netscape", "json"):
        target = tmp_path / f"cookies.{fmt}"
        assert await c.export(target, format=fmt) == 2
        other_session = _memory_session()
        other = other_session.cookies
        assert await other.import_(target, format=fmt) == 2
        got = {x.name: x for x in await other.get({})}
        await other_session.close()
        assert got["a"].domain == ".example.com" and got["a"].http_only and not got["a"].session
        assert abs((got["a"].expiration_date or 0) - far) < 1
        assert got["b"].secure and got["b"].path == "/p" and got["b"].value == "x y"
    text = (tmp_path / "cookies.netscape").read_text()
    assert "#HttpOnly_.example.com\tTRUE\t/\tFALSE\t" in text


async def test_import_rejects_bad_files_whole(ses: Any, tmp_path: Path) -> None:
    c = ses.cookies
    await c.set(url="https://e.com/", name="keep", value="1")
    bad = tmp_path / "bad.txt"
    bad.write_text("example.com\tFALSE\t/\tFALSE\t0\ta\t1\nbroken line\n")
    with pytest.raises(ValueError, match="line 2"):
        await c.import_(bad)
    bad.write_text(json.dumps([{"name": "a", "value": "1"}]))
    with pytest.raises(ValueError, match="cookie #0: missing 'domain'"):
        await c.import_(bad, format="json")
    with pytest.raises(ValueError, match="format"):
        await c.import_(bad, format="xml")
    assert [x.name for x in await c.get({})] == ["keep"]
    assert loads("# comment\n\n", "netscape") == []


def test_curl_cookie_file_reads() -> None:
    text = (
        "# Netscape HTTP Cookie File\n"
        ".example.com\tTRUE\t/\tTRUE\t4102444800\tsid\tabc\n"
        "#HttpOnly_host.example\tFALSE\t/x\tFALSE\t0\ttok\t\n"
    )
    recs = loads(text, "netscape")
    assert [(r[0], r[2], r[3], r[7], r[8], r[9]) for r in recs] == [
        ("sid", ".example.com", "/", True, False, True),
        ("tok", "host.example", "/x", False, True, False),
    ]


async def test_two_jars_are_isolated(ses: Any, tmp_path: Path) -> None:
    persistent = session.from_path(tmp_path / "p")
    a, b = ses.cookies, persistent.cookies
    seen: list[str] = []
    b.on("changed", lambda *args: seen.append(args[2]))
    a.jar.set_from_response("https://example.com/", ["x=1"])
    assert await b.get({}) == [] and seen == []
    assert b.jar.cookie_header("https://example.com/") is None
    assert a.jar.cookie_header("https://example.com/") == "x=1"
    await persistent.close()


async def test_in_memory_never_touches_disk(ses: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    c = ses.cookies
    await c.set(url="https://e.com/", name="a", value="1", expiration_date=time.time() + 100)
    await c.flush_store()
    await c.close()
    assert c.jar.backend is None and list(tmp_path.iterdir()) == []


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip


def test_persistence_across_processes(implementation: str, tmp_path: Path) -> None:
    env_impl = f"import websession._impl as i; i.use({implementation!r})\n"
    _run(env_impl + """
import sys, asyncio
import websession
from websession import session
websession.set_user_data_path(sys.argv[2])
async def main():
    ses = session.from_path(sys.argv[1])
    c = ses.cookies
    c.jar.set_from_response("https://example.com/", ["keep=1; Max-Age=3600", "session=1"])
    await c.set(url="https://example.com/", name="api", value="2", expiration_date=4e9)
    await c.flush_store()
asyncio.run(main())
""", str(tmp_path), str(tmp_path / "user-data"))
    out = _run(env_impl + """
import sys, asyncio, json
import websession
from websession import session
websession.set_user_data_path(sys.argv[2])
async def main():
    ses = session.from_path(sys.argv[1])
    c = ses.cookies
    print(json.dumps(sorted(x.name for x in await c.get({}))))
    print(c.jar.cookie_header("https://example.com/"))
    await ses.close()
asyncio.run(main())
""", str(tmp_path), str(tmp_path / "user-data"))
    names, header = out.stdout.splitlines()
    assert json.loads(names) == ["api", "keep"]  # the session cookie is not restored
    assert header in ("keep=1; api=2", "api=2; keep=1")
    db = sqlite3.connect(tmp_path / "Cookies")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


_WRITER = """
import sys, time
from pathlib import Path
from websession._cookie_jar import CookieJar, SQLiteCookieBackend
backend = SQLiteCookieBackend(Path(sys.argv[1]), interval=0.02, batch=64)
jar = CookieJar(backend=backend)
jar.set_limits(total=0)
i = 0
while True:
    jar.set_from_response(f"https://d{i}.example/", [f"c=v{i}; Max-Age=100000"])
    i += 1
    if i % 50 == 0:
        jar.flush()
        print(i, flush=True)
"""


@pytest.mark.slow
def test_kill_9_under_write_load(tmp_path: Path) -> None:
    """A process killed at any moment leaves a database that opens, every flushed batch kept."""
    rng = random.Random(1234)
    env = dict(os.environ, PYTHONPATH=SRC)
    for round_ in range(8):
        db = tmp_path / f"Cookies{round_}"
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], env=env,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None
        flushed = 0
        deadline = time.monotonic() + rng.uniform(0.4, 1.2)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            flushed = int(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = {int(h[1:].split(".")[0]) for (h,) in conn.execute("SELECT host_key FROM cookies")}
        conn.close()
        assert flushed > 0
        assert keys == set(range(len(keys))), "the stored cookies are a prefix of those written"
        assert len(keys) >= flushed  # nothing that was flushed is missing
        # and the jar opens it again
        jar = CookieJar(backend=SQLiteCookieBackend(db))
        assert len(jar) == len(keys)
        jar.close()


def test_write_behind_batches(tmp_path: Path) -> None:
    backend = SQLiteCookieBackend(tmp_path / "Cookies", interval=3600, batch=5)
    jar = CookieJar(backend=backend)
    for i in range(4):
        jar.set_from_response("https://e.com/", [f"c{i}=1; Max-Age=100", f"s{i}=1"])
    assert backend.pending() == 4  # session cookies never queue
    jar.set_from_response("https://e.com/", ["c4=1; Max-Age=100"])
    for _ in range(200):
        if backend.pending() == 0:
            break
        time.sleep(0.01)
    conn = sqlite3.connect(tmp_path / "Cookies")
    assert conn.execute("SELECT count(*) FROM cookies").fetchone()[0] == 5
    jar.close()


# --- end to end through the real Session and pipeline ------------------------------------


async def test_fetch_sends_and_stores_cookies(serve: Any) -> None:
    async def set_(request: web.Request) -> web.Response:
        resp = web.HTTPFound("/hop")
        resp.headers.add("Set-Cookie", "a=1; Path=/")
        resp.headers.add("Set-Cookie", "p=1; Path=/deep")
        raise resp

    async def hop(request: web.Request) -> web.Response:
        resp = web.HTTPFound("/echo")
        resp.headers.add("Set-Cookie", "b=2")
        raise resp

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("Cookie", ""))

    app = web.Application()
    app.router.add_get("/set", set_)
    app.router.add_get("/hop", hop)
    app.router.add_get("/echo", echo)
    base = await serve(app)
    ses = _memory_session()
    try:
        resp = await ses.fetch(base + "/set")
        assert await resp.text() == "a=1; b=2"  # cookies of every redirect hop are stored and sent
        assert sorted(c.name for c in await ses.cookies.get({})) == ["a", "b", "p"]
        assert ses.cookies is ses.cookies
    finally:
        await ses.close()


def test_cookie_structure_aliases() -> None:
    c = Cookie(name="a", value="b", domain=".e.com", host_only=False, same_site="lax")
    assert c.hostOnly is False and c.to_dict()["sameSite"] == "lax"
