"""Errors: Chromium's net errors as :class:`NetError`, Electron's rejections as :class:`SessionError`."""

from __future__ import annotations

from ._net_errors import NET_ERRORS, code_of


class SessionError(Exception):
    """An operation Electron would reject with an ``Error``; the message is Electron's."""


class NotFoundError(SessionError):
    """A chooser was cancelled: the web API's ``NotFoundError`` ("No device selected.")."""


class NetError(SessionError):
    """A network failure with Chromium's code (``-105``) and name (``net::ERR_NAME_NOT_RESOLVED``)."""

    def __init__(self, code: int | str, message: str | None = None) -> None:
        self.code = code_of(code) if isinstance(code, str) else int(code)
        self.name = "net::" + NET_ERRORS.get(self.code, "ERR_FAILED" if self.code else "OK")
        self.detail = message
        super().__init__(self.name if message is None else f"{self.name}: {message}")

    def __reduce__(self) -> tuple[type, tuple[int, str | None]]:
        return (type(self), (self.code, self.detail))


def net_error(name: str, message: str | None = None) -> NetError:
    """Return the :class:`NetError` called ``name`` (``"ERR_ABORTED"`` or ``"net::ERR_ABORTED"``)."""
    return NetError(name, message)
