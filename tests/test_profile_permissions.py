"""Permissions, display media, Bluetooth pairing and File System Access (issue 10, parts 1-2)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from websession import session
from websession._errors import SessionError
from websession._permissions import CHECK_PERMISSIONS, REQUEST_PERMISSIONS


@pytest.fixture
async def ses(tmp_path: Path) -> AsyncIterator[Any]:
    """A persistent session in a temporary folder (no core implementation involved)."""
    opened = session.from_path(tmp_path / "profile")
    yield opened
    await opened.close()


# -- permissions -------------------------------------------------------------------------------


def test_permission_strings_are_electrons() -> None:
    assert {"clipboard-read", "display-capture", "midiSysex", "fileSystem", "unknown",
            "top-level-storage-access", "keyboardLock"} <= REQUEST_PERMISSIONS
    assert CHECK_PERMISSIONS - REQUEST_PERMISSIONS == {
        "hid", "serial", "usb", "deprecated-sync-clipboard-read"}


@pytest.mark.parametrize("bad", [1, "x", object(), True])
def test_handlers_must_be_callable_or_none(ses: Any, bad: object) -> None:
    for setter in (ses.set_permission_request_handler, ses.set_permission_check_handler,
                   ses.set_bluetooth_pairing_handler):
        with pytest.raises(TypeError, match="^Must pass null or function$"):
            setter(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^Display media request handler must be null or a function$"):
        ses.set_display_media_request_handler(bad)  # type: ignore[arg-type]


async def test_defaults_without_handlers(ses: Any) -> None:
    for permission in sorted(REQUEST_PERMISSIONS):
        assert await ses.permissions.request(permission, origin="https://a.test") is True
    for permission in sorted(CHECK_PERMISSIONS - {"deprecated-sync-clipboard-read"}):
        assert ses.permissions.check(permission, origin="https://a.test") is True
    assert ses.permissions.check("deprecated-sync-clipboard-read", origin="https://a.test") is False


async def test_request_handler_callback_and_details(ses: Any) -> None:
    seen = []

    def handler(web_contents, permission, callback, details):  # type: ignore[no-untyped-def]
        seen.append((web_contents, permission, details.to_dict()))
        callback(permission == "notifications")

    ses.set_permission_request_handler(handler)
    assert await ses.permissions.request("notifications", origin="https://a.test:8443") is True
    assert await ses.permissions.request("geolocation", origin="https://a.test") is False
    assert seen[0] == (None, "notifications",
                       {"requestingUrl": "https://a.test:8443/", "isMainFrame": True})
    assert await ses.permissions.request(
        "media", origin="https://m.test", details={"mediaTypes": ["video", "audio"]}) is False
    assert seen[-1][2] == {"requestingUrl": "https://m.test/", "isMainFrame": True,
                           "securityOrigin": "https://m.test", "mediaTypes": ["video", "audio"]}
    await ses.permissions.request("fileSystem", origin="https://f.test",
                                  details={"filePath": "/tmp/x", "isDirectory": True})
    assert seen[-1][2] == {"requestingUrl": "https://f.test/", "isMainFrame": True,
                           "filePath": "/tmp/x", "isDirectory": True, "fileAccessType": "readable"}
    await ses.permissions.request("openExternal", origin="https://o.test",
                                  details={"externalURL": "mailto:a@b.test"})
    assert seen[-1][2]["externalURL"] == "mailto:a@b.test"
    assert seen[-1][2]["requestingUrl"] == "https://o.test/"


async def test_request_handler_may_return_or_be_async(ses: Any) -> None:
    ses.set_permission_request_handler(lambda wc, permission, cb: permission == "midi")
    assert await ses.permissions.request("midi") is True
    assert await ses.permissions.request("midiSysex") is False

    async def later(wc, permission, callback, details):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(callback, True)

    ses.set_permission_request_handler(later)
    assert await ses.permissions.request("pointerLock") is True


async def test_raising_handler_denies(ses: Any) -> None:
    def boom(*args):  # type: ignore[no-untyped-def]
        raise RuntimeError("no")

    ses.set_permission_request_handler(boom)
    assert await ses.permissions.request("notifications") is False
    ses.set_permission_check_handler(boom)
    assert ses.permissions.check("notifications") is False


async def test_clearing_the_handler_denies_waiting_requests(ses: Any) -> None:
    callbacks = []
    ses.set_permission_request_handler(lambda wc, p, cb, d: callbacks.append(cb))
    waiting = asyncio.ensure_future(ses.permissions.request("midiSysex", origin="https://a.test"))
    await asyncio.sleep(0.01)
    assert ses.permissions.pending_count == 1 and len(callbacks) == 1
    ses.set_permission_request_handler(None)
    assert await waiting is False
    callbacks[0](True)  # a late answer changes nothing
    assert await ses.permissions.request("midiSysex") is True  # default again


async def test_replacing_the_handler_keeps_waiting_requests(ses: Any) -> None:
    callbacks = []
    ses.set_permission_request_handler(lambda wc, p, cb, d: callbacks.append(cb))
    waiting = asyncio.ensure_future(ses.permissions.request("geolocation"))
    await asyncio.sleep(0.01)
    ses.set_permission_request_handler(lambda wc, p, cb, d: cb(False))
    callbacks[0](True)
    assert await waiting is True


def test_check_handler_details_and_strict_boolean(ses: Any) -> None:
    seen = []

    def check(web_contents, permission, requesting_origin, details):  # type: ignore[no-untyped-def]
        seen.append((web_contents, permission, requesting_origin, details.to_dict()))
        return {"hid": True, "serial": 1}.get(permission, False)

    ses.set_permission_check_handler(check)
    assert ses.permissions.check("hid", origin="https://d.test/path?q") is True
    assert ses.permissions.check("serial", origin="https://d.test") is False  # 1 is not a boolean
    assert seen[0] == (None, "hid", "https://d.test",
                       {"isMainFrame": True, "requestingUrl": "https://d.test/"})
    ses.permissions.check("media", origin="https://d.test", details={"mediaType": "video"})
    assert seen[-1][3] == {"isMainFrame": True, "requestingUrl": "https://d.test/",
                           "securityOrigin": "https://d.test", "mediaType": "video"}
    ses.permissions.check("fileSystem", origin="https://d.test", details={
        "filePath": "/x", "isDirectory": False, "fileAccessType": "writable", "isMainFrame": True})
    assert seen[-1][3]["isMainFrame"] is False
    ses.permissions.check("notifications", origin="https://sub.test",
                          details={"embeddingOrigin": "file:///", "isMainFrame": False})
    assert seen[-1][3] == {"isMainFrame": False, "embeddingOrigin": "file:///"}
    ses.set_permission_check_handler(None)
    assert ses.permissions.check("serial") is True


async def test_bad_permission_input_names_the_argument(ses: Any) -> None:
    with pytest.raises(ValueError, match="unknown permission 'camera'"):
        await ses.permissions.request("camera")
    with pytest.raises(ValueError, match="unknown permission 'bogus'"):
        ses.permissions.check("bogus")
    with pytest.raises(TypeError, match="unknown option 'nope'"):
        await ses.permissions.request("media", details={"nope": 1})
    with pytest.raises(ValueError, match="mediaTypes"):
        await ses.permissions.request("media", details={"mediaTypes": ["smell"]})
    with pytest.raises(ValueError, match="fileAccessType"):
        ses.permissions.check("fileSystem", details={"fileAccessType": "rw"})
    with pytest.raises(ValueError, match="not a URL"):
        ses.permissions.check("hid", origin="nowhere")


def test_camel_case_aliases(ses: Any) -> None:
    assert ses.setPermissionRequestHandler == ses.set_permission_request_handler
    assert ses.setPermissionCheckHandler == ses.set_permission_check_handler
    assert ses.setDisplayMediaRequestHandler == ses.set_display_media_request_handler
    assert ses.setBluetoothPairingHandler == ses.set_bluetooth_pairing_handler


# -- display media -------------------------------------------------------------------------------


async def test_display_media_without_handler_is_not_supported(ses: Any) -> None:
    with pytest.raises(SessionError, match="^Not supported$"):
        await ses.request_display_media(origin="https://a.test")


async def test_display_media_grants_streams(ses: Any) -> None:
    requests = []

    def handler(request, callback):  # type: ignore[no-untyped-def]
        requests.append(request.to_dict())
        callback({"video": {"id": "screen:1:0", "name": "Entire Screen"}, "audio": "loopback"})

    ses.set_display_media_request_handler(handler, use_system_picker=True)
    granted = await ses.request_display_media(origin="https://a.test", audio_requested=True,
                                              user_gesture=True)
    assert granted == {"video": {"id": "screen:1:0", "name": "Entire Screen"}, "audio": "loopback"}
    assert requests == [{"frame": None, "securityOrigin": "https://a.test", "videoRequested": True,
                         "audioRequested": True, "userGesture": True}]
    ses.set_display_media_request_handler(handler, {"useSystemPicker": False})
    only_video = await ses.requestDisplayMedia({"origin": "https://a.test"})
    assert only_video == {"video": {"id": "screen:1:0", "name": "Entire Screen"}}


async def test_display_media_callback_errors(ses: Any) -> None:
    ses.set_display_media_request_handler(lambda request, cb: cb({}))
    with pytest.raises(TypeError, match="^Video was requested, but no video stream was provided$"):
        await ses.request_display_media(origin="https://a.test")
    ses.set_display_media_request_handler(lambda request, cb: cb({"video": {"id": "x"}}))
    with pytest.raises(TypeError, match="video must be a WebFrameMain or DesktopCapturerSource"):
        await ses.request_display_media(origin="https://a.test")
    ses.set_display_media_request_handler(
        lambda request, cb: cb({"video": {"id": "a", "name": "b"}, "audio": "mic"}))
    with pytest.raises(TypeError, match="audio must be a WebFrameMain"):
        await ses.request_display_media(origin="https://a.test", audio_requested=True)
    ses.set_display_media_request_handler(lambda request, cb: cb(None))
    with pytest.raises(SessionError, match="Could not start video source"):
        await ses.request_display_media(origin="https://a.test")
    ses.set_display_media_request_handler(None)
    with pytest.raises(SessionError, match="Not supported"):
        await ses.request_display_media(origin="https://a.test")


# -- Bluetooth pairing ---------------------------------------------------------------------------


async def test_bluetooth_pairing(ses: Any) -> None:
    assert await ses.request_bluetooth_pairing(device_id="d1", pairing_kind="confirm") == {
        "confirmed": False, "pin": None}
    seen = []

    def handler(details, callback):  # type: ignore[no-untyped-def]
        seen.append(details.to_dict())
        if details.pairing_kind == "providePin":
            callback({"confirmed": True, "pin": "123456"})
        else:
            callback({"confirmed": details.pin in (None, "0000")})

    ses.set_bluetooth_pairing_handler(handler)
    assert await ses.request_bluetooth_pairing(device_id="d1", pairing_kind="confirm") == {
        "confirmed": True, "pin": None}
    assert await ses.request_bluetooth_pairing(
        device_id="d2", pairing_kind="confirmPin", pin="0000") == {"confirmed": True, "pin": None}
    assert await ses.requestBluetoothPairing(
        {"deviceId": "d3", "pairingKind": "providePin"}) == {"confirmed": True, "pin": "123456"}
    assert seen[1] == {"deviceId": "d2", "pairingKind": "confirmPin", "frame": None, "pin": "0000"}
    with pytest.raises(ValueError, match="pairingKind"):
        await ses.request_bluetooth_pairing(device_id="d", pairing_kind="guess")
    with pytest.raises(TypeError, match="pin"):
        await ses.request_bluetooth_pairing(device_id="d", pairing_kind="confirmPin")
    ses.set_bluetooth_pairing_handler(None)
    assert (await ses.request_bluetooth_pairing(device_id="d", pairing_kind="confirm"))[
        "confirmed"] is False


# -- File System Access --------------------------------------------------------------------------


async def test_restricted_path_fires_the_event(ses: Any) -> None:
    events = []

    def listener(event, details, callback):  # type: ignore[no-untyped-def]
        events.append(details.to_dict())
        callback({"/etc": "allow", "/proc/1": "tryAgain"}.get(details.path, "deny"))

    ses.on("file-system-access-restricted", listener)
    assert await ses.request_file_system_access(
        origin="https://a.test", path="/etc", is_directory=True) == "allow"
    assert events == [{"origin": "https://a.test/", "isDirectory": True, "path": "/etc"}]
    assert await ses.request_file_system_access(
        origin="https://a.test", path="/proc/1", is_directory=True) == "tryAgain"
    assert await ses.request_file_system_access(
        origin="https://a.test", path=str(Path.home()), is_directory=True) == "deny"
    assert await ses.request_file_system_access(
        origin="https://a.test", path="/", is_directory=True) == "deny"  # a parent of /etc
    assert await ses.request_file_system_access(
        origin="https://a.test", path=str(Path.home() / ".ssh" / "id_rsa"),
        is_directory=False) == "deny"
    assert await ses.request_file_system_access(
        origin="https://a.test", path=str(ses.storage_path / "Cookies"),
        is_directory=False) == "deny"  # the app's own data


async def test_unrestricted_path_asks_the_permission_handler(ses: Any, tmp_path: Path) -> None:
    events = []
    ses.on("file-system-access-restricted", lambda e, d, cb: events.append(d))
    inside = tmp_path / "work" / "notes.txt"
    inside.parent.mkdir()
    inside.write_text("x")
    if any(p in inside.resolve().parents for p in (Path("/etc"), Path("/proc"))):
        pytest.skip("temporary folder inside a restricted path")
    assert await ses.request_file_system_access(
        origin="https://a.test", path=str(inside), is_directory=False) == "allow"
    assert events == []
    seen = []
    ses.set_permission_request_handler(
        lambda wc, p, cb, details: (seen.append((p, details.to_dict())), cb(False)))
    assert await ses.request_file_system_access(
        origin="https://a.test", path=str(inside), is_directory=False,
        access_type="writable") == "deny"
    assert seen == [("fileSystem", {"requestingUrl": "https://a.test/", "isMainFrame": True,
                                    "filePath": str(inside), "isDirectory": False,
                                    "fileAccessType": "writable"})]


async def test_restricted_without_listener_is_denied(ses: Any) -> None:
    assert await ses.request_file_system_access(
        origin="https://a.test", path="/sys/kernel", is_directory=True) == "deny"
    with pytest.raises(ValueError, match="absolute"):
        await ses.request_file_system_access(origin="https://a.test", path="rel", is_directory=True)
    with pytest.raises(TypeError, match="isDirectory"):
        await ses.request_file_system_access(origin="https://a.test", path="/etc")


def test_symlink_into_restricted_path_is_blocked(tmp_path: Path) -> None:
    from websession._media_policy import blocked_path_rules, should_block_access

    link = tmp_path / "cfg"
    os.symlink("/etc", link)
    assert should_block_access(link, True, blocked_path_rules())
    assert not should_block_access(tmp_path / "plain", True, blocked_path_rules())
