"""RFC 9111 rules in isolation, and the header parsers fuzzed with hostile input."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from websession._cache_policy import (
    Freshness,
    format_http_date,
    headers_size,
    invalidation_targets,
    is_storable,
    merge_headers,
    parse_age,
    parse_cache_control,
    parse_http_date,
    request_cache_control,
    satisfies_request,
    single_range,
    storable_headers,
    vary_key,
    vary_names,
)


def test_http_dates() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0
    assert parse_http_date("sUN, 06 nOV 1994 08:49:37 gmt") == 784111777.0
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777.0
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777.0
    for bad in ("0", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 94 08:49:37 GMT",
                "Sun 06 Nov 1994 08:49:37 GMT", "Sun, 06  Nov 1994 08:49:37 GMT",
                "Sun, 06-Nov-1994 08:49:37 GMT", "Sun, 06 Nov 1994 08.49.37 GMT",
                "Sun, 06 Nov 1994 8:49:37 GMT", "", None):
        assert parse_http_date(bad) is None, bad


def test_cache_control_parsing() -> None:
    assert parse_cache_control(["max-age=10, No-Store"]) == {"max-age": "10", "no-store": None}
    assert parse_cache_control(['extension="max-age=3600", max-age=1'])["max-age"] == "1"
    assert parse_cache_control(["max-age=1800, max-age=1"])["max-age"] == "1800"
    assert parse_cache_control(["max-age =3600"]) == {}
    assert parse_cache_control(['no-cache="a, b"'])["no-cache"] == "a, b"


def test_age_parsing() -> None:
    assert parse_age(["abc"]) == 0 and parse_age(["-7200"]) == 0 and parse_age(["7200.0"]) == 0
    assert parse_age(["7200, 0"]) == 7200 and parse_age(["0, 7200"]) == 0
    assert parse_age(["2147483649"]) == 2147483648 and parse_age(["7200;foo=bar"]) == 7200


def test_freshness_arithmetic() -> None:
    now = time.time()
    headers = [("Date", format_http_date(now - 100)), ("Cache-Control", "max-age=3600"),
               ("Age", "50")]
    fresh = Freshness(200, headers, now - 1, now)
    assert fresh.lifetime == 3600
    assert 99 <= fresh.corrected_initial_age <= 101  # apparent age wins over Age + delay
    assert satisfies_request(fresh, now + 10, {})
    assert not satisfies_request(fresh, now + 3600, {})
    assert satisfies_request(fresh, now + 3600, {"max-stale": None})
    assert not satisfies_request(fresh, now, {"max-age": "50"})
    assert not satisfies_request(fresh, now, {"min-fresh": "3550"})
    heuristic = Freshness(200, [("Date", format_http_date(now)),
                                ("Last-Modified", format_http_date(now - 1000))], now, now)
    assert heuristic.heuristic and 99 <= heuristic.lifetime <= 101
    assert Freshness(201, [("Last-Modified", format_http_date(now - 1000))], now, now).lifetime == 0
    assert Freshness(200, [("Expires", "0")], now, now).lifetime == 0
    assert Freshness(200, [("Cache-Control", "s-maxage=100, max-age=1")], now, now).lifetime == 1


def test_storable() -> None:
    def storable(status: int, *pairs: tuple[str, str], request: tuple[tuple[str, str], ...] = (),
                 method: str = "GET") -> bool:
        response = CIMultiDict(pairs)
        req = CIMultiDict(request)
        return is_storable(method, status, req, response, request_cache_control(req),
                           parse_cache_control(response.getall("cache-control", [])))

    assert storable(200, ("Cache-Control", "max-age=5"))
    assert not storable(200, ("Cache-Control", "max-age=5, no-store"))
    assert storable(200, ("Cache-Control", "max-age=5, no-store, must-understand"))
    assert not storable(599, ("Cache-Control", "max-age=5, no-store, must-understand"))
    assert not storable(200, ("Cache-Control", "max-age=5"), ("Vary", "Foo, *"))
    assert not storable(200, ("Cache-Control", "max-age=5"), method="POST")
    assert not storable(200, ("Cache-Control", "max-age=5"), request=(("Authorization", "x"),))
    assert storable(200, ("Cache-Control", "max-age=5, public"), request=(("Authorization", "x"),))
    assert not storable(200, ("Cache-Control", "max-age=5"), request=(("Cache-Control", "no-store"),))
    assert not storable(206, ("Cache-Control", "max-age=5"))


def test_headers_vary_merge_invalidation() -> None:
    pairs = [("Connection", "a"), ("A", "1"), ("B", "2"), ("Keep-Alive", "x"), ("C", "3")]
    assert storable_headers(pairs, {"no-cache": "b"}) == [("C", "3")]
    assert vary_names(CIMultiDict([("Vary", ""), ("Vary", "Foo, BAR, foo")])) == ["foo", "bar"]
    assert vary_names(CIMultiDict([("Vary", ", *")])) is None
    one = vary_key(["foo"], CIMultiDict([("Foo", "1"), ("Foo", "2")]))
    assert one == vary_key(["foo"], CIMultiDict([("Foo", " 1 , 2 ")]))
    merged = merge_headers([("A", "1"), ("Content-Length", "36"), ("B", "1")],
                           [("B", "2"), ("Content-Length", "10"), ("D", "4")])
    assert merged == [("A", "1"), ("Content-Length", "36"), ("B", "2"), ("D", "4")]
    targets = invalidation_targets("http://h:1/a#x", CIMultiDict(
        [("Location", "/b"), ("Content-Location", "http://other/c")]))
    assert targets == ["http://h:1/a", "http://h:1/b"]
    assert single_range("bytes=2-4", 10) == (2, 4)
    assert single_range("bytes=-3", 10) == (7, 9)
    assert single_range("bytes=8-", 10) == (8, 9)
    assert single_range("bytes=10-", 10) is None and single_range("bytes=1-2,4-5", 10) is None
    assert headers_size("k", [("A", "bc")]) == 1 + 1 + 2 + 4


hostile = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ['max-age="', '"', ",,,", "max-age=99999999999999999999", "=", "\\", 'a="\\"', "\udcff"])


@settings(max_examples=400, deadline=None)
@given(st.lists(hostile, max_size=4))
def test_parsers_never_fail_on_hostile_input(lines: list[str]) -> None:
    parse_cache_control(lines)
    parse_age(lines)
    request_cache_control(CIMultiDict(("Cache-Control", v) for v in lines))
    headers = [(n, v) for n in ("Date", "Expires", "Last-Modified", "Age", "Cache-Control", "Vary")
               for v in lines]
    fresh = Freshness(200, headers, 0.0, 1.0)
    assert fresh.lifetime >= 0 and fresh.corrected_initial_age >= 0
    assert headers_size("k", headers) >= 1
    for value in lines:
        parsed = parse_http_date(value)
        assert parsed is None or isinstance(parsed, float)
        span = single_range(value, 50)
        assert span is None or 0 <= span[0] <= span[1] < 50


@given(st.floats(min_value=0, max_value=4_000_000_000))
def test_http_date_round_trip(when: float) -> None:
    assert parse_http_date(format_http_date(when)) == float(int(when))
