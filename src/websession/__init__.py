"""websession: Electron's ``session`` for Python.

``from websession import session, net``; ``session.from_partition("persist:crawl")`` gives a
:class:`Session` that owns cookies, cache, proxy and DNS policy, request hooks, protocols,
downloads and a NetLog, and ``await ses.fetch(url)`` sends requests through all of it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import NetError, NotFoundError, SessionError  # noqa: E402
from ._events import Event, EventEmitter  # noqa: E402
from ._http import Request, Response  # noqa: E402
from ._paths import get_user_data_path, set_user_data_path  # noqa: E402
from ._session import Session, app  # noqa: E402
from ._web_request import UploadData, WebRequestDetails  # noqa: E402
from . import net, session  # noqa: E402

__all__ = [
    "Event", "EventEmitter", "NetError", "NotFoundError", "Request", "Response", "Session",
    "SessionError", "UploadData", "WebRequestDetails", "__version__", "app", "get_user_data_path",
    "net", "session", "set_user_data_path",
]
