"""The ``websession`` command: fetch, demo, download, cookies, devices."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from ._cli_cookies import register as register_cookies
from ._cli_devices import register as register_devices
from ._cli_download import register as register_download


def _partition(value: str) -> Any:
    from . import session

    return session.from_partition(value)


async def _fetch(args: argparse.Namespace) -> int:
    from ._errors import NetError

    ses = _partition(args.partition)
    init: dict[str, Any] = {"method": args.method}
    if args.header:
        init["headers"] = [tuple(h.split(":", 1)) if ":" in h else (h, "") for h in args.header]
        init["headers"] = [(k.strip(), v.strip()) for k, v in init["headers"]]
    if args.data is not None:
        init["body"] = args.data.encode()
    if args.timeout:
        init["timeout"] = args.timeout
    try:
        response = await ses.fetch(args.url, **init)
        out = sys.stdout.buffer if args.output in (None, "-") else open(args.output, "wb")
        try:
            if args.include:
                head = f"HTTP/1.1 {response.status} {response.status_text}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in response.headers.items())
                out.write((head + "\r\n").encode("latin-1", "replace"))
            if response.body is not None:
                async for chunk in response.body:
                    out.write(chunk)
            out.flush()
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    except NetError as error:
        print(f"websession: {args.url}: {error.name}", file=sys.stderr)
        return 1
    finally:
        await ses.close()
    return 0 if response.ok else 22


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``websession`` command."""
    parser = argparse.ArgumentParser(
        prog="websession", description="Electron's session for Python: fetch, crawl, download, inspect."
    )
    parser.add_argument("--version", action="version", version=f"websession {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = sub.add_parser("fetch", help="fetch a URL through a session and print the body")
    fetch.add_argument("url")
    fetch.add_argument("--partition", default="persist:cli", help="session partition (default: persist:cli)")
    fetch.add_argument("-o", "--output", help="write the body to this file instead of stdout")
    fetch.add_argument("-i", "--include", action="store_true", help="print the status line and headers first")
    fetch.add_argument("-X", "--method", default="GET")
    fetch.add_argument("-H", "--header", action="append", help="a request header, 'Name: value'")
    fetch.add_argument("-d", "--data", help="a request body")
    fetch.add_argument("--timeout", type=float, help="seconds the whole request may take")
    fetch.set_defaults(func=lambda args: asyncio.run(_fetch(args)))

    demo = sub.add_parser("demo", help="serve a small site on loopback and crawl it, narrating each step")
    demo.add_argument("--partition", default="persist:demo")
    demo.set_defaults(func=_run_demo)

    register_download(sub)
    register_cookies(sub)
    register_devices(sub)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import main as demo_main

    return demo_main(args.partition)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
