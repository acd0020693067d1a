"""``clear_storage_data`` and ``clear_data``: validation, and clearing by origin leaves other sites alone."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from websession import SessionError


def cached_site() -> web.Application:
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="page", headers={"Cache-Control": "max-age=600"})

    app.router.add_get("/page", page)
    return app


async def fill(ses: Any, base: str) -> None:
    for url, name in (("https://a.example.com/", "a"), ("https://deep.b.example.com/", "b"), ("https://other.org/", "o")):
        await ses.cookies.set({"url": url, "name": name, "value": "1", "expirationDate": 4102444800})
    await (await ses.fetch(base + "/page")).read()


async def cookie_names(ses: Any) -> list[str]:
    return sorted(c.name for c in await ses.cookies.get({}))


async def test_clear_data_by_origin_uses_registrable_domains(ses: Any, serve: Any) -> None:
    base = await serve(cached_site())
    await fill(ses, base)
    await ses.clear_data({"dataTypes": ["cookies"], "origins": ["https://x.y.example.com"]})
    assert await cookie_names(ses) == ["o"]
    assert await ses.get_cache_size() > 0


async def test_clear_data_exclude_origins(ses: Any, serve: Any) -> None:
    base = await serve(cached_site())
    await fill(ses, base)
    await ses.clear_data(data_types=["cookies", "cache"], exclude_origins=["https://other.org"])
    assert await cookie_names(ses) == ["o"]
    assert await ses.get_cache_size() == 0


async def test_clear_cache_by_origin_keeps_other_origins(ses: Any, serve: Any) -> None:
    first = await serve(cached_site())
    second = await serve(cached_site())
    await (await ses.fetch(first + "/page")).read()
    await (await ses.fetch(second + "/page")).read()
    both = await ses.get_cache_size()
    await ses.clear_data(data_types=["cache"], origins=[first])
    remaining = await ses.get_cache_size()
    assert 0 < remaining < both
    assert (await ses.fetch(second + "/page", cache="only-if-cached")).status == 200


async def test_clear_everything(ses: Any, serve: Any) -> None:
    base = await serve(cached_site())
    await fill(ses, base)
    await ses.clear_data()
    assert await cookie_names(ses) == []
    assert await ses.get_cache_size() == 0


async def test_unknown_and_empty_types_clear_nothing(ses: Any, serve: Any) -> None:
    base = await serve(cached_site())
    await fill(ses, base)
    await ses.clear_data(data_types=["Cookies", "webSQL"])
    await ses.clear_data(data_types=["cookies"], origins=[])
    assert await cookie_names(ses) == ["a", "b", "o"]


async def test_clear_data_validation(ses: Any) -> None:
    with pytest.raises(TypeError, match="Cannot provide both 'origins' and 'excludeOrigins'"):
        await ses.clear_data(origins=["https://a.com"], exclude_origins=["https://b.com"])
    with pytest.raises(TypeError, match="Invalid origin: 'foo'"):
        await ses.clear_data(origins=["foo"])
    with pytest.raises(TypeError, match="Invalid origin: 'data:text/plain,x'"):
        await ses.clear_data(excludeOrigins=["data:text/plain,x"])
    with pytest.raises(TypeError, match="unknown option"):
        await ses.clear_data(types=["cookies"])


async def test_clear_storage_data(ses: Any, serve: Any) -> None:
    base = await serve(cached_site())
    await fill(ses, base)
    await ses.clear_storage_data(storages=["LocalStorage"])
    assert await cookie_names(ses) == ["a", "b", "o"]
    await ses.clear_storage_data({"origin": "https://a.example.com", "storages": ["COOKIES"], "quotas": ["temporary"]})
    assert await cookie_names(ses) == ["o"]
    await ses.clear_storage_data(storages=["cachestorage"], origin=base)
    assert await ses.get_cache_size() == 0
    await ses.clearStorageData()
    assert await cookie_names(ses) == []


async def test_clear_downloads_history(ses: Any, serve: Any, tmp_path: Any) -> None:
    base = await serve(cached_site())
    ses.set_download_path(str(tmp_path))
    done: list[str] = []
    ses.on("will-download", lambda event, item, wc: item.once("done", lambda e, state: done.append(state)))
    ses.download_url(base + "/page")
    for _ in range(200):
        if done:
            break
        import asyncio

        await asyncio.sleep(0.02)
    assert done == ["completed"] and len(ses._download_items()) == 1
    await ses.clear_data(data_types=["downloads"], origins=["https://elsewhere.example"])
    assert len(ses._download_items()) == 1
    await ses.clear_data(data_types=["downloads"])
    assert ses._download_items() == []


def test_failed_data_types_error_shape() -> None:
    from websession._clearing import ClearDataError

    error = ClearDataError(["cache"])
    assert isinstance(error, SessionError) and str(error) == "Failed to clear data"
    assert error.failed_data_types == ["cache"] and error.failedDataTypes == ["cache"]
