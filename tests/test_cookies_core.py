"""The registrable-domain and cookie-store cores, on both implementations.

Every PSL vector, every http-state case and cookie date of the corpus, Chromium's limits and
change causes, and hypothesis tests demanding the twins agree on everything.
"""

from __future__ import annotations

import calendar
import email.utils
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CORPORA, load_core

PSL = CORPORA / "psl"
HTTP_STATE = CORPORA / "cookies" / "http-state"
# The http-state expectations were written in 2011: Expires dates in 2019 are "the future".
CORPUS_NOW = calendar.timegm((2011, 1, 1, 0, 0, 0))


def _psl_vectors() -> list[tuple[str | None, str | None]]:
    out = []
    for line in (PSL / "tests.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        given_, expected = line.split(" ")
        out.append((None if given_ == "null" else given_, None if expected == "null" else expected))
    return out


def _http_state_cases() -> list[dict[str, Any]]:
    data = json.loads((HTTP_STATE / "http_state_cases.json").read_text(encoding="utf-8"))
    return [c for c in data["cases"] if not c["disabled"]]


def _date_cases() -> list[tuple[str, int | None]]:
    out = []
    for name in ("examples.json", "bsd-examples.json"):
        text = (HTTP_STATE / "dates" / name).read_text(encoding="utf-8")
        for case in json.loads(text[text.index("[") :]):
            expected = case["expected"]
            micros = (
                None
                if expected is None
                else int(email.utils.parsedate_to_datetime(expected).timestamp()) * 1_000_000
            )
            out.append((case["test"], micros))
    return out


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# --- registrable domain ------------------------------------------------------------------


def test_psl_vectors(implementation: str) -> None:
    psl = load_core("psl", implementation)
    vectors = _psl_vectors()
    assert len(vectors) == 78
    for host, expected in vectors:
        assert psl.registrable_domain(host) == expected, host


def test_psl_json_matches_vectors(implementation: str) -> None:
    psl = load_core("psl", implementation)
    data = json.loads((PSL / "psl_tests.json").read_text(encoding="utf-8"))
    for case in data["cases"]:
        assert psl.registrable_domain(case["input"]) == case["expected_registrable_domain"]


@pytest.mark.parametrize(
    ("host", "registrable", "suffix", "is_suffix"),
    [
        ("www.example.co.uk", "example.co.uk", "co.uk", False),
        ("co.uk", None, "co.uk", True),
        ("foo.github.io", "foo.github.io", "github.io", False),  # private section
        ("github.io", None, "github.io", True),
        ("www.example.com.", "example.com.", "com.", False),  # trailing dot kept
        ("127.0.0.1", None, None, False),
        ("[::1]", None, None, False),
        ("0x7f.1", None, None, False),
        ("a..example.com", None, None, False),
        ("WWW.食狮.中国", "食狮.中国", "中国", False),
        ("www.食狮。中国", "食狮.中国", "中国", False),  # ideographic full stop
        ("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s", "xn--fiqs8s", False),
        ("localhost", None, "localhost", True),
    ],
)
def test_psl_edges(implementation: str, host: str, registrable: str | None, suffix: str | None,
                   is_suffix: bool) -> None:  # fmt: skip
    psl = load_core("psl", implementation)
    assert psl.registrable_domain(host) == registrable
    assert psl.public_suffix(host) == suffix
    assert psl.is_public_suffix(host) is is_suffix


def test_psl_rejects_non_strings(implementation: str) -> None:
    psl = load_core("psl", implementation)
    with pytest.raises(TypeError, match="host"):
        psl.registrable_domain(b"example.com")


_LABELS = ["com", "co", "uk", "jp", "kobe", "city", "ck", "www", "github", "io", "cn", "公司",
           "xn--55qx5d", "中国", "example", "EXAMPLE", "1", "0x1f", "ide", "kyoto", "a", "-"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_LABELS + [""]), min_size=1, max_size=6),
       st.booleans(), st.booleans())  # fmt: skip
def test_psl_twins_agree(labels: list[str], lead: bool, trail: bool) -> None:
    host = ("." if lead else "") + ".".join(labels) + ("." if trail else "")
    c, py = load_core("psl", "c"), load_core("psl", "python")
    for fn in ("registrable_domain", "public_suffix", "is_public_suffix"):
        assert getattr(c, fn)(host) == getattr(py, fn)(host), (fn, host)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_psl_twins_agree_on_any_text(host: str) -> None:
    c, py = load_core("psl", "c"), load_core("psl", "python")
    assert c.registrable_domain(host) == py.registrable_domain(host)
    assert c.is_public_suffix(host) == py.is_public_suffix(host)


