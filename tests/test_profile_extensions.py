"""Extensions: IDs (Chromium's vectors), manifest validation, _locales, events, in-memory refusal."""

from __future__ import annotations

import base64
import json
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from websession import session
from websession._errors import SessionError
from websession._extensions import (
    ExtensionLoadWarning,
    extension_id_for_path,
    extension_id_from_bytes,
)


def test_chromium_id_vectors() -> None:
    assert extension_id_from_bytes(b"test") == "jpignaibiiemhngfjkcpokkamffknabf"
    assert extension_id_from_bytes(b"_") == "ncocknphbhhlhkikpnnlmbcnbgdempcd"
    assert extension_id_from_bytes(
        b"this_string_is_longer_than_a_single_sha256_hash_digest") == "jimneklojkjdibfkgiiophfhjhbdgcfi"
    assert extension_id_for_path("/path/to/file.ext", windows=False) == "lnkgfdknojmdambfcanadbhmfjfljobb"
    assert extension_id_for_path("/home/user/ext", windows=False) == "mnhiohfdamcefpnhnbehggahkmbegajm"
    assert extension_id_for_path("/path/to/file.ext", windows=True) == "jjlkojfgbeklddcpckipekckcmgcbfjn"
    assert extension_id_for_path("c:\\x", windows=True) == extension_id_for_path("C:\\x", windows=True)


@given(st.binary())
@settings(max_examples=100)
def test_ids_are_32_letters_a_to_p(data: bytes) -> None:
    ext_id = extension_id_from_bytes(data)
    assert len(ext_id) == 32 and set(ext_id) <= set("abcdefghijklmnop")


@pytest.fixture
async def open_session() -> AsyncIterator[Callable[..., Any]]:
    """``open_session(folder)`` is a persistent session on ``folder``; without it, an in-memory one."""
    opened: list[Any] = []

    def open_(folder: Path | None = None) -> Any:
        if folder is None:
            ses = session.from_partition(f"extensions-{uuid.uuid4().hex}")
        else:
            ses = session.from_path(folder)
        opened.append(ses)
        return ses

    yield open_
    for ses in opened:
        await ses.close()


def _write(folder: Path, manifest: object, **files: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(
        manifest if isinstance(manifest, str) else json.dumps(manifest), encoding="utf-8")
    for name, content in files.items():
        target = folder / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content))
    return folder


MV3 = {"manifest_version": 3, "name": "Demo", "version": "1.2.3",
       "background": {"service_worker": "sw.js"}}


async def test_load_get_remove_and_events(tmp_path: Path, open_session: Callable[..., Any]) -> None:
    ses = open_session(tmp_path / "profile")
    folder = _write(tmp_path / "ext", MV3)
    (folder / "_metadata").mkdir()
    seen: list[tuple[str, str]] = []
    for name in ("extension-loaded", "extension-ready", "extension-unloaded"):
        ses.extensions.on(name, lambda event, ext, name=name: seen.append((name, ext.id)))
    ext = await ses.extensions.load_extension(str(folder), allow_file_access=True)
    expected_id = extension_id_for_path(str(folder))
    assert ext.to_dict() == {"id": expected_id, "manifest": MV3, "name": "Demo",
                             "path": str(folder), "version": "1.2.3",
                             "url": f"chrome-extension://{expected_id}/"}
    assert not (folder / "_metadata").exists()
    assert seen == [("extension-loaded", expected_id), ("extension-ready", expected_id)]
    assert ses.extensions.get_extension(expected_id) == ext
    assert ses.extensions.getAllExtensions() == [ext]
    assert ses.extensions.allows_file_access(expected_id) is True
    assert ses.extensions.get_extension("nope") is None
    ses.extensions.remove_extension("unknown")  # no-op
    ses.extensions.remove_extension(expected_id)
    assert seen[-1] == ("extension-unloaded", expected_id)
    assert ses.extensions.get_all_extensions() == []
    # A trailing slash is a different path, so a different ID (no normalisation).
    again = await ses.extensions.load_extension(str(folder) + "/", {"allowFileAccess": False})
    assert again.id != expected_id and again.path == str(folder) + "/"


