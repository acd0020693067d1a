"""``websession cookies list|export|import``: a partition's cookies as cookies.txt or JSON.

``list`` prints them (``--url`` narrows to those a request would carry), ``export PATH`` writes
them, ``import PATH`` adds them; ``--partition`` picks the session (``persist:NAME``; the
default session when omitted) and ``--format`` is ``netscape`` (curl, wget, yt-dlp) or ``json``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ._cookies import FORMATS, dumps


def register(subparsers: Any) -> None:
    """Add the ``cookies`` command to the CLI's subparsers."""
    parser = subparsers.add_parser("cookies", help="list, export or import a session's cookies")
    actions = parser.add_subparsers(dest="cookies_action", required=True)
    for name, help_text in (("list", "print the cookies"), ("export", "write the cookies to a file"),
                            ("import", "add the cookies of a file")):  # fmt: skip
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("--partition", default="", help="partition (persist:NAME); default session if omitted")
        sub.add_argument("--format", choices=FORMATS, default="netscape" if name != "list" else "json")
        if name == "list":
            sub.add_argument("--url", default=None, help="only the cookies a request to URL carries")
        else:
            sub.add_argument("path", help="cookie file")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``websession cookies ...``; return the exit status."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from . import session as session_module

    ses = session_module.from_partition(args.partition)
    try:
        cookies = ses.cookies
        if args.cookies_action == "list":
            found = await cookies.get({"url": args.url} if args.url else {})
            sys.stdout.write(dumps(found, args.format))
        elif args.cookies_action == "export":
            n = await cookies.export(args.path, format=args.format)
            print(f"exported {n} cookies to {args.path}", file=sys.stderr)
        else:
            try:
                n = await cookies.import_(args.path, format=args.format)
            except (OSError, ValueError) as exc:
                print(f"websession cookies import: {exc}", file=sys.stderr)
                return 2
            await cookies.flush_store()
            print(f"imported {n} cookies from {args.path}", file=sys.stderr)
        return 0
    finally:
        await ses.close()
