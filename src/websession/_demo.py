"""``websession demo``: serve a small site on loopback and crawl it, saying what the session does.

The site has pages that link to each other, a redirect, a gzip-encoded page, a cookie, a
cacheable stylesheet, a page behind a custom ``demo:`` scheme and a slow resource. The crawl
runs twice through one persistent partition: the second pass is served from the HTTP cache
and sends the cookies the first pass stored. A NetLog of the whole crawl is written too.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from . import NetError, Response, session

PAGES = {
    "/": '<h1>Home</h1><a href="/about">about</a> <a href="/old-news">news</a> '
         '<a href="/style.css">style</a> <a href="demo://bundle/help.html">help</a> <a href="/slow">slow</a>',
    "/about": '<h1>About</h1><a href="/">home</a> <a href="/news">news</a>',
    "/news": '<h1>News</h1><a href="/">home</a> <a href="/about">about</a>',
}


def site() -> web.Application:
    app = web.Application()
    visits = {"n": 0}

    async def page(request: web.Request) -> web.Response:
        visits["n"] += 1
        body = PAGES[request.path].encode()
        headers = {"Content-Type": "text/html", "Cache-Control": "max-age=300"}
        if request.path == "/":
            headers["Set-Cookie"] = f"visitor=v{visits['n']}; Path=/; Max-Age=3600"
        if request.path == "/news":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    async def old_news(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/news")

    async def style(request: web.Request) -> web.Response:
        return web.Response(text="h1 { color: teal }", content_type="text/css",
                            headers={"Cache-Control": "max-age=300", "ETag": '"v1"'})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="finally")

    for path in PAGES:
        app.router.add_get(path, page)
    app.router.add_get("/old-news", old_news)
    app.router.add_get("/style.css", style)
    app.router.add_get("/slow", slow)
    return app


def say(text: str) -> None:
    print(text, flush=True)


async def crawl(ses: Any, start: str, label: str) -> None:
    say(f"\n== {label}: crawling from {start}")
    seen: set[str] = set()
    queue = [start]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        began = time.perf_counter()
        try:
            response = await ses.fetch(url, timeout=1.0)
            body = await response.text()
        except NetError as error:
            say(f"   x {url}: {error.name} after {time.perf_counter() - began:.1f} s")
            continue
        took = (time.perf_counter() - began) * 1000
        where = "cache" if response.from_cache else "network" if url.startswith("http") else "a handler"
        chain = " -> ".join(response.url_chain) if response.redirected else ""
        say(f"   {response.status} {url} ({len(body)} bytes from {where}, {took:.1f} ms)"
            + (f"\n       redirected: {chain}" if chain else ""))
        for link in re.findall(r'href="([^"]+)"', body):
            queue.append(link if ":" in link else start.rstrip("/") + link)


async def run(partition: str) -> int:
    runner = web.AppRunner(site(), access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    start = f"http://127.0.0.1:{port}/"
    ses = session.from_partition(partition)
    say(f"websession demo: a site on {start}, session {partition!r} stored in {ses.storage_path}")

    ses.protocol.handle("demo", lambda request: Response(
        "<h1>Help</h1><p>served by a protocol handler</p>", headers={"Content-Type": "text/html"}))
    say("   protocol.handle('demo') serves demo:// URLs from Python")

    def before(details: Any) -> None:
        if details.url.endswith("/slow"):
            say(f"   webRequest: {details.method} {details.url} (slow: the crawl gives it 1 s)")

    ses.web_request.on_before_request({"urls": ["*://*/slow"]}, before)
    ses.web_request.on_before_redirect(
        lambda d: say(f"   webRequest: {d.status_code} redirect {d.url} -> {d.redirect_url}"))
    ses.web_request.on_before_send_headers(
        lambda d: {"requestHeaders": {**d.request_headers, "X-Crawler": "websession-demo"}})
    say("   webRequest.on_before_send_headers adds X-Crawler to every request")

    def sent(details: Any) -> None:
        if details.url == start and "Cookie" in details.request_headers:
            say(f"   webRequest: sending Cookie: {details.request_headers['Cookie']}")

    ses.web_request.on_send_headers(sent)

    log_path = str(Path(tempfile.gettempdir()) / "websession-demo.netlog.json")
    await ses.net_log.start_logging(log_path)
    try:
        await ses.clear_cache()
        say("   the HTTP cache starts empty; cookies persist from earlier runs")
        await crawl(ses, start, "first pass")
        cookies = await ses.cookies.get({"url": start})
        say(f"\n   cookies stored: {', '.join(f'{c.name}={c.value}' for c in cookies)}")
        say(f"   HTTP cache holds {await ses.get_cache_size()} bytes")
        await crawl(ses, start, "second pass (fresh pages come from the cache)")
    finally:
        path = await ses.net_log.stop_logging()
        await ses.cookies.flush_store()
        await ses.close()
        await runner.cleanup()
    size = Path(path).stat().st_size
    say(f"\n   NetLog written to {path} ({size} bytes; open it in Chrome's NetLog viewer)")
    say("   run `make demo` again: the partition's cookies persist across runs")
    return 0


def main(partition: str = "persist:demo") -> int:
    """Run the demo; return the exit status."""
    return asyncio.run(run(partition))
