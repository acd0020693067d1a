"""Blob registry: data registered under a UUID, served as ``blob:`` URLs and ``get_blob_data``."""

from __future__ import annotations

import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

from ._errors import NetError, SessionError
from ._naming import CamelAliases
from ._permissions import serialize_origin


def _uuid_of(url: str) -> str:
    if not isinstance(url, str) or not url.lower().startswith("blob:"):
        raise ValueError(f"blobs: {url!r} is not a blob: URL")
    inner = url[5:].split("#", 1)[0]
    path = urlsplit(inner).path if "://" in inner else inner
    return path.rsplit("/", 1)[-1].lower()


class Blobs(CamelAliases):
    """The session's blob store, keyed by lowercase UUID (Chromium's ``BlobStorageContext``)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def register(self, data: bytes | bytearray | memoryview | str, mime_type: str = "") -> str:
        """Store ``data`` and return its new UUID."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"blobs.register: data must be bytes or str, not {type(data).__name__}")
        if not isinstance(mime_type, str):
            raise TypeError("blobs.register: mime_type must be a string")
        key = str(uuid.uuid4())
        with self._lock:
            self._items[key] = (bytes(data), mime_type.lower())
        return key

    def unregister(self, blob_uuid: str) -> bool:
        """Drop the blob ``blob_uuid``; return whether it existed."""
        with self._lock:
            return self._items.pop(str(blob_uuid).lower(), None) is not None

    def create_object_url(self, data: Any, origin: str = "null", mime_type: str = "") -> str:
        """Register ``data`` and return ``blob:<origin>/<uuid>`` (``URL.createObjectURL``)."""
        key = self.register(data, mime_type)
        where = "null" if origin == "null" else serialize_origin(origin, "blobs.create_object_url")
        return f"blob:{where}/{key}"

    def revoke_object_url(self, url: str) -> None:
        """Forget the blob behind ``url`` (``URL.revokeObjectURL``)."""
        self.unregister(_uuid_of(url))

    def get(self, blob_uuid: str) -> tuple[bytes, str] | None:
        """Return ``(data, mime_type)`` of ``blob_uuid``, or ``None``."""
        with self._lock:
            return self._items.get(str(blob_uuid).lower())

    def resolve(self, url: str) -> tuple[bytes, str]:
        """Return ``(data, mime_type)`` for a ``blob:`` URL; a revoked one is ``ERR_FILE_NOT_FOUND``."""
        found = self.get(_uuid_of(url))
        if found is None:
            raise NetError("ERR_FILE_NOT_FOUND")
        return found

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget every blob."""
        with self._lock:
            self._items.clear()


class BlobsSessionMixin(CamelAliases):
    """``ses.blobs`` and ``get_blob_data``; state from ``_setup_blobs``."""

    _blobs: Blobs

    def _setup_blobs(self) -> None:
        self._blobs = Blobs()


    @property
    def blobs(self) -> Blobs:
        """The session's blob registry."""
        return self._blobs

    async def get_blob_data(self, identifier: str) -> bytes:
        """Return the bytes of the blob ``identifier`` (a UUID)."""
        if not isinstance(identifier, str):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {identifier!r}"
            )
        found = self._blobs.get(identifier)
        if found is None:
            raise SessionError("Could not get blob data handle")
        return found[0]
