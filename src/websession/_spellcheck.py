"""The spellchecker: languages, dictionary downloads, the custom dictionary and real checking.

Electron's rules (``shell/browser/api/electron_api_session.cc``, SEMANTICS §15) over Chromium's
(``components/spellcheck``): languages map through Chromium's supported list, dictionaries are
``<language-region>-<major>-<minor>.bdic`` files fetched through the session with the four
``spellcheck-dictionary-*`` events and kept in ``<storage>/Dictionaries``, and the custom
dictionary is ``Custom Dictionary.txt`` with Chromium's checksum line. Checking uses Hunspell
(the ``chunspell`` binding) on the ``.aff``/``.dic`` pair rebuilt from each ``.bdic``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import locale
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import _bdic
from ._errors import SessionError
from ._events import Event
from ._naming import CamelAliases

log = logging.getLogger("websession")

# components/spellcheck/common/spellcheck_common.cc kSupportedSpellCheckerLanguages.
SUPPORTED_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("af", "af-ZA"), ("bg", "bg-BG"), ("ca", "ca-ES"), ("cs", "cs-CZ"), ("cy", "cy-GB"),
    ("da", "da-DK"), ("de", "de-DE"), ("de-DE", "de-DE"), ("el", "el-GR"), ("en", "en-US"),
    ("en-AU", "en-AU"), ("en-CA", "en-CA"), ("en-GB", "en-GB"),
    ("en-GB-oxendict", "en-GB-oxendict"), ("en-US", "en-US"), ("es", "es-ES"),
    ("es-419", "es-ES"), ("es-AR", "es-ES"), ("es-ES", "es-ES"), ("es-MX", "es-ES"),
    ("es-US", "es-ES"), ("et", "et-EE"), ("fa", "fa-IR"), ("fo", "fo-FO"), ("fr", "fr-FR"),
    ("fr-FR", "fr-FR"), ("he", "he-IL"), ("hi", "hi-IN"), ("hr", "hr-HR"), ("hu", "hu-HU"),
    ("hy", "hy"), ("id", "id-ID"), ("it", "it-IT"), ("it-IT", "it-IT"), ("ko", "ko"),
    ("lt", "lt-LT"), ("lv", "lv-LV"), ("nb", "nb-NO"), ("nl", "nl-NL"), ("pl", "pl-PL"),
    ("pt", "pt-BR"), ("pt-BR", "pt-BR"), ("pt-PT", "pt-PT"), ("ro", "ro-RO"), ("ru", "ru-RU"),
    ("sh", "sh"), ("sk", "sk-SK"), ("sl", "sl-SI"), ("sq", "sq"), ("sr", "sr"), ("sv", "sv-SE"),
    ("ta", "ta-IN"), ("tg", "tg-TG"), ("tr", "tr-TR"), ("uk", "uk-UA"), ("vi", "vi-VN"),
)
# GetVersionedFileName's kSpecialVersionString; everything else is -3-0.
_SPECIAL_VERSIONS = {
    "tr-TR": "-4-0", "tg-TG": "-5-0", "cy-GB": "-1-0", "hy": "-1-0", "sh": "-4-0", "sr": "-4-0",
    "fa-IR": "-9-0", "en-AU": "-10-1", "en-CA": "-10-1", "en-GB": "-10-1",
    "en-GB-oxendict": "-10-1", "en-US": "-10-1", "uk-UA": "-5-0",
}
DEFAULT_DOWNLOAD_URL = "https://redirector.gvt1.com/edgedl/chrome/dict/"
CUSTOM_DICTIONARY_FILE = "Custom Dictionary.txt"
MAX_CUSTOM_WORD_BYTES = 99
MAX_SUGGESTIONS = 5
_CHECKSUM_PREFIX = "checksum_v1 = "


def corresponding_language(language: str) -> str:
    """``GetCorrespondingSpellCheckLanguage``: exact language, else a language-region alias."""
    best = ""
    for lang, region in SUPPORTED_LANGUAGES:
        if lang == language:
            return language
        if region == language and not best:
            best = lang
    return best


def dictionary_file_name(language: str) -> str:
    """``GetVersionedFileName``: ``<language-region>-<major>-<minor>.bdic``."""
    region = next((r for lang, r in SUPPORTED_LANGUAGES if lang == language), language)
    return region + _SPECIAL_VERSIONS.get(region, "-3-0") + ".bdic"


def valid_custom_word(word: object) -> bool:
    """Chromium's custom dictionary rule: UTF-8, 1..99 bytes, no surrounding whitespace."""
    if not isinstance(word, str) or not word:
        return False
    try:
        size = len(word.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return size <= MAX_CUSTOM_WORD_BYTES and word.strip(" \t\n\v\f\r") == word


def _custom_dictionary_text(words: Iterable[str]) -> str:
    body = "".join(f"{w}\n" for w in sorted(words))
    return body + _CHECKSUM_PREFIX + hashlib.md5(body.encode("utf-8")).hexdigest() + "\n"


def _read_custom_dictionary(path: Path) -> set[str] | None:
    """Load words when the checksum holds (``LoadDictionaryFileReliably``); ``None`` if corrupt."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return set()
    index = text.rfind(_CHECKSUM_PREFIX)
    if index >= 0:
        body, checksum = text[:index], text[index + len(_CHECKSUM_PREFIX):].strip()
        if hashlib.md5(body.encode("utf-8")).hexdigest() != checksum:
            return None
    else:
        body = text
    return {w for w in body.split("\n") if valid_custom_word(w)}


def _default_languages() -> list[str]:
    try:
        name = locale.getlocale()[0] or os.environ.get("LANG", "")
    except ValueError:
        name = os.environ.get("LANG", "")
    code = (name or "").split(".")[0].replace("_", "-")
    found = corresponding_language(code) or corresponding_language(code.split("-")[0])
    return [found or "en-US"]


class _Dictionary:
    """One language's loaded Hunspell dictionary."""

    def __init__(self, language: str, checker: Any) -> None:
        self.language = language
        self.checker = checker

    def spell(self, word: str) -> bool:
        return bool(self.checker.spell(word))

    def suggest(self, word: str) -> list[str]:
        return list(self.checker.suggest(word))


def _load_hunspell(language: str, data: bytes) -> _Dictionary:
    import hunspell

    aff, dic = _bdic.bdic_to_hunspell(data)
    with tempfile.TemporaryDirectory(prefix="websession-dict-") as folder:
        (Path(folder) / "d.aff").write_text(aff, encoding="utf-8")
        (Path(folder) / "d.dic").write_text(dic, encoding="utf-8")
        checker = hunspell.Hunspell("d", hunspell_data_dir=folder)
    return _Dictionary(language, checker)


class SpellcheckSessionMixin(CamelAliases):
    """Spellchecker settings, dictionaries and checking; state from ``_setup_spellcheck``."""

    _spell_enabled: bool
    _spell_languages: list[str]
    _spell_download_url: str
    _spell_dictionaries: dict[str, _Dictionary]
    _spell_loading: dict[str, asyncio.Task[None]]
    _spell_memory_dir: Path | None
    _custom_words: set[str]
    _custom_loaded: bool

    def _setup_spellcheck(self) -> None:
        self._spell_enabled = True
        self._spell_download_url = DEFAULT_DOWNLOAD_URL
        self._spell_dictionaries = {}
        self._spell_loading = {}
        self._spell_memory_dir = None
        self._custom_words = set()
        self._custom_loaded = False
        stored = self._spell_preferences().get("dictionaries")
        if isinstance(stored, list) and all(isinstance(x, str) for x in stored):
            self._spell_languages = [x for x in stored if corresponding_language(x)]
            enabled = self._spell_preferences().get("enabled")
            self._spell_enabled = enabled if isinstance(enabled, bool) else True
        else:
            self._spell_languages = _default_languages()


    async def _teardown_spellcheck(self) -> None:
        for task in self._spell_loading.values():
            task.cancel()
        if self._spell_memory_dir is not None:
            shutil.rmtree(self._spell_memory_dir, ignore_errors=True)
            self._spell_memory_dir = None


    # -- folders and preferences -----------------------------------------------------------------

    def _spell_storage(self) -> Path | None:
        storage = getattr(self, "storage_path", None)
        return None if storage is None else Path(storage)

    def _dictionaries_dir(self) -> Path:
        storage = self._spell_storage()
        if storage is not None:
            return storage / "Dictionaries"
        if self._spell_memory_dir is None:
            self._spell_memory_dir = Path(tempfile.mkdtemp(prefix="websession-dictionaries-"))
        return self._spell_memory_dir

    def _spell_preferences(self) -> dict[str, Any]:
        storage = self._spell_storage()
        if storage is None:
            return {}
        try:
            data = json.loads((storage / "Preferences").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        section = data.get("spellcheck") if isinstance(data, dict) else None
        return section if isinstance(section, dict) else {}

    def _save_spell_preferences(self) -> None:
        storage = self._spell_storage()
        if storage is None:
            return
        path = storage / "Preferences"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        data["spellcheck"] = {"dictionaries": list(self._spell_languages),
                              "enabled": self._spell_enabled}
        storage.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name("Preferences.websession-tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, path)

    # -- enabled and languages -----------------------------------------------------------------

    def set_spell_checker_enabled(self, enable: bool) -> None:
        """Turn the built-in spellchecker on or off."""
        if not isinstance(enable, bool):
            raise TypeError(f"Error processing argument at index 0, conversion failure from {enable!r}")
        self._spell_enabled = enable
        self._save_spell_preferences()
        if enable:
            self._schedule_dictionaries()

    def is_spell_checker_enabled(self) -> bool:
        """Tell whether the spellchecker is on."""
        return self._spell_enabled

    @property
    def spell_checker_enabled(self) -> bool:
        """Whether the spellchecker is on (settable)."""
        return self._spell_enabled

    @spell_checker_enabled.setter
    def spell_checker_enabled(self, value: bool) -> None:
        self.set_spell_checker_enabled(value)

    @property
    def available_spell_checker_languages(self) -> list[str]:
        """Every language code ``set_spell_checker_languages`` accepts directly."""
        return [lang for lang, _ in SUPPORTED_LANGUAGES]

    def set_spell_checker_languages(self, languages: Iterable[str]) -> None:
        """Check spelling in ``languages``; a non-empty list enables checking, an empty one disables."""
        if isinstance(languages, str) or not isinstance(languages, Iterable):
            raise TypeError(
                f"Error processing argument at index 0, conversion failure from {languages!r}"
            )
        given = list(languages)
        codes = []
        for language in given:
            if not isinstance(language, str):
                raise TypeError(
                    f"Error processing argument at index 0, conversion failure from {given!r}"
                )
            code = corresponding_language(language)
            if not code:
                raise SessionError(
                    f'Invalid language code provided: "{language}" is not a valid language code'
                )
            codes.append(code)
        self._spell_languages = codes
        self._spell_enabled = bool(given)
        for language in list(self._spell_dictionaries):
            if language not in codes:
                del self._spell_dictionaries[language]
        self._save_spell_preferences()
        self._schedule_dictionaries()

    def get_spell_checker_languages(self) -> list[str]:
        """Return the languages spelling is checked in."""
        return list(self._spell_languages)

    def set_spell_checker_dictionary_download_url(self, url: str) -> None:
        """Download dictionaries from ``url`` + file name instead of Chromium's CDN."""
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https", "file") or (
            parts.scheme != "file" and not parts.netloc
        ):
            raise SessionError(
                "The URL you provided to setSpellCheckerDictionaryDownloadURL is not a valid URL"
            )
        self._spell_download_url = url

    # -- dictionaries ----------------------------------------------------------------------------

    def _schedule_dictionaries(self) -> None:
        if not self._spell_enabled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for language in self._spell_languages:
            task = self._spell_loading.get(language)
            if language in self._spell_dictionaries or (task is not None and not task.done()):
                continue
            self._spell_loading[language] = loop.create_task(self._load_dictionary(language))

    async def _load_dictionary(self, language: str) -> None:
        emitter: Any = self
        folder = self._dictionaries_dir()
        name = dictionary_file_name(language)
        path = folder / name
        data: bytes | None = None
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            data = None
        if data is not None and not _bdic.verify(data):
            data = None
        if data is None:
            emitter.emit("spellcheck-dictionary-download-begin", Event(self), language)
            data = await self._download_dictionary(name)
            if data is None or not _bdic.verify(data):
                emitter.emit("spellcheck-dictionary-download-failure", Event(self), language)
                return
            await asyncio.to_thread(_write_file, path, data)
            emitter.emit("spellcheck-dictionary-download-success", Event(self), language)
        try:
            dictionary = await asyncio.to_thread(_load_hunspell, language, data)
        except Exception:
            log.exception("could not load the %s dictionary", language)
            return
        if language in self._spell_languages:
            self._spell_dictionaries[language] = dictionary
            emitter.emit("spellcheck-dictionary-initialized", Event(self), language)

    async def _download_dictionary(self, name: str) -> bytes | None:
        # Electron's patch asks for the lower-case file name (the server must be case-insensitive).
        url = self._spell_download_url + name.lower()
        owner: Any = self
        try:
            response = await owner.fetch(url)
            try:
                if not 200 <= int(response.status) < 300:
                    return None
                body: bytes = await response.bytes()
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # noqa: BLE001 - any failure is Chromium's download failure
            log.info("dictionary download from %s failed: %s", url, exc)
            return None
        return body or None

    async def _spell_ready(self) -> list[_Dictionary]:
        self._schedule_dictionaries()
        pending = [t for t in self._spell_loading.values() if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return [self._spell_dictionaries[x] for x in self._spell_languages
                if x in self._spell_dictionaries]

    async def spell_check(self, word: str) -> bool:
        """Tell whether ``word`` is spelled correctly in any enabled language's dictionary.

        Custom dictionary words are correct; with the spellchecker off, or no dictionary loaded,
        nothing is marked (``True``), as Chromium does.
        """
        if not isinstance(word, str):
            raise TypeError(f"spell_check: word must be a string, not {type(word).__name__}")
        if not self._spell_enabled or word in self._custom_dictionary():
            return True
        dictionaries = await self._spell_ready()
        if not dictionaries:
            return True
        return any(d.spell(word) for d in dictionaries)

    async def get_spelling_suggestions(self, word: str) -> list[str]:
        """Return up to 5 suggestions for ``word``, interleaved across languages (Chromium's order)."""
        if not isinstance(word, str):
            raise TypeError(
                f"get_spelling_suggestions: word must be a string, not {type(word).__name__}"
            )
        if not self._spell_enabled:
            return []
        dictionaries = await self._spell_ready()
        lists = [await asyncio.to_thread(d.suggest, word) for d in dictionaries]
        out: list[str] = []
        longest = max((len(x) for x in lists), default=0)
        for index in range(longest):
            for suggestions in lists:
                if index < len(suggestions) and suggestions[index] not in out:
                    out.append(suggestions[index])
                if len(out) >= MAX_SUGGESTIONS:
                    return out
        return out

    # -- custom dictionary -----------------------------------------------------------------------

    def _custom_dictionary_path(self) -> Path | None:
        storage = self._spell_storage()
        return None if storage is None else storage / CUSTOM_DICTIONARY_FILE

    def _custom_dictionary(self) -> set[str]:
        if not self._custom_loaded:
            path = self._custom_dictionary_path()
            if path is not None:
                words = _read_custom_dictionary(path)
                if words is None:
                    words = _read_custom_dictionary(path.with_name(path.name + ".backup")) or set()
                self._custom_words = words
            self._custom_loaded = True
        return self._custom_words

    def _save_custom_dictionary(self) -> None:
        path = self._custom_dictionary_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            shutil.copyfile(path, path.with_name(path.name + ".backup"))
        _write_file(path, _custom_dictionary_text(self._custom_words).encode("utf-8"))

    async def list_words_in_spell_checker_dictionary(self) -> list[str]:
        """Return the custom dictionary's words."""
        path = self._custom_dictionary_path()
        if path is not None and not self._custom_loaded:
            try:
                await asyncio.to_thread(self._custom_dictionary)
            except OSError as exc:
                raise SessionError(
                    "Spellcheck in unexpected state: failed to load custom dictionary."
                ) from exc
        return sorted(self._custom_dictionary())

    def add_word_to_spell_checker_dictionary(self, word: str) -> bool:
        """Add ``word`` to the custom dictionary; ``False`` when invalid, present or in memory."""
        if self._custom_dictionary_path() is None or not valid_custom_word(word):
            return False
        words = self._custom_dictionary()
        if word in words:
            return False
        words.add(word)
        self._save_custom_dictionary()
        return True

    def remove_word_from_spell_checker_dictionary(self, word: str) -> bool:
        """Remove ``word`` from the custom dictionary; ``False`` when absent, invalid or in memory."""
        if self._custom_dictionary_path() is None or not valid_custom_word(word):
            return False
        words = self._custom_dictionary()
        if word not in words:
            return False
        words.discard(word)
        self._save_custom_dictionary()
        return True


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".websession-tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
