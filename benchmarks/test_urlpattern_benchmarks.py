"""webRequest filter matching: one URL against 1,000 match patterns.

Contenders, side by side per scenario: the compiled ``URLPatternSet.match_mask`` (one pass,
host-indexed), its pure-Python twin, a loop over one compiled ``re`` per pattern, and a loop of
``fnmatch.fnmatchcase`` per pattern (the peers an implementation without an index would use).

Run: ``python -m pytest benchmarks/test_urlpattern_benchmarks.py --benchmark-only
--benchmark-columns=median,ops,rounds``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

import pytest

from websession import _urlpattern_c, _urlpattern_py

COUNT = 1000


def build_patterns() -> list[str]:
    """1,000 realistic filters: subdomain sites, exact-host paths, a few host wildcards."""
    patterns = []
    for n in range(COUNT):
        kind = n % 10
        if kind < 5:
            patterns.append(f"*://*.site{n}.com/*")
        elif kind < 9:
            patterns.append(f"https://site{n}.org/path/{n % 7}/*")
        elif n % 30 == 9:
            patterns.append(f"*://*/ads/{n}/*")
        elif n % 30 == 19:
            patterns.append(f"http://*/*.js?v={n}")
        else:
            patterns.append(f"wss://*.cdn{n}.net:443/socket*")
    return patterns


PATTERNS = build_patterns()
URLS = {
    "hit": "https://www.site500.com/index.html?q=1",
    "hit_path": "https://site501.org/path/4/deep/page?x=y",
    "miss": "https://www.example.net/some/long/path/to/a/resource.js?v=12345",
}


def _regex(pattern: str) -> re.Pattern[str]:
    scheme, rest = pattern.split("://", 1)
    host_port, _, path = rest.partition("/")
    host, _, port = host_port.partition(":")
    scheme_re = "https?" if scheme == "*" else re.escape(scheme)
    if host == "*":
        host_re = "[^/:]*"
    elif host.startswith("*."):
        host_re = r"(?:[^/:]*\.)?" + re.escape(host[2:])
    else:
        host_re = re.escape(host)
    port_re = (":" + re.escape(port)) if port and port != "*" else "(?::[0-9]+)?"
    path_re = ".*".join(re.escape(part) for part in ("/" + path).split("*"))
    return re.compile(f"{scheme_re}://{host_re}{port_re}{path_re}")


def _glob(pattern: str) -> str:
    scheme, rest = pattern.split("://", 1)
    glob = f"{'http*' if scheme == '*' else scheme}://{rest}"
    return glob.replace("[", "[[]").replace("?", "[?]")


def make(contender: str) -> Callable[[str], int]:
    if contender in ("compiled", "twin"):
        module = _urlpattern_c if contender == "compiled" else _urlpattern_py
        pattern_set = module.URLPatternSet()
        for index, pattern in enumerate(PATTERNS):
            pattern_set.add(pattern, index % 64)
        return pattern_set.match_mask  # type: ignore[no-any-return]
    if contender == "regex_loop":
        compiled = [(_regex(p), 1 << (i % 64)) for i, p in enumerate(PATTERNS)]

        def regex_loop(url: str) -> int:
            mask = 0
            for regex, bit in compiled:
                if regex.fullmatch(url):
                    mask |= bit
            return mask

        return regex_loop
    globs = [(_glob(p), 1 << (i % 64)) for i, p in enumerate(PATTERNS)]

    def fnmatch_loop(url: str) -> int:
        mask = 0
        for glob, bit in globs:
            if fnmatch.fnmatchcase(url, glob):
                mask |= bit
        return mask

    return fnmatch_loop


CONTENDERS = ("compiled", "twin", "regex_loop", "fnmatch_loop")


def _run(benchmark: pytest.FixtureRequest, scenario: str, contender: str) -> None:
    match = make(contender)
    url = URLS[scenario]
    benchmark.group = f"match_mask 1000 patterns: {scenario}"  # type: ignore[attr-defined]
    result = benchmark(match, url)  # type: ignore[operator]
    # Every contender must agree on these realistic inputs, or the comparison is void.
    assert result == make("twin")(url)


@pytest.mark.parametrize("contender", CONTENDERS)
def test_match_hit_subdomain(benchmark: pytest.FixtureRequest, contender: str) -> None:
    _run(benchmark, "hit", contender)


@pytest.mark.parametrize("contender", CONTENDERS)
def test_match_hit_path(benchmark: pytest.FixtureRequest, contender: str) -> None:
    _run(benchmark, "hit_path", contender)


@pytest.mark.parametrize("contender", CONTENDERS)
def test_match_miss(benchmark: pytest.FixtureRequest, contender: str) -> None:
    _run(benchmark, "miss", contender)