# --- the http-state corpus ------------------------------------------------------------------


@pytest.mark.parametrize("case", _http_state_cases(), ids=lambda c: c["name"])
def test_http_state_case(implementation: str, case: dict[str, Any]) -> None:
    store = load_core("cookiestore", implementation).CookieStore(lambda: CORPUS_NOW)
    store.set_from_response(case["request_url"], case["set_cookie"])
    assert store.cookie_header(case["redirect_url"]) == case["expected_cookie_header"]


def test_http_state_corpus_size() -> None:
    assert len(_http_state_cases()) == 218


def test_cookie_dates(implementation: str) -> None:
    core = load_core("cookiestore", implementation)
    cases = _date_cases()
    assert len(cases) == 70
    for text, expected in cases:
        assert core.parse_cookie_date(text) == expected, text


# --- rules beyond the corpus ----------------------------------------------------------------


def _store(implementation: str, clock: Clock | None = None) -> Any:
    store = load_core("cookiestore", implementation).CookieStore(clock or Clock())
    store.recording = True
    return store


def test_secure_rules(implementation: str) -> None:
    s = _store(implementation)
    s.set_from_response("http://example.com/", ["a=1; Secure"])
    assert len(s) == 0  # Secure from plain HTTP is refused
    s.set_from_response("https://example.com/", ["a=1; Secure"])
    s.set_from_response("http://example.com/", ["a=2"])  # may not shadow the Secure one
    assert s.cookie_header("https://example.com/") == "a=1"
    assert s.cookie_header("http://example.com/") is None
    s.set_from_response("http://localhost/", ["b=1; Secure"])  # trustworthy origin
    assert s.cookie_header("http://localhost/") == "b=1"


def test_prefixes_and_same_site_none(implementation: str) -> None:
    s = _store(implementation)
    url = "https://example.com/x/y"
    s.set_from_response(url, [
        "__Secure-a=1", "__Secure-b=1; Secure", "__Host-c=1; Secure; Path=/",
        "__Host-d=1; Secure; Path=/; Domain=example.com", "__host-e=1; Secure",
        "f=1; SameSite=None", "g=1; SameSite=None; Secure", "h=1; Partitioned",
    ])  # fmt: skip
    assert sorted(r[0] for r in s.all()) == ["__Host-c", "__Secure-b", "g"]


def test_public_suffix_domain_rejected(implementation: str) -> None:
    s = _store(implementation)
    s.set_from_response("https://www.example.co.uk/", ["a=1; Domain=co.uk", "b=1; Domain=example.co.uk"])
    assert [r[0] for r in s.all()] == ["b"]
    s.set_from_response("https://co.uk/", ["c=1; Domain=co.uk"])  # the host itself: host-only
    assert [r[2] for r in s.all() if r[0] == "c"] == ["co.uk"]


def test_size_limits(implementation: str) -> None:
    s = _store(implementation)
    s.set_from_response("https://example.com/", ["a=" + "x" * 4096, "b=" + "x" * 4095])
    assert [r[0] for r in s.all()] == ["b"]
    s.set_from_response("https://example.com/", ["c=1; Path=/" + "p" * 1030])  # attribute ignored
    assert [r[3] for r in s.all() if r[0] == "c"] == ["/"]


