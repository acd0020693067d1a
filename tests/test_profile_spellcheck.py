"""Spellchecker: languages, BDict dictionaries over loopback, custom dictionary, real checking."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import hunspell
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from websession import _bdic, session
from websession._errors import SessionError
from websession._spellcheck import (
    SUPPORTED_LANGUAGES,
    corresponding_language,
    dictionary_file_name,
)

HUNSPELL_DIR = Path(hunspell.__file__).parent / "dictionaries"


@pytest.fixture(scope="module")
def en_us_bdic() -> bytes:
    """Chromium's en-US dictionary format, built from the en_US Hunspell files chunspell ships."""
    aff, dic = _bdic.decode_hunspell((HUNSPELL_DIR / "en_US.aff").read_bytes(),
                                     (HUNSPELL_DIR / "en_US.dic").read_bytes())
    return _bdic.hunspell_to_bdic(aff, dic)


@pytest.fixture
async def dictionary_server(serve, en_us_bdic: bytes):  # type: ignore[no-untyped-def]
    requests: list[str] = []
    files = {"en-us-10-1.bdic": en_us_bdic, "fr-fr-3-0.bdic": b"BDic corrupt"}

    async def handler(request: web.Request) -> web.Response:
        requests.append(request.path)
        body = files.get(request.match_info["name"].lower())
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/dicts/{name}", handler)
    base = await serve(app)
    return base + "/dicts/", requests


def _open(folder: Path | None = None) -> Any:
    """A persistent session on ``folder``, or without it an in-memory one; the test closes it."""
    if folder is None:
        return session.from_partition(f"spellcheck-{uuid.uuid4().hex}")
    return session.from_path(folder)


def _record(ses: Any) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    for name in ("initialized", "download-begin", "download-success", "download-failure"):
        ses.on(f"spellcheck-dictionary-{name}",
               lambda event, code, name=name: events.append((name, code)))
    return events


def test_language_table_and_aliases() -> None:
    languages = [lang for lang, _ in SUPPORTED_LANGUAGES]
    assert {"af", "en-US", "en-GB-oxendict", "es-419", "pt", "vi"} <= set(languages)
    assert corresponding_language("af-ZA") == "af"
    assert corresponding_language("en-US") == "en-US"
    assert corresponding_language("hu-HU") == "hu"
    assert corresponding_language("xx-YY") == ""
    assert corresponding_language("EN-us") == ""  # Chromium compares case-sensitively
    assert dictionary_file_name("en-US") == "en-US-10-1.bdic"
    assert dictionary_file_name("af") == "af-ZA-3-0.bdic"
    assert dictionary_file_name("tr") == "tr-TR-4-0.bdic"
    assert dictionary_file_name("hy") == "hy-1-0.bdic"


