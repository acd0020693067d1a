"""The session's downloads: ``download_url``, ``set_download_path``, ``create_interrupted_download``.

Every new download is announced with ``'will-download'`` ``(event, item, None)`` (there is no
WebContents); ``event.prevent_default()`` cancels it, and a listener may choose the file with
``item.set_save_path(...)``. Without one, the file goes to the download folder (default: the
user's Downloads folder) under Chromium's generated name, made unique.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from ._download_item import CANCELLED, COMPLETED, INTERRUPTED, DownloadItem
from ._errors import SessionError
from ._events import emit_cancellable
from ._naming import CamelAliases
from ._options import Opt, options

_INTERRUPTED_OPTIONS = {
    "path": Opt((str, os.PathLike)),
    "url_chain": Opt((list, tuple)),
    "mime_type": Opt(str),
    "offset": Opt(int),
    "length": Opt(int),
    "last_modified": Opt(str),
    "etag": Opt(str),
    "e_tag": Opt(str),
    "start_time": Opt((int, float)),
}


def default_download_path() -> str:
    """Return the user's Downloads folder."""
    return str(platformdirs.user_downloads_dir())


class DownloadsSessionMixin(CamelAliases):
    """Downloads for :class:`Session`: start, announce, place and remember them."""

    _download_path: str | None
    _downloads: list[DownloadItem]
    _download_reserved: set[str]

    # Provided by the Session this mixin is part of.
    emit: Callable[..., bool]

    def _setup_downloads(self) -> None:
        self._download_path = None
        self._downloads = []
        self._download_reserved = set()

    async def _teardown_downloads(self) -> None:
        """Stop running downloads when the session closes; they stay interrupted and resumable."""
        await asyncio.gather(*(item._shutdown() for item in list(self._downloads)), return_exceptions=True)

    # -- the download folder --------------------------------------------------------------------

    def set_download_path(self, path: str | os.PathLike[str]) -> None:
        """Set the folder downloads are saved to when no save path is chosen."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"set_download_path: path must be a string, not {type(path).__name__}")
        self._download_path = os.fspath(path)

    def _get_download_path(self) -> str:
        return self._download_path or default_download_path()

    def _reserve_download_path(self, path: Path) -> None:
        self._download_reserved.add(str(path))

    def _release_download_path(self, path: Path) -> None:
        self._download_reserved.discard(str(path))

    def _download_path_in_use(self, path: Path) -> bool:
        return str(path) in self._download_reserved

    # -- starting downloads ------------------------------------------------------------------------

    def download_url(self, url: str, *args: Any, **kwargs: Any) -> None:
        """Start downloading ``url``; the item arrives through ``'will-download'``.

        ``headers`` (a dict of strings) are sent with the request, which goes through the
        session's whole pipeline (webRequest, cookies, proxy, emulation, NetLog).
        """
        if not isinstance(url, str):
            raise TypeError(f"download_url: url must be a string, not {type(url).__name__}")
        if len(args) > 1:
            raise TypeError(f"download_url: takes at most one options object, got {len(args)}")
        given: dict[str, Any] = {}
        if args and args[0] is not None:
            if not isinstance(args[0], Mapping):
                raise TypeError(f"download_url: options must be a dict, not {type(args[0]).__name__}")
            given.update(args[0])
        for key, value in kwargs.items():
            if key in given:
                raise TypeError(f"download_url: option '{key}' given twice")
            given[key] = value
        unknown = [k for k in given if k != "headers"]
        if unknown:
            raise TypeError(f"download_url: unknown option '{unknown[0]}'")
        headers = given.get("headers")
        if "headers" in given and not _string_map(headers):
            raise TypeError("Invalid value for headers - must be an object")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("download_url must be called while an asyncio event loop runs") from None
        item = DownloadItem(self, [url], request_headers=dict(headers or {}))
        self._downloads.append(item)
        item._start()

    def create_interrupted_download(self, *args: Any, **kwargs: Any) -> DownloadItem | None:
        """Recreate an interrupted download from a previous session; it starts on ``resume()``.

        Options (Electron's): ``path``, ``url_chain``, ``mime_type``, ``offset``, ``length``,
        ``last_modified``, ``etag`` (``eTag``), ``start_time``. The partial data is looked for at
        ``path + ".crdownload"``, then at ``path`` itself; when it is missing or shorter than
        ``offset`` the download restarts from zero.
        """
        opts = options("createInterruptedDownload", _INTERRUPTED_OPTIONS, args, kwargs)
        if "etag" in opts and "e_tag" in opts:
            raise TypeError("createInterruptedDownload: option 'eTag' given twice")
        path = os.fspath(opts.get("path", ""))
        chain = [u for u in opts.get("url_chain", ()) if isinstance(u, str) and _valid_url(u)]
        if len(chain) != len(opts.get("url_chain", ())):
            chain = []  # Electron's converter drops the whole list on one bad entry
        offset = int(opts.get("offset", 0))
        length = int(opts.get("length", 0))
        if not path or not chain or length == 0:
            raise SessionError("Must pass non-empty path, urlChain and length.")
        if offset >= length:
            raise SessionError("Must pass an offset value less than length.")
        if offset < 0:
            raise ValueError("createInterruptedDownload: option 'offset' must not be negative")
        item = DownloadItem(
            self,
            chain,
            state=INTERRUPTED,
            save_path=path,
            mime_type=opts.get("mime_type", ""),
            offset=offset,
            length=length,
            last_modified=opts.get("last_modified", ""),
            etag=opts.get("etag", opts.get("e_tag", "")),
            start_time=opts.get("start_time"),
            reason="NETWORK_FAILED",
        )
        self._downloads.append(item)
        if self._emit_will_download(item):
            item._destroy_soon()
            return None
        return item

    def _emit_will_download(self, item: DownloadItem) -> bool:
        """Announce ``item``; on ``prevent_default()`` cancel it. Return whether it was prevented."""
        event = emit_cancellable(self, "will-download", item, None, sender=self)  # type: ignore[arg-type]
        if event.default_prevented:
            if item._state not in (COMPLETED, CANCELLED):
                item.cancel()
            self._forget_download(item)
            return True
        return False

    # -- history -------------------------------------------------------------------------------------

    def _download_items(self) -> list[DownloadItem]:
        """Return this process's downloads in this session, oldest first."""
        return [item for item in self._downloads if not item._destroyed]

    def _forget_download(self, item: DownloadItem) -> None:
        with contextlib.suppress(ValueError):
            self._downloads.remove(item)

    def _clear_downloads(self, url_filter: Callable[[str], bool] | None = None) -> int:
        """Remove finished downloads from the history (``clear_data`` type ``downloads``).

        As Chromium's ``RemoveDownloadsByURLAndTime``: downloads in progress stay; removed
        items are destroyed, and the partial file of an interrupted one is deleted. Finished
        files are never touched. Returns how many items were removed.
        """
        removed = 0
        for item in list(self._downloads):
            if item._state == "progressing" and not item._destroyed:
                continue
            if url_filter is not None and not url_filter(item._url()):
                continue
            if item._state == INTERRUPTED:
                item._stop_transfer()
                item._remove_partial()
                item._release()
            self._forget_download(item)
            item._destroy()
            removed += 1
        return removed


def _string_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _valid_url(url: str) -> bool:
    from yarl import URL

    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return False
    return bool(parsed.scheme) and (bool(parsed.host) or parsed.scheme not in ("http", "https"))
