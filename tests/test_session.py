"""The Session registry, storage, user agent and the conventions every object follows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import websession
from websession import Session, SessionError, session


def test_session_cannot_be_constructed() -> None:
    with pytest.raises(TypeError, match="Session objects cannot be created with 'new'"):
        Session()


def test_same_partition_same_object(partition_name: str) -> None:
    a = session.from_partition(partition_name)
    assert session.from_partition(partition_name) is a
    assert session.fromPartition(partition_name) is a
    assert not a.is_persistent()
    assert a.storage_path is None and a.get_storage_path() is None
    assert session.from_partition("persist:" + partition_name) is not a


def test_empty_partition_is_default_session(user_data_root: Path) -> None:
    default = session.from_partition("")
    assert default is session.default_session is session.defaultSession
    assert default.is_persistent()
    assert default.storage_path == user_data_root


def test_persistent_partition_folder(user_data_root: Path, partition_name: str) -> None:
    ses = session.from_partition("persist:" + partition_name.upper())
    assert ses.is_persistent() and ses.isPersistent()
    assert ses.storage_path == user_data_root / "Partitions" / partition_name.lower()
    assert ses.storage_path.is_dir()
    assert ses.getStoragePath() == str(ses.storage_path)


def test_partition_names_cannot_escape_the_root(user_data_root: Path) -> None:
    ses = session.from_partition("persist:../../etc")
    assert ses.storage_path is not None
    assert ses.storage_path.parent == user_data_root / "Partitions"


def test_from_path_errors_and_identity(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="An empty path was specified"):
        session.from_path("")
    with pytest.raises(TypeError, match="An absolute path was not provided"):
        session.from_path("relative/folder")
    a = session.from_path(str(tmp_path / "p"))
    assert session.from_path(tmp_path / "p") is a
    assert a.storage_path == tmp_path / "p" and a.is_persistent()


def test_options_validation(partition_name: str) -> None:
    with pytest.raises(TypeError, match="unknown option 'cashe'"):
        session.from_partition(partition_name, cashe=False)
    with pytest.raises(TypeError, match="'cache' must be bool"):
        session.from_partition(partition_name, {"cache": "no"})
    with pytest.raises(TypeError, match="partition must be a string"):
        session.from_partition(42)  # type: ignore[arg-type]
    ses = session.from_partition(partition_name, {"cache": False})
    assert ses._cache_enabled is False


def test_session_created_event(partition_name: str) -> None:
    seen: list[object] = []
    websession.app.on("session-created", seen.append)
    try:
        created = session.from_partition(partition_name)
        session.from_partition(partition_name)
    finally:
        websession.app.remove_listener("session-created", seen.append)
    assert seen == [created]


def test_user_agent(partition_name: str) -> None:
    ses = session.from_partition(partition_name)
    ua = ses.get_user_agent()
    assert ua.startswith("Mozilla/5.0 (") and f"websession/{websession.__version__}" in ua
    assert "Chrome/" in ua
    ses.set_user_agent("crawler/1.0", "fr-FR,fr")
    assert ses.getUserAgent() == "crawler/1.0"
    assert ses.get_accept_languages() == "fr-FR,fr;q=0.9"
    with pytest.raises(TypeError):
        ses.set_user_agent(None)  # type: ignore[arg-type]
    assert ses.get_user_agent() == "crawler/1.0"


def test_user_data_path_from_environment(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import websession
        from websession import session
        print(websession.get_user_data_path())
        print(session.from_partition("persist:Env").storage_path)
        """
    )
    env = dict(os.environ, WEBSESSION_USER_DATA=str(tmp_path / "root"), PYTHONPATH=str(Path(websession.__file__).parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    lines = out.stdout.split()
    assert lines == [str(tmp_path / "root"), str(tmp_path / "root" / "Partitions" / "env")]


def test_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    held = session.from_path(str(folder))
    code = f"from websession import session\nsession.from_path({str(folder)!r})"
    env = dict(os.environ, PYTHONPATH=str(Path(websession.__file__).parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "in use by another process" in out.stderr and str(os.getpid()) in out.stderr
    assert held.storage_path == folder


async def test_close_releases_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "released"
    first = session.from_path(str(folder))
    await first.close()
    second = session.from_path(str(folder))
    assert second is not first
    await second.close()


def test_lock_error_is_a_session_error() -> None:
    assert issubclass(SessionError, Exception)
    assert issubclass(websession.NetError, SessionError)
