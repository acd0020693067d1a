"""Preloads, code cache, blobs and service workers (issue 10, parts 5-6)."""

from __future__ import annotations

import asyncio
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from websession import session
from websession._errors import NetError, SessionError

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _memory_session() -> Any:
    return session.from_partition(f"profile-misc-{uuid.uuid4().hex}")


@pytest.fixture
async def open_session() -> AsyncIterator[Callable[..., Any]]:
    """``open_session(folder)`` is a persistent session on ``folder``; without it, an in-memory one."""
    opened: list[Any] = []

    def open_(folder: Path | None = None) -> Any:
        ses = _memory_session() if folder is None else session.from_path(folder)
        opened.append(ses)
        return ses

    yield open_
    for ses in opened:
        await ses.close()


# -- preloads ------------------------------------------------------------------------------------


def test_register_preload_scripts(open_session: Callable[..., Any]) -> None:
    ses = open_session()
    first = ses.register_preload_script({"type": "frame", "filePath": "/a/preload.js"})
    assert UUID4.match(first)
    assert ses.registerPreloadScript(type="service-worker", file_path="/a/sw.js", id="sw") == "sw"
    assert [s.to_dict() for s in ses.get_preload_scripts()] == [
        {"filePath": "/a/preload.js", "id": first, "type": "frame"},
        {"filePath": "/a/sw.js", "id": "sw", "type": "service-worker"},
    ]
    assert list(ses.get_preload_scripts()[0].to_dict()) == ["filePath", "id", "type"]
    with pytest.raises(SessionError, match="^Cannot register preload script with existing ID 'sw'$"):
        ses.register_preload_script(type="frame", file_path="/b.js", id="sw")
    with pytest.raises(SessionError, match="^Preload script must have absolute path: rel.js$"):
        ses.register_preload_script(type="frame", file_path="rel.js")
    with pytest.raises(TypeError, match="conversion failure"):
        ses.register_preload_script(type="worker", file_path="/c.js")
    with pytest.raises(TypeError, match="conversion failure"):
        ses.register_preload_script(type="frame")
    assert len(ses.get_preload_scripts()) == 2  # nothing changed by the bad calls
    ses.unregister_preload_script("sw")
    with pytest.raises(SessionError,
                       match="^Cannot unregister preload script with non-existing ID 'sw'$"):
        ses.unregisterPreloadScript("sw")
    assert [s.id for s in ses.getPreloadScripts()] == [first]


def test_deprecated_set_preloads(open_session: Callable[..., Any]) -> None:
    ses = open_session()
    ses.register_preload_script(type="frame", file_path="/keep/old.js", id="old")
    ses.register_preload_script(type="service-worker", file_path="/keep/sw.js", id="sw")
    with pytest.warns(DeprecationWarning):
        ses.set_preloads(["/x/a.js", "relative.js"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ses.setPreloads(["/x/a.js", "relative.js"])  # warns only once
    with pytest.warns(DeprecationWarning):
        assert ses.get_preloads() == ["/x/a.js", "relative.js"]
    assert [s.type for s in ses.get_preload_scripts()] == ["service-worker", "frame", "frame"]
    with pytest.raises(TypeError):
        ses.set_preloads("/x/a.js")


# -- code cache ------------------------------------------------------------------------------------


async def test_code_cache_path_and_clearing(tmp_path: Path, open_session: Callable[..., Any]) -> None:
    ses = open_session(tmp_path / "profile")
    assert ses.get_code_cache_path() == str(tmp_path / "profile" / "Code Cache")
    with pytest.raises(TypeError, match="^Absolute path must be provided to store code cache.$"):
        ses.set_code_cache_path("relative")
    target = tmp_path / "cc" / "nested"
    ses.setCodeCachePath(str(target))
    assert target.is_dir()
    ses._store_code_cache("https://a.test/app.js", b"code-a")
    ses._store_code_cache("https://b.test/lib.js", b"code-b")
    ses._store_code_cache("https://b.test/m.wasm", b"wasm", kind="wasm")
    await ses.clear_code_caches(urls=["https://a.test/app.js", "https://none.test/"])
    assert sorted(ses._code_cache_urls()) == ["https://b.test/lib.js", "https://b.test/m.wasm"]
    await ses.clearCodeCaches({"urls": []})
    assert ses._code_cache_urls() == []
    await ses.clear_code_caches()
    with pytest.raises(TypeError, match="urls"):
        await ses.clear_code_caches(urls="https://a.test/")
    memory = open_session()
    assert memory.get_code_cache_path() is None
    await memory.clear_code_caches()


# -- blobs -----------------------------------------------------------------------------------------


async def test_blob_registry_and_get_blob_data(open_session: Callable[..., Any]) -> None:
    ses = open_session()
    key = ses.blobs.register(b"hello blob", "Text/Plain")
    assert UUID4.match(key)
    assert await ses.get_blob_data(key) == b"hello blob"
    assert await ses.getBlobData(key.upper()) == b"hello blob"
    url = ses.blobs.create_object_url("text", origin="https://a.test/page", mime_type="text/html")
    assert url.startswith("blob:https://a.test/")
    assert ses.blobs.resolve(url) == (b"text", "text/html")
    assert ses.blobs.resolve(f"blob:null/{key}#frag") == (b"hello blob", "text/plain")
    ses.blobs.revoke_object_url(url)
    with pytest.raises(NetError) as caught:
        ses.blobs.resolve(url)
    assert caught.value.name == "net::ERR_FILE_NOT_FOUND"
    with pytest.raises(SessionError, match="^Could not get blob data handle$"):
        await ses.get_blob_data("00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValueError, match="not a blob: URL"):
        ses.blobs.resolve("https://a.test/x")
    with pytest.raises(TypeError):
        ses.blobs.register(123)  # type: ignore[arg-type]
    assert ses.blobs.unregister(key) is True and ses.blobs.unregister(key) is False


@given(st.binary(max_size=2048))
@settings(max_examples=50, deadline=None)
def test_blob_round_trip(data: bytes) -> None:
    async def check() -> None:
        ses = _memory_session()
        try:
            url = ses.blobs.create_object_url(data)
            assert ses.blobs.resolve(url)[0] == data
        finally:
            await ses.close()

    asyncio.run(check())


# -- service workers --------------------------------------------------------------------------


async def test_service_workers_of_a_session_that_runs_none(open_session: Callable[..., Any]) -> None:
    ses = open_session()
    workers = ses.service_workers
    assert workers is ses.serviceWorkers
    assert workers.get_all_running() == {} and workers.getAllRunning() == {}
    with pytest.raises(SessionError, match="^Could not find service worker with that version_id$"):
        workers.get_info_from_version_id(1)
    with pytest.warns(DeprecationWarning), pytest.raises(SessionError):
        workers.get_from_version_id(1)
    assert workers.get_worker_from_version_id(7) is None
    assert workers.getWorkerFromVersionID(7) is None
    with pytest.raises(SessionError):
        workers.getInfoFromVersionID(3)
    with pytest.raises(TypeError, match="conversion failure"):
        workers.get_info_from_version_id("1")  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="^Failed to start service worker"):
        await workers.start_worker_for_scope("https://a.test/")
    with pytest.raises(SessionError, match="^Invalid scope URL: nope$"):
        await workers.startWorkerForScope("nope")
    events: list[object] = []
    workers.on("console-message", lambda event, details: events.append(details))
    assert workers.listener_count("console-message") == 1
    assert events == []
