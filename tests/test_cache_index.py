"""The cache index core, on both implementations, plus differential tests between them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import load_core


@pytest.fixture
def index_module(implementation: str) -> Any:
    return load_core("cacheindex", implementation)


def test_compiled_core_is_loaded() -> None:
    module = load_core("cacheindex", "c")
    assert module.__file__ is not None and not module.__file__.endswith(".py")


def test_put_get_and_total(index_module: Any) -> None:
    index = index_module.CacheIndex(1000)
    assert index.max_size == 1000
    assert index.total_size == 0 and len(index) == 0
    assert index.put("a", 100, "meta-a", 50.0, 10.0) == []
    assert index.put("b", 200, "meta-b") == []
    assert index.total_size == 300 and len(index) == 2 and "a" in index
    entry = index.get("a")
    assert entry.key == "a" and entry.size == 100 and entry.meta == "meta-a"
    assert entry.expires == 50.0 and entry.response_time == 10.0 and entry.last_use > 0
    assert index.keys() == ["b", "a"]  # get made "a" the most recent
    assert index.get("missing") is None and index.peek("missing") is None
    assert index_module.DEFAULT_MAX_SIZE == 256 * 1024 * 1024
    assert index_module.CacheIndex().max_size == 256 * 1024 * 1024


def test_replace_counts_once_and_discards_old(index_module: Any) -> None:
    index = index_module.CacheIndex(1000)
    index.put("a", 100, 1)
    old = index.peek("a")
    discard = index.put("a", 300, 2)
    assert discard == [old] and old.doomed
    assert index.total_size == 300 and index.peek("a").meta == 2


def test_lru_eviction(index_module: Any) -> None:
    index = index_module.CacheIndex(300)
    for key in "abc":
        index.put(key, 100, key)
    index.get("a")  # b is now the least recently used
    discard = index.put("d", 100, "d")
    assert [e.key for e in discard] == ["b"]
    assert index.keys() == ["c", "a", "d"] and index.total_size == 300
    discard = index.put("e", 250, "e")
    assert sorted(e.key for e in discard) == ["a", "c", "d"]
    assert index.keys() == ["e"] and index.total_size == 250


def test_too_large_changes_nothing(index_module: Any) -> None:
    index = index_module.CacheIndex(100)
    index.put("a", 60, None)
    with pytest.raises(ValueError, match="exceeds"):
        index.put("b", 101, None)
    assert index.keys() == ["a"] and index.total_size == 60
    assert index.fits(100) and not index.fits(101)


def test_bad_arguments(index_module: Any) -> None:
    with pytest.raises(TypeError, match="max_size"):
        index_module.CacheIndex("big")
    with pytest.raises(ValueError, match="max_size"):
        index_module.CacheIndex(-1)
    index = index_module.CacheIndex(100)
    with pytest.raises(TypeError, match="key"):
        index.put(5, 1)
    with pytest.raises(TypeError, match="size"):
        index.put("a", 1.5)
    with pytest.raises(ValueError, match="size"):
        index.put("a", -1)
    assert len(index) == 0


def test_doomed_entry_survives_its_readers(index_module: Any) -> None:
    index = index_module.CacheIndex(1000)
    index.put("a", 100, "v1")
    reader = index.get("a")
    index.acquire(reader)
    index.acquire(reader)
    assert index.put("a", 100, "v2") == []  # replaced while read: doomed, not discarded
    assert reader.doomed and index.peek("a").meta == "v2" and index.total_size == 100
    assert index.release(reader) is False
    assert index.release(reader) is True  # the last reader: its body may go now
    with pytest.raises(ValueError):
        index.release(reader)
    live = index.get("a")
    index.acquire(live)
    assert index.remove("a") == [] and live.doomed and index.total_size == 0
    assert index.release(live) is True


def test_resize_touch_set_max_size_clear(index_module: Any) -> None:
    index = index_module.CacheIndex(1000)
    for key in "abcd":
        index.put(key, 200, key)
    entry = index.peek("a")
    assert [e.key for e in index.resize(entry, 500)] == ["b"]  # a grows past the limit
    assert index.total_size == sum(index.peek(k).size for k in index.keys())  # noqa: SIM118 - keys() is the API under test
    index.touch(entry, 99.0, 11.0)
    assert entry.expires == 99.0 and entry.response_time == 11.0
    discard = index.set_max_size(600)
    assert index.total_size == 500 and [e.key for e in discard] == ["c", "d"]
    assert index.max_size == 600
    held = index.peek(index.keys()[0])
    index.acquire(held)
    rest = index.clear()
    assert held not in rest and held.doomed and index.total_size == 0 and len(index) == 0


ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcdefgh"), st.integers(-2, 400)),
        st.tuples(st.just("get"), st.sampled_from("abcdefghz"), st.just(0)),
        st.tuples(st.just("remove"), st.sampled_from("abcdefghz"), st.just(0)),
        st.tuples(st.just("acquire"), st.sampled_from("abcdefgh"), st.just(0)),
        st.tuples(st.just("release"), st.sampled_from("abcdefgh"), st.just(0)),
        st.tuples(st.just("limit"), st.just(""), st.integers(-1, 1200)),
        st.tuples(st.just("clear"), st.just(""), st.just(0)),
    ),
    max_size=60,
)


def _apply(module: Any, operations: list[tuple[str, str, int]]) -> list[Any]:
    index = module.CacheIndex(1000)
    held: dict[str, list[Any]] = {}
    trace: list[Any] = []
    for op, key, n in operations:
        try:
            if op == "put":
                out = [e.key for e in index.put(key, n, key)]
            elif op == "get":
                entry = index.get(key)
                out = None if entry is None else (entry.key, entry.size)
            elif op == "remove":
                out = [e.key for e in index.remove(key)]
            elif op == "acquire":
                entry = index.peek(key)
                if entry is not None:
                    index.acquire(entry)
                    held.setdefault(key, []).append(entry)
                out = entry is not None
            elif op == "release":
                out = index.release(held[key].pop()) if held.get(key) else None
            elif op == "limit":
                out = [e.key for e in index.set_max_size(n)]
            else:
                out = sorted(e.key for e in index.clear())
        except (TypeError, ValueError) as error:
            out = (type(error).__name__, str(error))
        trace.append((out, index.keys(), index.total_size, len(index)))
    return trace


@settings(max_examples=300, deadline=None)
@given(ops)
def test_differential(operations: list[tuple[str, str, int]]) -> None:
    python = _apply(load_core("cacheindex", "python"), operations)
    compiled = _apply(load_core("cacheindex", "c"), operations)
    assert python == compiled