def test_ordering_and_header(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    s.set_from_response("https://example.com/", ["a=1; Path=/"])
    clock.t += 1
    s.set_from_response("https://example.com/", ["b=2; Path=/x"])
    s.set_from_response("https://example.com/", ["c=3; Path=/"])
    assert s.cookie_header("https://example.com/x/y") == "b=2; a=1; c=3"


def test_same_site_contexts(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    s.set_from_response("https://a.example/", [
        "s=1; SameSite=Strict", "l=1; SameSite=Lax", "n=1; SameSite=None; Secure", "u=1",
    ])  # fmt: skip
    url = "https://a.example/"
    assert s.cookie_header(url) == "s=1; l=1; n=1; u=1"
    assert s.cookie_header(url, "https://sub.a.example/") == "s=1; l=1; n=1; u=1"
    assert s.cookie_header(url, "https://other.example/") == "n=1"
    assert s.cookie_header(url, "http://a.example/") == "n=1"  # schemeful
    assert s.cookie_header(url, "https://other.example/", True) == "l=1; n=1; u=1"
    # an unspecified cookie younger than 2 minutes rides an unsafe top-level navigation
    assert s.cookie_header(url, "https://other.example/", True, "POST") == "n=1; u=1"
    clock.t += 121
    assert s.cookie_header(url, "https://other.example/", True, "POST") == "n=1"
    # a cross-site response may set only SameSite=None cookies
    s.set_from_response(url, ["x=1", "y=1; SameSite=None; Secure"], "https://other.example/")
    assert {r[0] for r in s.all()} == {"s", "l", "n", "u", "y"}


def test_change_causes(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    causes = load_core("cookiestore", implementation).CAUSES
    url = "https://example.com/"

    def drained() -> list[tuple[str, str]]:
        return [(causes[c], r[1]) for c, r in s.drain()]

    s.set_from_response(url, ["a=1"])
    assert drained() == [("inserted", "1")]
    s.set_from_response(url, ["a=1"])
    assert drained() == [("overwrite", "1"), ("inserted-no-change-overwrite", "1")]
    s.set_from_response(url, ["a=1; Max-Age=60"])
    assert drained() == [("overwrite", "1"), ("inserted-no-value-change-overwrite", "1")]
    s.set_from_response(url, ["a=2; Max-Age=60"])
    assert drained() == [("overwrite", "1"), ("inserted", "2")]
    s.set_from_response(url, ["a=3; Max-Age=0"])
    assert drained() == [("expired-overwrite", "2")]
    s.set_from_response(url, ["b=1; Max-Age=10"])
    clock.t += 11
    assert s.cookie_header(url) is None
    assert drained() == [("inserted", "1"), ("expired", "1")]


def test_creation_inherited_when_value_unchanged(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    s.set_from_response("https://example.com/", ["a=1"])
    first = s.all()[0][4]
    clock.t += 5
    s.set_from_response("https://example.com/", ["a=1; HttpOnly"])
    assert s.all()[0][4] == first
    s.set_from_response("https://example.com/", ["a=2"])
    assert s.all()[0][4] > first


def test_per_domain_limit_and_priorities(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    url = "https://example.com/"
    for i in range(40):
        s.set_from_response(url, [f"h{i}=1; Priority=High"])
    for i in range(140):
        clock.t += 1
        s.set_from_response(url, [f"m{i}=1"])
    assert len(s) == 180
    s.drain()
    clock.t += 1
    s.set_from_response(url, ["last=1; Priority=Low"])
    assert len(s) == 150
    evicted = [r[0] for c, r in s.drain() if c == 6]
    # the least recently accessed medium-priority cookies go; the high ones are protected
    assert evicted == [f"m{i}" for i in range(31)]
    assert {r[0] for r in s.all()} >= {f"h{i}" for i in range(40)} | {"last"}


def test_global_limit_spares_recent_cookies(implementation: str) -> None:
    clock = Clock()
    s = _store(implementation, clock)
    s.set_limits(180, 150, 50, 40, 30)
    for i in range(30):
        s.set_from_response(f"https://old{i}.example/", ["a=1; Max-Age=99999999"])
    clock.t += 31 * 86400
    for i in range(30):
        s.set_from_response(f"https://new{i}.example/", ["a=1; Max-Age=99999999"])
    # the 51st cookie purges to 40 (old ones, unused for 30 days, go); 9 more follow
    assert len(s) == 49
    keys = {r[2] for r in s.all()}
    assert all(f"new{i}.example" in keys for i in range(30))
    assert sum(k.startswith("old") for k in keys) == 19
    s.set_limits(180, 150, 0, 0, 30)
    for i in range(100):
        s.set_from_response(f"https://more{i}.example/", ["a=1"])
    assert len(s) == 149


def test_limits_validation(implementation: str) -> None:
    s = _store(implementation)
    with pytest.raises(ValueError, match="domain_max"):
        s.set_limits(-1, 0, 0, 0, 30)
    with pytest.raises(ValueError, match="total_purge_to"):
        s.set_limits(180, 150, 10, 20, 30)
    assert s.limits() == (180, 150, 3300, 3000, 30)


def test_malformed_lines_leave_store_alone(implementation: str) -> None:
    s = _store(implementation)
    s.set_from_response("https://example.com/", ["a=1; Max-Age=100"])
    before = s.all()
    s.set_from_response("https://example.com/", [
        "a", "=2", "", ";", "a=\x00", "a=2\r\n", "a=2; Domain=other.com", "a=2; Secure; Domain=.com",
    ])  # fmt: skip
    assert s.all() == before
    with pytest.raises(TypeError, match="set_cookie_values"):
        s.set_from_response("https://example.com/", [b"a=2"])
    assert s.all() == before


def test_delete_keys_at_registrable_level(implementation: str) -> None:
    s = _store(implementation)
    s.set_from_response("https://a.b.example.com/", ["a=1; Domain=example.com", "b=1"])
    s.set_from_response("https://other.org/", ["c=1"])
    core = load_core("cookiestore", implementation)
    assert s.delete_keys({core.registrable_key("a.b.example.com")}, False) == 2
    assert [r[0] for r in s.all()] == ["c"]
    assert s.delete_keys({"other.org"}, True) == 0
    assert s.clear() == 1


# --- the twins agree ------------------------------------------------------------------------

_HOSTS = ["example.com", "www.example.com", "a.b.example.com", "example.co.uk", "co.uk",
          "127.0.0.1", "localhost", "[::1]", "foo.github.io", "github.io", "EXAMPLE.com"]  # fmt: skip
_ATTRS = st.sampled_from([
    "Path=/", "Path=/a", "Path=/a/", "path=a", "Domain=example.com", "Domain=.example.com",
    "domain=co.uk", "Domain=github.io", "Domain=", "Secure", "HttpOnly", "SameSite=Lax",
    "SameSite=Strict", "SameSite=None", "samesite=bogus", "Max-Age=100", "Max-Age=0",
    "Max-Age=-5", "max-age=1e3", "Expires=Wed, 09 Jun 2038 10:18:14 GMT",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT", "Priority=High", "Priority=low", "Partitioned", "",
])  # fmt: skip
_URLS = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}{path}",
    st.sampled_from(["http", "https", "ws", "wss", "ftp"]),
    st.sampled_from(_HOSTS),
    st.sampled_from(["", "/", "/a", "/a/b", "/a/b/c?q=1", "/ab"]),
)
_LINES = st.builds(
    lambda name, value, attrs: "; ".join([f"{name}={value}", *attrs]),
    st.sampled_from(["a", "b", "__Secure-x", "__Host-y", "", " c "]),
    st.sampled_from(["1", "2", "", "v=w", '"q"']),
    st.lists(_ATTRS, max_size=4),
)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), _URLS, st.lists(_LINES, max_size=3), st.none() | _URLS),
        st.tuples(st.just("get"), _URLS, st.none() | _URLS, st.booleans()),
        st.tuples(st.just("tick"), st.integers(0, 200)),
        st.tuples(st.just("text"), _URLS, st.text(max_size=30)),
    ),
    max_size=25,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS)
