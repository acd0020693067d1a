"""websession: Electron's ``session`` for Python.

``from websession import session, net``; ``session.from_partition("persist:crawl")`` gives a
:class:`Session` that owns cookies, cache, proxy and DNS policy, request hooks, protocols,
downloads and a NetLog, and ``await ses.fetch(url)`` sends requests through all of it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._auth import AuthInfo  # noqa: E402
from ._certificate import Certificate, CertificatePrincipal  # noqa: E402
from ._clearing import ClearDataError  # noqa: E402
from ._cookies import Cookie, Cookies  # noqa: E402
from ._devices import DeviceLibraryError, HIDDevice, SerialPort, USBDevice  # noqa: E402
from ._download_item import DownloadItem  # noqa: E402
from ._errors import NetError, NotFoundError, SessionError  # noqa: E402
from ._events import Event, EventEmitter  # noqa: E402
from ._extensions import Extension  # noqa: E402
from ._host_resolver import ResolvedHost  # noqa: E402
from ._http import Request, Response  # noqa: E402
from ._net_log import NetLog, net_log  # noqa: E402
from ._paths import get_user_data_path, set_user_data_path  # noqa: E402
from ._protocol import ProtocolRequest  # noqa: E402
from ._session import Session, app  # noqa: E402
from ._tls import CertificateVerifyRequest  # noqa: E402
from ._web_request import UploadData, WebRequestDetails  # noqa: E402

# The public modules come last: they import the Session, which needs everything above.
from . import net, protocol, session  # noqa: E402, I001

__all__ = [
    "AuthInfo", "Certificate", "CertificatePrincipal", "CertificateVerifyRequest", "ClearDataError",
    "Cookie", "Cookies", "DeviceLibraryError", "DownloadItem", "Event", "EventEmitter", "Extension",
    "HIDDevice", "NetError", "NetLog", "NotFoundError", "ProtocolRequest", "Request", "ResolvedHost",
    "Response", "SerialPort", "Session", "SessionError", "USBDevice", "UploadData",
    "WebRequestDetails", "__version__", "app", "get_user_data_path", "net", "net_log", "protocol", "session",
    "set_user_data_path",
]
