"""Chromium's URLPattern corpus on both implementations, and URLPatternSet differential tests."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CORPORA, load_core

CORPUS_FILE = CORPORA / "match-patterns" / "chromium_url_pattern.json"


@lru_cache(maxsize=1)
def corpus() -> dict[str, Any]:
    return json.loads(CORPUS_FILE.read_text(encoding="utf-8"))


def _cases(section: str) -> list[Any]:
    if not CORPUS_FILE.is_file():
        return []
    data: Any = corpus()
    for key in section.split("."):
        data = data[key]
    return list(data)


@pytest.fixture
def core(implementation: str) -> ModuleType:
    return load_core("urlpattern", implementation)


def schemes(core: ModuleType, spec: Any) -> int:
    if spec == "SCHEME_ALL":
        return int(core.SCHEME_ALL)
    names = corpus()["scheme_sets"]["kAllSchemes"] if spec == "kAllSchemes" else spec
    mask = 0
    for name in names:
        mask |= int(getattr(core, name))
    return mask


def pattern_text(case: dict[str, Any]) -> str:
    if "pattern_bytes_hex" in case:
        return bytes.fromhex(case["pattern_bytes_hex"]).decode("utf-8")
    return str(case["pattern"])


def url_value(url: str) -> str | bytes:
    return bytes.fromhex(url[6:]) if url.startswith("BYTES:") else url


def parse(core: ModuleType, case: dict[str, Any]) -> Any:
    return core.URLPattern(pattern_text(case), schemes(core, case["valid_schemes"]))


def needs(core: ModuleType, name: str) -> None:
    if not hasattr(core.URLPattern, name):
        pytest.skip(f"{name} lives in the pure-Python twin only")


# ---------------------------------------------------------------- parse results


@pytest.mark.parametrize("case", _cases("parse_results.invalid"), ids=lambda c: repr(c["pattern"]))
def test_parse_invalid(core: ModuleType, case: dict[str, Any]) -> None:
    with pytest.raises(core.URLPatternError) as caught:
        parse(core, case)
    assert caught.value.reason == case["expected_parse"]
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("case", _cases("parse_results.ports"), ids=lambda c: c["pattern"])
def test_parse_ports(core: ModuleType, case: dict[str, Any]) -> None:
    if case["expected_parse"] != "kSuccess":
        with pytest.raises(core.URLPatternError) as caught:
            parse(core, case)
        assert caught.value.reason == case["expected_parse"]
        return
    assert parse(core, case).port == case["expected_port"]


@pytest.mark.parametrize("case", _cases("parse_results.ipv6_success"), ids=lambda c: c["pattern"])
def test_parse_ipv6(core: ModuleType, case: dict[str, Any]) -> None:
    pattern = parse(core, case)
    assert pattern.host == case["expected_host"]
    assert pattern.port == case["expected_port"]


def test_error_messages(core: ModuleType) -> None:
    expected = {
        "http": "Missing scheme separator.",
        "http:/bar": "Wrong scheme type.",
        "http://": "Host can not be empty.",
        "http://*foo/bar": "Invalid host wildcard.",
        "*://www.googleapis.com": "Empty path.",
        "http://foo:com/": "Invalid port.",
        "http://[::1/*": "Invalid host.",
    }
    for text, message in expected.items():
        with pytest.raises(core.URLPatternError, match=re.escape(message)):
            core.URLPattern(text)
    with pytest.raises(core.URLPatternError) as caught:
        core.URLPattern("ftp://x/*", core.SCHEME_HTTP)
    assert str(caught.value) == "Invalid scheme."
    assert caught.value.reason == "kInvalidScheme"


# ---------------------------------------------------------------- pattern tests

PATTERN_TESTS = _cases("pattern_tests")


@pytest.mark.parametrize(
    "case", PATTERN_TESTS, ids=[f"{c['test']}-{i}" for i, c in enumerate(PATTERN_TESTS)]
)
def test_pattern_case(core: ModuleType, case: dict[str, Any]) -> None:
    pattern = parse(core, case)
    props = case.get("properties", {})
    for name in ("scheme", "host", "match_subdomains", "match_all_urls", "path", "port"):
        if name in props:
            assert getattr(pattern, name) == props[name], name
    if "as_string" in props:
        assert pattern.get_as_string() == props["as_string"]
    for host, expected in props.get("matches_host", {}).items():
        assert pattern.matches_host(host) is expected, host
    for item in case["matches_url"]:
        assert pattern.matches_url(url_value(item["url"])) is item["expected"], item["url"]
    for item in case["matches_scheme"]:
        assert pattern.matches_scheme(item["scheme"]) is item["expected"], item["scheme"]


def test_pattern_url_counts() -> None:
    counts = corpus()["counts"]
    assert sum(len(c["matches_url"]) for c in PATTERN_TESTS) == counts["url_match_cases"]
    assert sum(len(c["matches_scheme"]) for c in PATTERN_TESTS) == counts["scheme_match_cases"]


@pytest.mark.parametrize("case", _cases("get_as_string_roundtrip"), ids=lambda c: c["pattern"])
def test_roundtrip(core: ModuleType, case: dict[str, Any]) -> None:
    assert parse(core, case).get_as_string() == case["pattern"]


@pytest.mark.parametrize("case", _cases("equals"), ids=lambda c: f"{c['pattern1']}={c['pattern2']}")
def test_equals(core: ModuleType, case: dict[str, Any]) -> None:
    mask = schemes(core, case["valid_schemes"])
    first = core.URLPattern(case["pattern1"], mask)
    second = core.URLPattern(case["pattern2"], mask)
    assert (first == second) is case["expected_equal"]
    assert (first != second) is not case["expected_equal"]


# ---------------------------------------------------------------- relations (twin-only ops)


@pytest.mark.parametrize("case", _cases("overlaps"), ids=lambda c: f"{c['a']['pattern']}~{c['b']['pattern']}")
def test_overlaps(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "overlaps_with")
    a, b = parse(core, case["a"]), parse(core, case["b"])
    assert a.overlaps_with(b) is case["overlaps"]
    assert b.overlaps_with(a) is case["overlaps"]


@pytest.mark.parametrize("case", _cases("contains"), ids=lambda c: f"{c['a']['pattern']}>{c['b']['pattern']}")
def test_contains(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "contains")
    a, b = parse(core, case["a"]), parse(core, case["b"])
    assert a.contains(b) is case["a_contains_b"]
    assert b.contains(a) is case["b_contains_a"]


@pytest.mark.parametrize("case", _cases("matches_single_origin"), ids=lambda c: c["pattern"])
def test_single_origin(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "matches_single_origin")
    assert parse(core, case).matches_single_origin() is case["expected"]


@pytest.mark.parametrize("case", _cases("matches_effective_tld"), ids=lambda c: c["pattern"])
def test_effective_tld(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "matches_effective_tld")
    pattern = parse(core, case)
    assert pattern.matches_effective_tld() is case["public_tld"]
    assert pattern.matches_effective_tld(include_private=True) is case["public_or_private_tld"]
    assert pattern.matches_effective_tld(include_unknown=True) is case["public_or_unknown_tld"]


@pytest.mark.parametrize("case", _cases("intersection"), ids=lambda c: f"{c['pattern1']}^{c['pattern2']}")
def test_intersection(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "intersection")
    mask = schemes(core, case["valid_schemes"])
    first = core.URLPattern(case["pattern1"], mask)
    second = core.URLPattern(case["pattern2"], mask)
    for result in (first.intersection(second), second.intersection(first)):
        if case["expected_intersection"] is None:
            assert result is None
        else:
            assert result is not None
            assert result.get_as_string() == case["expected_intersection"]


@pytest.mark.parametrize("case", _cases("convert_to_explicit_schemes"), ids=lambda c: c["pattern"])
def test_explicit_schemes(core: ModuleType, case: dict[str, Any]) -> None:
    needs(core, "convert_to_explicit_schemes")
    converted = parse(core, case).convert_to_explicit_schemes()
    assert [p.get_as_string() for p in converted] == case["expected"]


# ---------------------------------------------------------------- hosts and URLs


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("ExAmple.COM", "example.com"),
        ("0.0.1", "0.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[0:0:0:0:0:0:0:1]", "[::1]"),
        ("[1:0:0:2:0:0:0:3]", "[1:0:0:2::3]"),
        ("[::ffff:1.2.3.4]", "[::ffff:102:304]"),
        ("ex%41mple.com", "example.com"),
        ("a b", "a%20b"),
        ("\u0261oogle.com", "xn--oogle-qmc.com"),
        ("1.2.3.256", ""),
        ("a:b", ""),
        ("a<b", ""),
        ("%zz", ""),
        ("\ufdd0x", ""),
    ],
)
def test_canonicalize_host(core: ModuleType, host: str, expected: str) -> None:
    assert core.canonicalize_host(host) == expected


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("http://a.com/x/*", "HTTP://A.COM/y/../x/z", True),
        ("http://a.com/x*", "http://a.com/%78yz", True),
        ("http://a.com/a b", "http://a.com/a%20b", False),
        ("http://a.com/a%20b", "http://a.com/a b", True),
        ("http://a.com/*", "http://a.com:0080/", True),
        ("http://a.com:8080/*", "http://a.com:8080/", True),
        ("http://a.com/\\*", "http://a.com\\\\x", False),
        ("http://a.com/?q*", "http://a.com/?q=1#frag", True),
        ("http://a.com/*#*", "http://a.com/#frag", False),
        ("https://*.b.com/*", "https://x.y.b.com./", True),
        ("https://*.b.com/*", "https://xb.com/", False),
        ("http://[::1]/*", "http://[0::1]:99/p", True),
        ("*://*.1/*", "http://127.0.0.1/", False),
        ("ws://h/*", "ws://h/", True),
        ("file:///tmp/*", "file:///tmp/../tmp/a", True),
        ("filesystem://*/*", "filesystem:http://a.com/t/x", False),
        ("http://*/*", "filesystem:http://a.com/t/x", True),
        ("http://*/*", "http://a.com:99999/", False),
        ("about:*", "about:blank#x", True),
        # A non-special URL with an authority has a host, which a "custom:" pattern lacks.
        ("custom:*", "custom://host/path", False),
        ("custom:*", "custom:opaque?q", True),
        ("custom:/p*", "custom:/p/../p2", True),
    ],
)
def test_match_edges(core: ModuleType, pattern: str, url: str, expected: bool) -> None:
    assert core.URLPattern(pattern).matches_url(url) is expected


# ---------------------------------------------------------------- URLPatternSet


def test_set_basics(core: ModuleType) -> None:
    patterns = core.URLPatternSet()
    patterns.add("*://*.example.com/*", 0)
    patterns.add("https://example.org/path/*", 1)
    patterns.add("<all_urls>", 2)
    patterns.add("http://*/private*", 3)
    patterns.add("file:///etc/*", 4)
    patterns.add("https://example.org/path/*", 63)
    assert len(patterns) == 6
    assert patterns.match_mask("https://www.example.com/x") == 0b101
    assert patterns.match_mask("https://example.org/path/q?x=1") == (1 << 63) | 0b110
    assert patterns.match_mask("http://h/private/1") == 0b1100
    assert patterns.match_mask("file:///etc/passwd") == 0b10100
    assert patterns.match_mask("not a url") == 0
    patterns.remove_tag(2)
    assert len(patterns) == 5
    assert patterns.match_mask("https://www.example.com/x") == 0b1
    patterns.clear()
    assert len(patterns) == 0
    assert patterns.match_mask("https://www.example.com/x") == 0


def test_set_bad_input(core: ModuleType) -> None:
    patterns = core.URLPatternSet()
    patterns.add("http://a/*", 1)
    with pytest.raises(core.URLPatternError) as caught:
        patterns.add("http://a", 2)
    assert caught.value.reason == "kEmptyPath"
    for tag in (-1, 64, "1", 1.0):
        with pytest.raises((ValueError, TypeError), match="tag"):
            patterns.add("http://b/*", tag)
    with pytest.raises(TypeError, match="url"):
        patterns.match_mask(12)  # type: ignore[arg-type]
    assert len(patterns) == 1
    assert patterns.match_mask("http://a/") == 0b10


def test_bad_arguments(core: ModuleType) -> None:
    for bad in (1 << 40, -2, True, "SCHEME_ALL"):
        with pytest.raises(ValueError, match="valid_schemes"):
            core.URLPattern("http://a/*", bad)
        with pytest.raises(ValueError, match="valid_schemes"):
            core.URLPatternSet(bad)
    with pytest.raises(TypeError, match="pattern"):
        core.URLPattern(b"http://a/*")
    with pytest.raises(ValueError, match="tag"):
        core.URLPatternSet().remove_tag(64)


def test_compiled_core_loaded() -> None:
    module = load_core("urlpattern", "c")
    assert module.__name__ == "websession._urlpattern_c"
    assert module.__file__ is not None and not module.__file__.endswith(".py")


# ---------------------------------------------------------------- differential (hypothesis)

_LABELS = st.sampled_from(["a", "b", "example", "com", "org", "xn--gkd", "1", "0x1", "A", "ex%41", "é"])
_HOSTS = st.one_of(
    st.lists(_LABELS, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["127.0.0.1", "0.0.1", "[::1]", "[1::2]", "localhost", "", "a..", "a b", "x:1"]),
)
_PATHS = st.lists(
    st.sampled_from(["", "a", "b", "*", "..", ".", "%2e", "a*b", "?", "q=1", "\\", "#f", "%41", " "]),
    max_size=5,
).map(lambda parts: "/" + "/".join(parts))
_SCHEMES = st.sampled_from(["http", "https", "*", "file", "ws", "ftp", "chrome", "about", "data", "x-y"])
_PORTS = st.sampled_from(["", ":80", ":8080", ":*", ":0080", ":", ":99999", ":443"])


@st.composite
def patterns(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 19)) == 0:
        return "<all_urls>"
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=30))
    scheme = draw(_SCHEMES)
    if scheme in ("about", "data", "x-y"):
        return f"{scheme}:{draw(st.sampled_from(['*', 'blank', 'a*', '//h/*', '/x*']))}"
    host = draw(st.one_of(st.just("*"), _HOSTS, _HOSTS.map(lambda h: "*." + h)))
    return f"{scheme}://{host}{draw(_PORTS)}{draw(_PATHS)}"


@st.composite
def urls(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=40))
    scheme = draw(st.sampled_from(["http", "https", "file", "ws", "ftp", "chrome", "about", "data",
                                   "filesystem:http", "HTTP", "x-y", "javascript"]))
    if scheme in ("about", "data", "javascript", "x-y"):
        return f"{scheme}:{draw(st.sampled_from(['blank', '', '//h/p', 'a?b#c', '/x/../y']))}"
    host = draw(_HOSTS)
    prefix = draw(st.sampled_from(["", "sub.", "a.b."]))
    slash = draw(st.sampled_from(["//", "///", "/", "\\\\", ""]))
    return f"{scheme}:{slash}{prefix}{host}{draw(_PORTS)}{draw(_PATHS)}"


def _outcome(module: ModuleType, pattern: str) -> Any:
    try:
        parsed = module.URLPattern(pattern)
    except module.URLPatternError as error:
        return ("error", error.reason, str(error))
    return (
        parsed.get_as_string(), parsed.scheme, parsed.host, parsed.port, parsed.path,
        parsed.match_subdomains, parsed.match_all_urls,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=st.one_of(patterns(), st.text(max_size=40)))
def test_parse_differential(pattern: str) -> None:
    twin, compiled = load_core("urlpattern", "python"), load_core("urlpattern", "c")
    assert _outcome(twin, pattern) == _outcome(compiled, pattern)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern_list=st.lists(patterns(), min_size=1, max_size=12),
    url_list=st.lists(st.one_of(urls(), st.binary(max_size=30).map(lambda b: "http://" + b.decode("latin-1"))), min_size=1, max_size=6),
)
def test_match_mask_differential(pattern_list: list[str], url_list: list[str]) -> None:
    twin, compiled = load_core("urlpattern", "python"), load_core("urlpattern", "c")
    sets = (twin.URLPatternSet(), compiled.URLPatternSet())
    singles = []
    for tag, pattern in enumerate(pattern_list):
        outcomes = []
        for module, pattern_set in zip((twin, compiled), sets):
            try:
                pattern_set.add(pattern, tag)
                outcomes.append("ok")
            except module.URLPatternError as error:
                outcomes.append(error.reason)
        assert outcomes[0] == outcomes[1]
        if outcomes[0] == "ok":
            singles.append((tag, twin.URLPattern(pattern), compiled.URLPattern(pattern)))
    assert len(sets[0]) == len(sets[1])
    for url in url_list:
        mask = sets[0].match_mask(url)
        assert sets[1].match_mask(url) == mask, url
        # The index finds exactly what testing every pattern one by one finds.
        expected = 0
        for tag, twin_pattern, compiled_pattern in singles:
            matched = twin_pattern.matches_url(url)
            assert compiled_pattern.matches_url(url) is matched, (twin_pattern, url)
            if matched:
                expected |= 1 << tag
        assert mask == expected, url


@settings(max_examples=300, deadline=None)
@given(host=st.one_of(_HOSTS, st.text(max_size=12)))
def test_canonicalize_host_differential(host: str) -> None:
    twin, compiled = load_core("urlpattern", "python"), load_core("urlpattern", "c")
    assert twin.canonicalize_host(host) == compiled.canonicalize_host(host)
