"""``websession download URL [-o PATH] [--partition NAME] [--continue]``: one download, with a bar.

The download goes through a session like any other (its cookies, proxy and hooks). While it
runs, ``<file>.crdownload`` holds the data and ``<file>.crdownload.json`` what is needed to resume
it (URL chain, validators); ``--continue`` picks both up and resumes with a range request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

from ._download_names import INTERMEDIATE_SUFFIX

META_SUFFIX = INTERMEDIATE_SUFFIX + ".json"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``download`` command to an argparse sub-command set."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "download",
        help="download a URL through a session, with a progress bar",
        description="Download URL through a websession session (resumable with --continue).",
    )
    parser.add_argument("url", help="the URL to download")
    parser.add_argument(
        "-o", "--output", default=None,
        help="file to write, or an existing folder to save into (default: the current folder)",
    )
    parser.add_argument(
        "--partition", default="",
        help="session partition ('persist:NAME' keeps cookies and cache; default: the default session)",
    )
    parser.add_argument(
        "--continue", dest="resume", action="store_true",
        help="resume an interrupted download of the same URL into the same place",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command; return the exit status (0 done, 1 failed or interrupted, 130 stopped)."""
    try:
        return asyncio.run(download(args.url, args.output, args.partition, args.resume))
    except KeyboardInterrupt:
        return 130


def _plan(url: str, output: str | None) -> tuple[Path, Path | None]:
    """Return (folder, explicit file or None) for ``-o``."""
    if output is None:
        return Path.cwd(), None
    path = Path(output).expanduser()
    if path.is_dir() or output.endswith(os.sep):
        return path.absolute(), None
    return path.absolute().parent, path.absolute()


def _find_resumable(url: str, folder: Path, target: Path | None) -> dict[str, Any] | None:
    candidates = [Path(str(target) + META_SUFFIX)] if target is not None else sorted(folder.glob("*" + META_SUFFIX))
    for meta_path in candidates:
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        chain = meta.get("url_chain") or []
        if chain and chain[0] == url and meta.get("path"):
            return dict(meta)
    return None


def _write_meta(item: Any) -> None:
    path = item.get_save_path()
    if not path:
        return
    meta = {
        "path": path, "url_chain": item.get_url_chain(), "mime_type": item.get_mime_type(),
        "length": item.get_total_bytes(), "etag": item.get_etag(),
        "last_modified": item.get_last_modified_time(), "start_time": item.get_start_time(),
    }
    Path(path + META_SUFFIX).write_text(json.dumps(meta))


def _remove_meta(path: str) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path + META_SUFFIX)


async def download(url: str, output: str | None, partition: str, resume: bool) -> int:
    """Download ``url``; return the exit status."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from . import session as session_module

    console = Console(stderr=True)
    folder, target = _plan(url, output)
    ses: Any = session_module.from_partition(partition)
    ses.set_download_path(str(folder))
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[str] = loop.create_future()
    holder: dict[str, Any] = {}

    def settle(state: str) -> None:
        if not finished.done():
            finished.set_result(state)

    def on_will_download(event: Any, item: Any, web_contents: Any) -> None:
        holder["item"] = item
        if target is not None and not item.get_save_path():
            item.set_save_path(str(target))
        item.on("updated", lambda e, state: on_updated(item, state))
        item.on("done", lambda e, state: settle(state))

    def on_updated(item: Any, state: str) -> None:
        if not holder.get("meta_written") and item.get_save_path():
            holder["meta_written"] = True
            _write_meta(item)
        if state == "interrupted":
            settle("interrupted-resumable")

    ses.on("will-download", on_will_download)
    meta = _find_resumable(url, folder, target) if resume else None
    if meta is not None and meta.get("length"):
        partial = Path(meta["path"] + INTERMEDIATE_SUFFIX)
        offset = partial.stat().st_size if partial.exists() else 0
        length = int(meta["length"])
        ses.create_interrupted_download(
            path=meta["path"], url_chain=meta["url_chain"], mime_type=meta.get("mime_type", ""),
            offset=min(offset, length - 1), length=length, last_modified=meta.get("last_modified", ""),
            etag=meta.get("etag", ""), start_time=meta.get("start_time"),
        )
        holder["meta_written"] = True
        holder["item"].resume()
    else:
        ses.download_url(url)

    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
    )
    state = "interrupted"
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(url.rsplit("/", 1)[-1] or url, total=None)
            while not finished.done():
                await asyncio.wait({finished}, timeout=0.1)
                item = holder.get("item")
                if item is not None and not item._destroyed:
                    total = item.get_total_bytes() or None
                    progress.update(task, completed=item.get_received_bytes(), total=total,
                                    description=item.get_filename())
            state = finished.result()
            item = holder.get("item")
            if item is not None and state == "completed":
                progress.update(task, completed=item.get_received_bytes(), total=item.get_total_bytes())
    finally:
        await ses.close()
    item = holder.get("item")
    path = item.get_save_path() if item is not None else ""
    if state == "completed":
        _remove_meta(path)
        console.print(f"saved {path}")
        return 0
    if state == "interrupted-resumable":
        console.print(f"[yellow]interrupted[/]: run again with --continue to resume ({path})")
        return 1
    _remove_meta(path)
    console.print(f"[red]download {state}[/]")
    return 1