async def test_enabled_flag_property_and_languages(tmp_path: Path) -> None:
    ses = _open(tmp_path)
    assert ses.is_spell_checker_enabled() is True and ses.spellCheckerEnabled is True
    ses.spell_checker_enabled = False
    assert ses.isSpellCheckerEnabled() is False
    ses.setSpellCheckerEnabled(True)
    assert ses.spell_checker_enabled is True
    assert ses.available_spell_checker_languages == [lang for lang, _ in SUPPORTED_LANGUAGES]
    assert ses.availableSpellCheckerLanguages == ses.available_spell_checker_languages
    ses.set_spell_checker_languages(["af-ZA", "en-GB"])
    assert ses.get_spell_checker_languages() == ["af", "en-GB"]
    with pytest.raises(SessionError, match=r'^Invalid language code provided: "xx" is not a valid '
                                           r'language code$'):
        ses.set_spell_checker_languages(["en-US", "xx"])
    assert ses.get_spell_checker_languages() == ["af", "en-GB"]
    ses.set_spell_checker_languages([])
    assert ses.get_spell_checker_languages() == [] and ses.is_spell_checker_enabled() is False
    ses.set_spell_checker_languages(["de"])
    assert ses.is_spell_checker_enabled() is True
    with pytest.raises(TypeError):
        ses.set_spell_checker_enabled("yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ses.set_spell_checker_languages("en-US")
    await ses.close()
    # Persisted across restarts, like Chromium's spellcheck.dictionaries pref.
    again = _open(tmp_path)
    assert again.get_spell_checker_languages() == ["de"]
    await again.close()


async def test_download_url_validation() -> None:
    ses = _open()
    for bad in ("not a url", "", "/relative/", 42):
        with pytest.raises(SessionError, match="^The URL you provided to "
                           "setSpellCheckerDictionaryDownloadURL is not a valid URL$"):
            ses.set_spell_checker_dictionary_download_url(bad)  # type: ignore[arg-type]
    ses.setSpellCheckerDictionaryDownloadURL("https://example.test/dicts/")
    await ses.close()


async def test_download_check_and_suggest(tmp_path: Path, dictionary_server) -> None:  # type: ignore[no-untyped-def]
    url, requests = dictionary_server
    ses = _open(tmp_path)
    events = _record(ses)
    ses.set_spell_checker_dictionary_download_url(url)
    ses.set_spell_checker_languages(["en-US"])
    assert await ses.spell_check("hello") is True
    assert await ses.spell_check("helo") is False
    assert "hello" in await ses.get_spelling_suggestions("helo")
    assert len(await ses.get_spelling_suggestions("helo")) <= 5
    assert events == [("download-begin", "en-US"), ("download-success", "en-US"),
                      ("initialized", "en-US")]
    assert requests == ["/dicts/en-us-10-1.bdic"]
    stored = tmp_path / "Dictionaries" / "en-US-10-1.bdic"
    assert _bdic.verify(stored.read_bytes())
    assert ses.add_word_to_spell_checker_dictionary("helo")
    assert await ses.spell_check("helo") is True
    ses.set_spell_checker_enabled(False)
    assert await ses.spell_check("qqqzzx") is True  # nothing is marked when off
    await ses.close()
    # A new session on the same folder loads the dictionary from disk: no download.
    again = _open(tmp_path)
    events = _record(again)
    again.set_spell_checker_dictionary_download_url(url)
    again.set_spell_checker_enabled(True)
    assert await again.spell_check("walked") is True
    assert await again.spell_check("wlaked") is False
    assert events == [("initialized", "en-US")]
    assert requests == ["/dicts/en-us-10-1.bdic"]
    await again.close()


async def test_download_failures(tmp_path: Path, dictionary_server) -> None:  # type: ignore[no-untyped-def]
    url, requests = dictionary_server
    ses = _open(tmp_path)
    events = _record(ses)
    ses.set_spell_checker_dictionary_download_url(url)
    ses.set_spell_checker_languages(["fr", "de"])  # fr is corrupt, de is missing (404)
    assert await ses.spell_check("anything") is True  # no dictionary: nothing is marked
    assert sorted(events) == [("download-begin", "de"), ("download-begin", "fr"),
                              ("download-failure", "de"), ("download-failure", "fr")]
    assert sorted(requests) == ["/dicts/de-de-3-0.bdic", "/dicts/fr-fr-3-0.bdic"]
    assert not (tmp_path / "Dictionaries" / "fr-FR-3-0.bdic").exists()
    ses.set_spell_checker_dictionary_download_url("http://127.0.0.1:9/")  # nothing listens
    events.clear()
    ses.set_spell_checker_languages(["en-US"])
    await ses.spell_check("x")
    assert events == [("download-begin", "en-US"), ("download-failure", "en-US")]
    await ses.close()


async def test_in_memory_session_downloads_but_keeps_no_words(dictionary_server) -> None:  # type: ignore[no-untyped-def]
    url, _ = dictionary_server
    ses = _open()
    ses.set_spell_checker_dictionary_download_url(url)
    ses.set_spell_checker_languages(["en"])
    assert ses.get_spell_checker_languages() == ["en"]
    assert await ses.spell_check("houses") is True
    assert ses.add_word_to_spell_checker_dictionary("websession") is False
    assert ses.remove_word_from_spell_checker_dictionary("websession") is False
    assert await ses.list_words_in_spell_checker_dictionary() == []
    await ses.close()


async def test_custom_dictionary_rules_and_file(tmp_path: Path) -> None:
    ses = _open(tmp_path)
    assert ses.add_word_to_spell_checker_dictionary("Electron") is True
    assert ses.addWordToSpellCheckerDictionary("Electron") is False  # already there
    for bad in ("", " lead", "trail ", "a" * 100, "\ud800"):
        assert ses.add_word_to_spell_checker_dictionary(bad) is False
    assert ses.add_word_to_spell_checker_dictionary("é" * 49) is True  # 98 bytes
    assert ses.add_word_to_spell_checker_dictionary("é" * 50) is False  # 100 bytes
    assert ses.add_word_to_spell_checker_dictionary("in between") is True
    assert ses.remove_word_from_spell_checker_dictionary("missing") is False
    assert ses.remove_word_from_spell_checker_dictionary("in between") is True
    assert sorted(await ses.listWordsInSpellCheckerDictionary()) == ["Electron", "é" * 49]
    text = (tmp_path / "Custom Dictionary.txt").read_text(encoding="utf-8")
    assert text.startswith("Electron\n") and "\nchecksum_v1 = " in text
    await ses.close()
    # A corrupted file falls back to the backup Chromium keeps.
    (tmp_path / "Custom Dictionary.txt").write_text("Electron\nhacked\nchecksum_v1 = 0\n")
    again = _open(tmp_path)
    assert sorted(await again.list_words_in_spell_checker_dictionary()) == [
        "Electron", "in between", "é" * 49]
    await again.close()


def test_words_and_dictionary_survive_a_killed_process(tmp_path: Path, en_us_bdic: bytes) -> None:
    (tmp_path / "Dictionaries").mkdir()
    (tmp_path / "Dictionaries" / "en-US-10-1.bdic").write_bytes(en_us_bdic)
    src = Path(__file__).resolve().parents[1] / "src"
    script = textwrap.dedent(f"""
        import os, sys, time, asyncio
        sys.path[:0] = [{str(src)!r}]
        import websession
        from websession import session
        websession.set_user_data_path({str(tmp_path / "user-data")!r})
        ses = session.from_path({str(tmp_path)!r})
        ses.set_spell_checker_languages(["en-US"])
        assert ses.add_word_to_spell_checker_dictionary("websession")
        assert ses.add_word_to_spell_checker_dictionary("Chromium")
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    async def check() -> None:
        ses = _open(tmp_path)
        assert ses.get_spell_checker_languages() == ["en-US"]
        assert sorted(await ses.list_words_in_spell_checker_dictionary()) == ["Chromium", "websession"]
        assert await ses.spell_check("websession") is True
        assert await ses.spell_check("wbsession") is False
        await ses.close()

    asyncio.run(check())


# -- the BDict format -------------------------------------------------------------------------


def test_bdic_round_trip_matches_hunspell(en_us_bdic: bytes, tmp_path: Path) -> None:
    assert _bdic.verify(en_us_bdic)
    aff, dic = _bdic.bdic_to_hunspell(en_us_bdic)
    (tmp_path / "rt.aff").write_text(aff, encoding="utf-8")
    (tmp_path / "rt.dic").write_text(dic, encoding="utf-8")
    rebuilt = hunspell.Hunspell("rt", hunspell_data_dir=str(tmp_path))
    original = hunspell.Hunspell("en_US", hunspell_data_dir=str(HUNSPELL_DIR))
    source = (HUNSPELL_DIR / "en_US.dic").read_bytes().decode("latin-1").splitlines()[1:]
    words = [line.split("/")[0] for line in source[::97]]
    words += ["walked", "unhappiness", "Kyiv", "teh", "colour", "1st", "22nd", "xyzzyq"]
    assert [rebuilt.spell(w) for w in words] == [original.spell(w) for w in words]
    assert rebuilt.suggest("recieve")[0] == original.suggest("recieve")[0] == "receive"
    tampered = bytearray(en_us_bdic)
    tampered[-1] ^= 1
    assert not _bdic.verify(bytes(tampered))


_words = st.lists(st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF,
                                        blacklist_characters="/\\#"), min_size=1, max_size=12),
                  min_size=1, max_size=60)


@given(words=_words, flags=st.lists(st.sampled_from(["", "A", "B", "AB"]), min_size=60,
                                    max_size=60))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_bdic_writer_and_reader_agree(words: list[str], flags: list[str]) -> None:
    aff = "SET UTF-8\nSFX A Y 1\nSFX A 0 s .\nSFX B Y 1\nSFX B 0 ed .\n"
    entries = [w + (f"/{f}" if f else "") for w, f in zip(words, flags)]
    data = _bdic.hunspell_to_bdic(aff, f"{len(entries)}\n" + "\n".join(entries) + "\n")
    assert _bdic.verify(data)
    _aff_text, dic_text = _bdic.bdic_to_hunspell(data)
    read = {line.split("/")[0] for line in dic_text.split("\n")[1:] if line}
    assert read == set(words)


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_bdic_reader_survives_hostile_input(blob: bytes) -> None:
    for data in (blob, b"BDic" + blob, _bdic.SIGNATURE + b"\x02\x00\x00\x00" + blob):
        try:
            _bdic.bdic_to_hunspell(data)
        except _bdic.BDictError:
            pass
        _bdic.verify(data)


def test_many_children_use_lookup_nodes() -> None:
    words = [f"{chr(c)}{chr(d)}" for c in range(97, 123) for d in range(97, 123)]
    data = _bdic.hunspell_to_bdic("SET UTF-8\n", f"{len(words)}\n" + "\n".join(words))
    assert data[struct_dic_offset(data)] & 0xFC == 0xC0  # root is a lookup table
    _aff, dic = _bdic.bdic_to_hunspell(data)
    assert sorted(dic.splitlines()[1:]) == sorted(words)


def struct_dic_offset(data: bytes) -> int:
    import struct

    return int(struct.unpack_from("<I", data, 12)[0])