def test_store_twins_agree(ops: list[tuple[Any, ...]]) -> None:
    clock = Clock()
    stores = [load_core("cookiestore", impl).CookieStore(clock) for impl in ("python", "c")]
    for s in stores:
        s.set_limits(6, 4, 12, 9, 0)
        s.recording = True
    for op in ops:
        if op[0] == "tick":
            clock.t += op[1]
            continue
        if op[0] == "set":
            results = [s.set_from_response(op[1], op[2], op[3]) for s in stores]
        elif op[0] == "text":
            results = [s.set_from_response(op[1], [op[2]]) for s in stores]
        else:
            results = [s.cookie_header(op[1], op[2], op[3]) for s in stores]
        assert results[0] == results[1], op
        assert stores[0].all() == stores[1].all(), op
        logs = [sorted(s.drain()) for s in stores]
        assert logs[0] == logs[1], op


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_date_twins_agree(text: str) -> None:
    c, py = load_core("cookiestore", "c"), load_core("cookiestore", "python")
    assert c.parse_cookie_date(text) == py.parse_cookie_date(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F) | st.sampled_from("é食"), max_size=40),
       _URLS)  # fmt: skip
def test_parser_twins_agree_on_hostile_lines(line: str, url: str) -> None:
    results = []
    for impl in ("python", "c"):
        s = load_core("cookiestore", impl).CookieStore(Clock())
        s.set_from_response(url, [line])
        results.append(s.all())
    assert results[0] == results[1]


def test_compiled_cores_loaded() -> None:
    assert load_core("cookiestore", "c").__name__.endswith("_c")
    assert load_core("psl", "c").__name__.endswith("_c")


def test_corpus_files_exist() -> None:
    assert Path(HTTP_STATE / "http_state_cases.json").is_file()
