"""proxyRules / proxyBypassRules parsing and matching against Chromium's unit-test corpora."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import CORPORA, load_core

from websession import _proxy_rules as pr

PROXY = CORPORA / "proxy"


def _load(name: str) -> dict:
    return json.loads((PROXY / name).read_text())


def _bypass(text: str, implementation: str) -> pr.ProxyBypassRules:
    return pr.ProxyBypassRules.parse(text, core=load_core("bypass", implementation))


# ------------------------------------------------------------------ proxy URIs and PAC elements


def test_proxy_uri_corpus() -> None:
    data = _load("chromium_proxy_string_util.json")
    scheme_names = {"SCHEME_HTTP": "http", "SCHEME_HTTPS": "https", "SCHEME_SOCKS4": "socks4",
                    "SCHEME_SOCKS5": "socks5"}
    for case in data["proxy_uri_to_proxy_server"]["cases"]:
        server = pr.parse_proxy_uri(case["input_uri"])
        assert server is not None, case
        assert server.to_uri() == case["expected_uri"]
        assert server.scheme == scheme_names[case["expected_scheme"]]
        assert server.host == case["expected_host"]
        assert server.port == case["expected_port"]
        assert server.to_pac() == case["expected_pac_string"]
    for bad in data["invalid_proxy_uri"]["cases"]:
        # "direct://" is no proxy *server* (ProxyUriToProxyServer) but a valid DIRECT chain.
        parsed = pr.parse_proxy_uri(bad)
        assert parsed is None or (bad == "direct://" and parsed.is_direct), bad
    for text in data["whitespace_proxy_uri"]["cases"]:
        server = pr.parse_proxy_uri(text)
        assert server is not None and server.to_uri() == data["whitespace_proxy_uri"]["expected_uri"]
    for text in data["direct_proxy_uri"]["valid_direct"]:
        assert pr.parse_proxy_uri(text) == pr.DIRECT_SERVER
    for text in data["direct_proxy_uri"]["invalid"]:
        assert pr.parse_proxy_uri(text) is None
    for case in data["pac_result_element_to_proxy_server"]["cases"]:
        server = pr.parse_pac_element(case["input_pac"])
        assert server is not None and server.to_uri() == case["expected_uri"], case
    for bad in data["invalid_pac_result_element"]["cases"]:
        assert pr.parse_pac_element(bad) is None, bad


# ------------------------------------------------------------------ proxyRules


def _check_parsed(rules: pr.ProxyRules, case: dict) -> None:
    assert rules.type == case["type"], case
    assert rules.single_proxies.to_debug() == case["single_proxy"], case
    assert rules.proxies_for_http.to_debug() == case["proxy_for_http"], case
    assert rules.proxies_for_https.to_debug() == case["proxy_for_https"], case
    assert rules.proxies_for_ftp.to_debug() == case["proxy_for_ftp"], case
    assert rules.fallback_proxies.to_debug() == case["fallback_proxy"], case


def test_parse_proxy_rules_corpus() -> None:
    data = _load("chromium_proxy_rules.json")
    for case in data["parse_proxy_rules"]:
        _check_parsed(pr.ProxyRules.parse(case["proxy_rules"]), case)
    for case in data["multi_proxy_chains_parse"]["cases"]:
        _check_parsed(pr.ProxyRules.parse(case["proxy_rules"], allow_bracketed_proxy_chains=True),
                      case)
    for case in data["quic"]["cases"]:
        rules = pr.ProxyRules.parse(case["proxy_rules"], quic_allowed=case["is_quic_allowed"])
        _check_parsed(rules, case)


def test_apply_corpus(implementation: str) -> None:
    data = _load("chromium_proxy_rules.json")
    core = load_core("bypass", implementation)
    for case in data["apply"]:
        rules = pr.ProxyRules.parse(case["proxy_rules"])
        rules.bypass_rules = pr.ProxyBypassRules.parse(case.get("bypass_rule", ""), core=core)
        rules.reverse_bypass = case.get("reverse_bypass", False)
        url = pr.split_url(case["url"])
        assert url is not None
        result, bypassed = rules.apply(url)
        if "expect_direct_only" in case:
            assert (result.to_pac_string() == "DIRECT") == case["expect_direct_only"], case
            assert bypassed == case["did_bypass_proxy"], case
        else:
            assert result.to_pac_string() == case["expected_proxy_info"], case


def test_to_value_corpus() -> None:
    data = _load("chromium_proxy_rules.json")
    for case in data["to_value"]:
        config_in = case["config"]
        if "override_rules" in config_in:
            continue  # ProxyOverrideRules are not reachable through Electron's setProxy.
        rules = pr.ProxyRules.parse(
            config_in.get("proxy_rules", ""),
            allow_bracketed_proxy_chains=config_in.get("allow_bracketed_proxy_chains", False))
        rules.bypass_rules = pr.ProxyBypassRules.parse(",".join(config_in.get("bypass_rules", [])))
        rules.reverse_bypass = config_in.get("reverse_bypass", False)
        config = pr.ProxyConfig(auto_detect=config_in.get("auto_detect", False),
                                pac_url=config_in.get("pac_url", ""),
                                pac_mandatory=config_in.get("pac_mandatory", False),
                                rules=rules)
        assert config.to_json() == case["expected_json"], case["name"]


DOC_EXAMPLES = [
    ("http=foopy:80;ftp=foopy2", "http://x/", "PROXY foopy:80"),
    ("http=foopy:80;ftp=foopy2", "ftp://x/", "PROXY foopy2:80"),
    ("http=foopy:80;ftp=foopy2", "https://x/", "DIRECT"),
    ("foopy:80", "https://x/", "PROXY foopy:80"),
    ("foopy:80,bar,direct://", "http://x/", "PROXY foopy:80;PROXY bar:80;DIRECT"),
    ("socks4://foopy", "http://x/", "SOCKS foopy:1080"),
    ("http=foopy,socks5://bar.com", "http://x/", "PROXY foopy:80;SOCKS5 bar.com:1080"),
    ("http=foopy,direct://", "http://x/", "PROXY foopy:80;DIRECT"),
    ("http=foopy;socks=foopy2", "http://x/", "PROXY foopy:80"),
    ("http=foopy;socks=foopy2", "https://x/", "SOCKS foopy2:1080"),
    ("http=myproxy:80", "http://example.com/", "PROXY myproxy:80"),
    ("foopy:80;http=bar", "http://x/", "PROXY foopy:80"),
]


@pytest.mark.parametrize(("rules", "url", "expected"), DOC_EXAMPLES)
def test_doc_examples(rules: str, url: str, expected: str) -> None:
    config = pr.config_from_electron(None, proxy_rules=rules)
    parts = pr.split_url(url)
    assert parts is not None
    assert config.rules.apply(parts)[0].to_pac_string() == expected


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="Invalid mode, must be one of direct, auto_detect"):
        pr.config_from_electron("DIRECT")
    assert pr.config_from_electron("direct", proxy_rules="http=myproxy:80").rules.empty
    assert pr.config_from_electron(None, pac_script="http://x/p.pac").pac_mandatory


# ------------------------------------------------------------------ bypass rules


def test_bypass_corpus(implementation: str) -> None:
    data = _load("chromium_proxy_bypass_rules.json")
    for case in data["rule_tests"]:
        rules = _bypass(case["parse_from_string"], implementation)
        if "expected_rules_to_string" in case:
            assert rules.to_strings() == case["expected_rules_to_string"], case["test"]
        if "expected_rule_count" in case:
            assert len(rules) == case["expected_rule_count"]
        cases = list(case["url_cases"])
        cases += case.get("url_cases_by_platform", {}).get("non_windows", [])
        for url_case in cases:
            assert rules.matches(url_case["url"]) == url_case["expected"], (case["test"], url_case)
    for case in data["add_rule_from_string"]:
        assert (pr.parse_bypass_rule(case["rule"]) is not None) == case["accepted"], case
    for case in data["equals"]:
        a = _bypass(case["a"], implementation)
        b = _bypass(case["b"], implementation)
        assert (a == b) == case["equal"]
    misc = data["misc"]["AddRulesToSubtractImplicit"]
    rules = _bypass(misc["parse_from_string"] + ";<-loopback>", implementation)
    assert rules.to_strings() == misc["expected_rules_to_string"]
    assert str(_bypass("<-loopback>", implementation)) == data["misc"]["GetRulesToSubtractImplicit"]


def test_bypass_helper_host_sets(implementation: str) -> None:
    sets = _load("chromium_proxy_bypass_rules.json")["helper_host_sets"]
    empty = _bypass("", implementation)
    subtract = _bypass("<-loopback>", implementation)
    for scheme in sets["schemes"]:
        for host in sets["localhost"] + sets["link_local"]:
            assert empty.matches(scheme + host), host
            assert not subtract.matches(scheme + host), host
        for host in sets["misc"] + sets["loopback_names"]:
            assert not empty.matches(scheme + host), host


def test_bypass_many_rules_last_wins(implementation: str) -> None:
    core = load_core("bypass", implementation)
    text = ",".join(f"*.site{i}.example" for i in range(1000)) + ",<-loopback>,localhost"
    rules = pr.ProxyBypassRules.parse(text, core=core)
    assert rules.matches("http://a.site999.example/")
    assert not rules.matches("http://site999.example/")
    assert rules.matches("http://localhost/")
    assert not rules.matches("http://127.0.0.1/")


def test_glob_rules(implementation: str) -> None:
    rules = _bypass("x?y.com, https://a*.b*.c:99, \\*lit.com", implementation)
    assert rules.matches("http://xy.com/")  # '?' matches zero or one character
    assert rules.matches("http://xay.com/")
    assert not rules.matches("http://xaay.com/")
    assert rules.matches("https://a1.b2.c:99/")
    assert not rules.matches("http://a1.b2.c:99/")
    assert not rules.matches("http://zlit.com/")


# ------------------------------------------------------------------ system (environment)


def test_environment_config() -> None:
    env = {"http_proxy": "http://user:pw@proxy.example:3128/", "HTTPS_PROXY": "sproxy:8443",
           "no_proxy": "internal.example,10.0.0.0/8"}
    config = pr.config_from_environment(env)
    assert config.from_system
    parts = pr.split_url("http://a.example/")
    assert parts is not None
    assert config.rules.apply(parts)[0].to_pac_string() == "PROXY proxy.example:3128"
    parts = pr.split_url("https://a.example/")
    assert parts is not None
    assert config.rules.apply(parts)[0].to_pac_string() == "PROXY sproxy:8443"
    for bypassed in ("http://internal.example/", "http://x.internal.example/", "http://10.1.2.3/"):
        url = pr.split_url(bypassed)
        assert url is not None and config.rules.apply(url)[0].to_pac_string() == "DIRECT"
    socks = pr.config_from_environment({"SOCKS_SERVER": "socks.example", "SOCKS_VERSION": "4"})
    url = pr.split_url("http://a/")
    assert url is not None and socks.rules.apply(url)[0].to_pac_string() == "SOCKS socks.example:1080"
    assert pr.config_from_environment({"all_proxy": "allp:1"}).rules.type == "PROXY_LIST"
    assert pr.config_from_environment({"auto_proxy": ""}).auto_detect
    assert pr.config_from_environment({}).rules.empty


# ------------------------------------------------------------------ differential fuzzing

_HOST_CHARS = "abcx.-*?\\0123:[]f"
_hosts = st.one_of(
    st.text(_HOST_CHARS, min_size=0, max_size=12),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a.compressed}]"),
    st.sampled_from(["localhost", "a.localhost.", "127.0.0.1", "[::1]", "169.254.1.1", "x"]),
)
_rule_text = st.lists(
    st.one_of(st.text(_HOST_CHARS + "/<>lo", max_size=14), _hosts,
              st.sampled_from(["<local>", "<-loopback>", "10.0.0.0/8", "::/0", "http://*x*"])),
    max_size=8,
).map(",".join)


@settings(max_examples=300, deadline=None)
@given(rules=_rule_text, host=_hosts, scheme=st.sampled_from(["http", "https", "ftp"]),
       port=st.integers(-1, 100), reverse=st.booleans())
def test_bypass_twins_agree(rules: str, host: str, scheme: str, port: int, reverse: bool) -> None:
    parsed = pr.ProxyBypassRules.parse(rules, core=load_core("bypass", "python"))
    tuples = [r.core_tuple() for r in parsed.rules]
    py = load_core("bypass", "python")
    c = load_core("bypass", "c")
    a = py.BypassMatcher(tuples)
    b = c.BypassMatcher(tuples)
    assert a.evaluate(scheme, host, port) == b.evaluate(scheme, host, port)
    assert a.matches(scheme, host, port, reverse) == b.matches(scheme, host, port, reverse)
    assert py.matches_implicit(host) == c.matches_implicit(host)
    assert py.ip_bytes(host) == c.ip_bytes(host)


@settings(max_examples=300, deadline=None)
@given(text=st.text("ab*?\\.", max_size=8), pattern=st.text("ab*?\\.", max_size=8))
def test_match_pattern_twins_agree(text: str, pattern: str) -> None:
    assert load_core("bypass", "python").match_pattern(text, pattern) == load_core(
        "bypass", "c").match_pattern(text, pattern)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parsers_never_crash(text: str) -> None:
    pr.ProxyRules.parse(text)
    pr.ProxyBypassRules.parse(text)
    pr.parse_pac_element(text)
    pr.split_url(text)
    pr.ProxyList.from_pac_string(text).to_pac_string()