async def test_session_level_methods_are_deprecated_and_events_reach_the_session(
    tmp_path: Path, open_session: Callable[..., Any]
) -> None:
    ses = open_session(tmp_path / "profile")
    folder = _write(tmp_path / "ext", MV3)
    on_session: list[str] = []
    ses.on("extension-loaded", lambda event, ext: on_session.append(ext.name))
    with pytest.warns(DeprecationWarning):
        ext = await ses.loadExtension(str(folder))
    assert on_session == ["Demo"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ses.get_extension(ext.id) == ext
        assert ses.get_all_extensions() == [ext]
        ses.remove_extension(ext.id)
        assert ses.getExtension(ext.id) is None


async def test_refusals(tmp_path: Path, open_session: Callable[..., Any]) -> None:
    memory = open_session()
    with pytest.raises(SessionError, match="^Extensions cannot be loaded in a temporary session$"):
        await memory.extensions.load_extension(str(tmp_path))
    ses = open_session(tmp_path / "profile")
    with pytest.raises(SessionError,
                       match="^The path to the extension in 'loadExtension' must be absolute$"):
        await ses.extensions.load_extension("relative/ext")
    missing = tmp_path / "missing"
    with pytest.raises(SessionError, match=f"^Extension directory not found: {missing}$"):
        await ses.extensions.load_extension(str(missing))
    with pytest.raises(TypeError, match="allowFileAccess"):
        await ses.extensions.load_extension(str(tmp_path), allow_file_access="yes")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", "Manifest is not valid JSON.  Line: 1, column: 2,"),
        ("[]", "Manifest file is invalid"),
        ({"name": "x", "version": "1"},
         "Missing 'manifest_version' key. Its value must be an integer either 2 or 3."),
        ({"manifest_version": 1, "name": "x", "version": "1"},
         "Invalid value for 'manifest_version'. Must be an integer either 2 or 3."),
        ({"manifest_version": 3, "version": "1"}, "Required value 'name' is missing or invalid."),
        ({"manifest_version": 3, "name": "x", "version": "1.2.3.4.5"},
         ("Required value 'version' is missing or invalid. It must be between 1-4 dot-separated "
          "integers each between 0 and 65536.")),
        ({"manifest_version": 3, "name": "x", "version": "01"}, "Required value 'version'"),
        ({"manifest_version": 3, "name": "x", "version": "1.65536"}, "Required value 'version'"),
        ({"manifest_version": 3, "name": "x", "version": "1", "minimum_chrome_version": "999"},
         "This extension requires Chromium version 999 or greater."),
        ({"manifest_version": 3, "name": "x", "version": "1", "minimum_chrome_version": 5},
         "Invalid value for 'minimum_chrome_version'."),
        ({"manifest_version": 3, "name": "x", "version": "1", "key": "!!!"},
         "Value 'key' is missing or invalid."),
        ({"manifest_version": 3, "name": "x", "version": "1",
          "background": {"service_worker": "a.js", "scripts": ["b.js"]}},
         ("Only one of 'background.page', 'background.scripts', and 'background.service_worker' "
          "can be specified.")),
        ({"manifest_version": 2, "name": "x", "version": "1", "background": {"persistent": True}},
         "Must specify one of background.page or background.scripts to use background.persistent."),
        ({"manifest_version": 3, "name": "x", "version": "1", "permissions": "tabs"},
         "Invalid value for 'permissions'."),
        ({"manifest_version": 3, "name": "x", "version": "1",
          "content_scripts": [{"matches": [], "js": ["a.js"]}]},
         "Invalid value for 'content_scripts[0].matches'. There must be at least one match specified."),
        ({"manifest_version": 3, "name": "__MSG_n__", "version": "1", "default_locale": "en"},
         "Default locale was specified, but _locales subtree is missing."),
    ],
)
async def test_manifest_errors(
    tmp_path: Path, open_session: Callable[..., Any], manifest: object, message: str
) -> None:
    ses = open_session(tmp_path / "profile")
    folder = _write(tmp_path / "ext", manifest)
    with pytest.raises(SessionError) as caught:
        await ses.extensions.load_extension(str(folder))
    assert str(caught.value).startswith(f"Loading extension at {folder} failed with: {message}")
    assert ses.extensions.get_all_extensions() == []


async def test_missing_manifest(tmp_path: Path, open_session: Callable[..., Any]) -> None:
    ses = open_session(tmp_path / "profile")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SessionError, match="failed with: Manifest file is missing or unreadable$"):
        await ses.extensions.load_extension(str(tmp_path / "empty"))


async def test_key_gives_the_id_and_locales_give_the_name(
    tmp_path: Path, open_session: Callable[..., Any]
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    manifest = {"manifest_version": 2, "name": "__MSG_appName__", "version": "2.0",
                "description": "__MSG_Desc__ ok", "default_locale": "fr", "key": pem}
    folder = _write(tmp_path / "ext", manifest,
                    _locales__fr__messages_json={"appName": {"message": "Nom"},
                                                 "desc": {"message": "Décrit $who$",
                                                          "placeholders": {"who": {"content": "X"}}}},
                    _locales__en__messages_json={"APPNAME": {"message": "Name"}})
    os.rename(folder / "_locales" / "fr" / "messages_json", folder / "_locales" / "fr" / "messages.json")
    os.rename(folder / "_locales" / "en" / "messages_json", folder / "_locales" / "en" / "messages.json")
    ses = open_session(tmp_path / "profile")
    ext = await ses.extensions.load_extension(str(folder))
    assert ext.id == extension_id_from_bytes(der)
    assert ext.id == extension_id_from_bytes(base64.b64decode("".join(pem.splitlines()[1:-1])))
    assert ext.name == "Name"  # en is preferred over the default locale
    assert ext.manifest["description"] == "Décrit X ok"
    assert ext.manifest["current_locale"] == "en"


async def test_locales_without_default_locale_is_an_error(
    tmp_path: Path, open_session: Callable[..., Any]
) -> None:
    folder = _write(tmp_path / "ext", MV3)
    (folder / "_locales" / "en").mkdir(parents=True)
    ses = open_session(tmp_path / "profile")
    with pytest.raises(SessionError, match="failed with: Localization used, but default_locale "
                       "wasn't specified in the manifest.$"):
        await ses.extensions.load_extension(str(folder))


async def test_warnings_are_extension_load_warnings(
    tmp_path: Path, open_session: Callable[..., Any]
) -> None:
    ses = open_session(tmp_path / "profile")
    folder = _write(tmp_path / "ext", {"manifest_version": 3, "name": "W", "version": "1",
                                       "permissions": ["tabs", "teleport"], "unknown_key": 1})
    with pytest.warns(ExtensionLoadWarning) as caught:
        await ses.extensions.load_extension(str(folder))
    assert str(caught[0].message) == (
        f"Warnings loading extension at {folder}:\n"
        "  Permission 'teleport' is unknown or URL pattern is malformed.\n")


async def test_symlinked_extension_loads(tmp_path: Path, open_session: Callable[..., Any]) -> None:
    real = _write(tmp_path / "real", MV3)
    link = tmp_path / "link"
    os.symlink(real, link)
    ses = open_session(tmp_path / "profile")
    ext = await ses.extensions.load_extension(str(link))
    assert ext.path == str(link) and ext.id == extension_id_for_path(str(link))
