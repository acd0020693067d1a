"""Cookies: the compiled jar vs its pure-Python twin, aiohttp.CookieJar and http.cookiejar;
the registrable-domain core vs publicsuffixlist and tldextract; memory of 100,000 cookies.

Jars of 10,000 cookies over 1,000 registrable domains and of 100,000 over 10,000 (10 per
domain), Chromium's global limit raised (``set_limits(total=0)``) and aiohttp's limits off so
every jar keeps every cookie. One call = one ``Cookie`` header for a URL / one ``Set-Cookie``.

Run: ``python -m pytest benchmarks/test_cookies_benchmarks.py --benchmark-only
--benchmark-columns=median,ops,rounds``.
"""

from __future__ import annotations

import asyncio
import gc
import http.cookiejar
import itertools
import tracemalloc
import urllib.request
from collections.abc import Callable
from email.message import Message
from functools import cache
from typing import Any

import aiohttp
import publicsuffixlist
import pytest
import tldextract
from yarl import URL

from websession import _cookiestore_c, _cookiestore_py, _psl_c, _psl_py

PER_DOMAIN = 10
SIZES = {"10k": 1_000, "100k": 10_000}
JARS = ("websession-c", "websession-python", "aiohttp", "http.cookiejar")


def _url(d: int) -> str:
    return f"https://www.site{d}.com/account/page"


def _lines(d: int) -> list[str]:
    return [f"c{i}=value{i}-{d}; Path=/; Max-Age=86400" for i in range(PER_DOMAIN)]


_LOOP = asyncio.new_event_loop()  # aiohttp's jar schedules expirations on a loop


class _UnlimitedAiohttpJar(aiohttp.CookieJar):
    _limits_enabled = False  # keep every cookie, as the figures did


class _Response:
    """What http.cookiejar reads from a response: ``info()`` with the headers."""

    def __init__(self, lines: list[str]) -> None:
        self._msg = Message()
        for line in lines:
            self._msg["Set-Cookie"] = line

    def info(self) -> Message:
        return self._msg


@cache
def _jar(kind: str, size: str) -> Any:
    domains = SIZES[size]
    if kind.startswith("websession"):
        mod = _cookiestore_c if kind.endswith("-c") else _cookiestore_py
        store = mod.CookieStore()
        store.set_limits(180, 150, 0, 0, 30)
        for d in range(domains):
            store.set_from_response(_url(d), _lines(d))
        assert len(store) == domains * PER_DOMAIN
        return store
    if kind == "aiohttp":
        jar = _UnlimitedAiohttpJar(loop=_LOOP)
        for d in range(domains):
            jar.update_cookies_from_headers(_lines(d), URL(_url(d)))
        assert len(jar) == domains * PER_DOMAIN
        return jar
    cj = http.cookiejar.CookieJar()
    for d in range(domains):
        cj.extract_cookies(_Response(_lines(d)), urllib.request.Request(_url(d)))  # type: ignore[arg-type]
    assert len(cj) == domains * PER_DOMAIN
    return cj


def _header_call(kind: str, jar: Any, url: str) -> Callable[[], Any]:
    if kind.startswith("websession"):
        return lambda: jar.cookie_header(url)
    if kind == "aiohttp":
        u = URL(url)
        return lambda: "; ".join(f"{k}={m.value}" for k, m in jar.filter_cookies(u).items())

    def cookiejar() -> Any:
        req = urllib.request.Request(url)
        jar.add_cookie_header(req)
        return req.get_header("Cookie")

    return cookiejar


def _store_call(kind: str, jar: Any, url: str) -> Callable[[], Any]:
    counter = itertools.count()
    if kind.startswith("websession"):
        return lambda: jar.set_from_response(url, [f"s=v{next(counter)}; Path=/; Max-Age=3600"])
    if kind == "aiohttp":
        u = URL(url)
        return lambda: jar.update_cookies_from_headers([f"s=v{next(counter)}; Path=/; Max-Age=3600"], u)
    req = urllib.request.Request(url)
    return lambda: jar.extract_cookies(_Response([f"s=v{next(counter)}; Path=/; Max-Age=3600"]), req)


@pytest.mark.parametrize("kind", JARS)
@pytest.mark.parametrize("size", list(SIZES))
def test_cookie_header(benchmark: Any, size: str, kind: str) -> None:
    benchmark.group = f"cookie header, {size} jar"
    jar = _jar(kind, size)
    url = _url(SIZES[size] // 2)
    call = _header_call(kind, jar, url)
    result = call()
    assert result and result.count("=") == PER_DOMAIN + (result.count("s=v"))
    if kind == "http.cookiejar":
        benchmark.pedantic(call, rounds=5 if size == "10k" else 3, iterations=1)
    else:
        benchmark(call)


@pytest.mark.parametrize("kind", JARS)
@pytest.mark.parametrize("size", list(SIZES))
def test_store_set_cookie(benchmark: Any, size: str, kind: str) -> None:
    benchmark.group = f"store one Set-Cookie, {size} jar"
    jar = _jar(kind, size)
    url = _url(SIZES[size] // 3)
    call = _store_call(kind, jar, url)
    if kind == "http.cookiejar":
        benchmark.pedantic(call, rounds=5 if size == "10k" else 3, iterations=1)
    else:
        benchmark(call)


_HOSTS = [f"www.shop{i}.example.co.uk" if i % 3 == 0 else f"api{i}.service.github.io" if i % 3 == 1
          else f"m.news{i}.com" for i in range(1000)]  # fmt: skip


@pytest.mark.parametrize("kind", ["websession-c", "websession-python", "publicsuffixlist", "tldextract"])
def test_registrable_domain(benchmark: Any, kind: str) -> None:
    benchmark.group = "registrable domain (1000 hosts per call)"
    if kind == "websession-c":
        fn: Callable[[str], Any] = _psl_c.registrable_domain
    elif kind == "websession-python":
        fn = _psl_py.registrable_domain
    elif kind == "publicsuffixlist":
        fn = publicsuffixlist.PublicSuffixList().privatesuffix
    else:
        extract = tldextract.TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)
        fn = lambda h: extract(h).top_domain_under_public_suffix
    assert fn("www.example.co.uk") == "example.co.uk"

    def run() -> None:
        for h in _HOSTS:
            fn(h)

    benchmark(run)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.parametrize("kind", ["websession-c", "websession-python", "aiohttp"])
def test_memory_100k(benchmark: Any, kind: str) -> None:
    """Memory of a 100,000-cookie jar: traced Python allocations and RSS growth (MB)."""
    benchmark.group = "memory of 100k cookies (build time; MB in extra_info)"
    gc.collect()
    tracemalloc.start()
    rss0 = _rss()
    if kind == "aiohttp":
        jar: Any = _UnlimitedAiohttpJar(loop=_LOOP)
        for d in range(10_000):
            jar.update_cookies_from_headers(_lines(d), URL(_url(d)))
    else:
        mod = _cookiestore_c if kind == "websession-c" else _cookiestore_py
        jar = mod.CookieStore()
        jar.set_limits(180, 150, 0, 0, 30)
        for d in range(10_000):
            jar.set_from_response(_url(d), _lines(d))
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss = _rss() - rss0
    benchmark.extra_info["traced_mb"] = round(traced / 2**20, 1)
    benchmark.extra_info["rss_growth_mb"] = round(rss / 2**20, 1)
    print(f"\n{kind}: traced {traced / 2**20:.1f} MB, RSS growth {rss / 2**20:.1f} MB")
    benchmark.pedantic(lambda: len(jar), rounds=1, iterations=1)
