"""File names for downloads, generated and made safe as Chromium does (``net::GenerateFileName``).

The name comes from ``Content-Disposition``, else a suggested name, else the URL's last path
segment, else ``download`` plus the MIME type's extension. It is then sanitised: no path
separators, no ``.``/``..``, no control or format characters, nothing a file system reserves,
no leading dot, a bounded length; and made unique in its folder (``name (1).ext``).

Sources: Chromium ``net/base/filename_util_internal.cc`` (GetSuggestedFilenameImpl,
SanitizeGeneratedFileName, GetFileNameFromURL, EnsureSafeExtension), ``net/base/filename_util.cc``
(GenerateSafeFileName, IsReservedNameOnWindows), ``base/i18n/file_util_icu.cc``
(ReplaceIllegalCharactersInPath), ``base/files/file_path.cc`` (Extension rules),
``net/base/mime_util.cc`` (extension tables) and
``components/download/internal/common/download_path_reservation_tracker.cc`` (truncation and
the ``(N)`` uniquifier).

Deliberate difference: the Windows-only rules of Chromium (reserved device names get a ``_``
prefix, shell-integrated extensions ``.lnk``/``.local``/``.{CLSID}`` become ``.download``) apply on
every platform, since a crawler's files often end up on Windows shares.
"""

from __future__ import annotations

import datetime
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

from yarl import URL

from ._content_disposition import convert_to_utf8, filename_of, is_string_utf8, unescape_binary

INTERMEDIATE_SUFFIX = ".crdownload"
MAX_COMPONENT_BYTES = 255
MAX_UNIQUE_FILES = 100
_TRUNCATED_NAME_LOWER_BOUND = 5

# net/base/mime_util.cc kPrimaryMappings then kSecondaryMappings (first extension is preferred).
_PRIMARY = {
    "video/webm": "webm", "audio/mpeg": "mp3", "application/wasm": "wasm",
    "application/x-chrome-extension": "crx", "application/xhtml+xml": "xhtml,xht,xhtm",
    "audio/flac": "flac", "audio/mp3": "mp3", "audio/ogg": "ogg,oga,opus", "audio/wav": "wav",
    "audio/webm": "webm", "audio/x-m4a": "m4a", "image/avif": "avif", "image/gif": "gif",
    "image/jpeg": "jpeg,jpg", "image/jxl": "jxl", "image/png": "png", "image/apng": "png",
    "image/webp": "webp", "multipart/related": "mht,mhtml", "text/css": "css",
    "text/html": "html,htm,shtml,shtm", "text/javascript": "js,mjs", "text/xml": "xml",
    "video/mp4": "mp4,m4v", "video/ogg": "ogv,ogm",
}
_SECONDARY = {
    "image/x-icon": "ico", "application/epub+zip": "epub", "application/font-woff": "woff",
    "application/gzip": "gz,tgz", "application/javascript": "js", "application/json": "json",
    "application/octet-stream": "bin,exe,com", "application/pdf": "pdf",
    "application/pkcs7-mime": "p7m,p7c,p7z", "application/pkcs7-signature": "p7s",
    "application/postscript": "ps,eps,ai", "application/rdf+xml": "rdf",
    "application/rss+xml": "rss", "application/vnd.android.package-archive": "apk",
    "application/vnd.mozilla.xul+xml": "xul", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/x-gzip": "gz,tgz", "application/x-mpegurl": "m3u8",
    "application/x-shockwave-flash": "swf,swl", "application/x-tar": "tar",
    "application/x-x509-ca-cert": "cer,crt", "application/zip": "zip", "audio/webm": "weba",
    "image/bmp": "bmp", "image/jpeg": "jfif,pjpeg,pjp", "image/svg+xml": "svg,svgz",
    "image/tiff": "tiff,tif", "image/vnd.microsoft.icon": "ico", "image/x-png": "png",
    "image/x-xbitmap": "xbm", "message/rfc822": "eml", "text/calendar": "ics",
    "text/html": "ehtml", "text/plain": "txt,text", "text/x-sh": "sh",
    "text/xml": "xsl,xbl,xslt", "video/mpeg": "mpeg,mpg",
}
_DOUBLE_EXTENSION_SUFFIXES = ("bz", "bz2", "gz", "lz", "lzma", "lzo", "xz", "z", "zst")
_RESERVED_DEVICES = (
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "clock$",
)
_SHELL_MAGIC_NAMES = ("desktop.ini", "thumbs.db")
# Unicode White_Space, which base/i18n/file_util_icu.cc refuses at either end of a name.
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ILLEGAL_ASCII = frozenset('"~*/:<>?\\|')


def preferred_extension(mime_type: str) -> str:
    """Return Chromium's preferred extension for a MIME type ('' if none)."""
    if mime_type == "application/octet-stream":
        return ""
    for table in (_PRIMARY, _SECONDARY):
        exts = table.get(mime_type)
        if exts:
            return exts.split(",", 1)[0]
    return ""


def extensions_for(mime_type: str) -> list[str]:
    """Return every extension the tables know for a MIME type."""
    out: list[str] = []
    for table in (_PRIMARY, _SECONDARY):
        exts = table.get(mime_type)
        if exts:
            out.extend(exts.split(","))
    return out


# -- base::FilePath extension rules ----------------------------------------------------------------


def _final_dot(name: str) -> int:
    if name in (".", ".."):
        return -1
    return name.rfind(".")


def _extension_dot(name: str) -> int:
    last = _final_dot(name)
    if last <= 0:
        return last
    penultimate = name.rfind(".", 0, last)
    if penultimate < 0:
        return last
    if name[penultimate + 1:].lower() == "user.js":
        return penultimate
    if name[last + 1:].lower() in _DOUBLE_EXTENSION_SUFFIXES and 1 < last - penultimate <= 5:
        return penultimate
    return last


def split_extension(name: str) -> tuple[str, str]:
    """Split ``name`` into body and extension (with its dot), as FilePath::Extension does."""
    dot = _extension_dot(name)
    if dot < 0:
        return name, ""
    return name[:dot], name[dot:]


def _replace_extension(name: str, extension: str) -> str:
    if name in ("", ".", ".."):
        return name
    body, _ = split_extension(name)
    if not extension or extension == ".":
        return body
    if not extension.startswith(".") and not body.endswith("."):
        body += "."
    return body + extension


# -- sanitising ---------------------------------------------------------------------------------------


def _illegal_anywhere(ch: str) -> bool:
    if ch in _ILLEGAL_ASCII:
        return True
    cp = ord(ch)
    if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:
        return True
    # Cc and Cf as in Chromium; Cs (lone surrogates) cannot be written as a file name at all.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def replace_illegal_characters(name: str, replace: str = "_") -> str:
    """base::i18n::ReplaceIllegalCharactersInPath with a replacement legal at the ends."""
    chars = list(name)
    last = len(chars) - 1
    for i, ch in enumerate(chars):
        if _illegal_anywhere(ch) or ((i == 0 or i == last) and (ch in _WHITE_SPACE or ch == ".")):
            chars[i] = replace
    return "".join(chars)


def sanitize_generated(name: str, replace_trailing: bool = False) -> str:
    """SanitizeGeneratedFileName: trim dots (and on Windows trailing spaces), replace separators."""
    if not name:
        return name
    if replace_trailing:
        length = len(name)
        name = name.rstrip(" .").rstrip()
        if not name:
            return name
        name += "_" * (length - len(name))
    name = name.strip(".")
    if not name:
        return name
    return name.replace("/", "_").replace("\\", "_")


def is_reserved_name(name: str) -> bool:
    """IsReservedNameOnWindows: device names (alone or before a dot) and shell magic names."""
    lower = name.lower()
    for device in _RESERVED_DEVICES:
        if lower.startswith(device) and (len(lower) == len(device) or lower[len(device)] == "."):
            return True
    return lower in _SHELL_MAGIC_NAMES


def _is_shell_integrated(extension: str) -> bool:
    lower = extension.lower()
    return lower in ("local", "lnk") or (len(lower) >= 2 and lower[0] == "{" and lower[-1] == "}")


def _corrected_extension(mime_type: str, ignore_extension: bool, name: str) -> str:
    """GetCorrectedExtensionUnsafe."""
    extension = split_extension(name)[1][1:]
    if not mime_type:
        return extension
    if extension and not ignore_extension:
        return extension
    preferred = preferred_extension(mime_type)
    if not preferred:
        return extension
    known = extensions_for(mime_type)
    if extension in known:
        return extension
    dot = _final_dot(name)
    final = name[dot + 1:] if dot >= 0 else ""
    if final in known:
        return extension
    return preferred


def generate_safe_file_name(mime_type: str, ignore_extension: bool, name: str) -> str:
    """GenerateSafeFileName: fix the extension, then keep clear of reserved names."""
    extension = _corrected_extension(mime_type, ignore_extension, name)
    if _is_shell_integrated(extension):
        extension = "download"
    name = _replace_extension(name, extension)
    if name and is_reserved_name(name):
        name = "_" + name
    return name


# -- the URL's name -----------------------------------------------------------------------------------


def _url_file_name(url: str, referrer_charset: str) -> tuple[str, bool, str]:
    """GetFileNameFromURL: return (name, should_overwrite_extension, host)."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return "", False, ""
    scheme = parsed.scheme.lower()
    if not scheme:
        return "", False, ""
    host = parsed.raw_host or ""
    if scheme in ("about", "data"):
        return "", False, host
    path = parsed.raw_path
    if not path:
        return "", False, host
    # url::ExtractFileName: after the last slash, up to the first ';' that follows it.
    cut = max(path.rfind("/"), path.rfind("\\"))
    segment = path[cut + 1:]
    semi = segment.find(";")
    if semi >= 0:
        segment = segment[:semi]
    raw = unescape_binary(segment.encode("utf-8", errors="surrogateescape"))
    name = is_string_utf8(raw)
    if name is None:
        name = convert_to_utf8(raw, referrer_charset) if referrer_charset else None
    if name is None:
        name = ""  # SysNativeMBToWide under a UTF-8 locale: invalid bytes give nothing
    has_query = "?" in url.split("#", 1)[0]
    return name, bool(name) and has_query, host


def generate_file_name(
    url: str,
    content_disposition: str | bytes = "",
    referrer_charset: str = "",
    suggested_name: str = "",
    mime_type: str = "",
    default_name: str = "",
) -> str:
    """Return Chromium's ``net::GenerateFileName(...)`` base name (never empty, never a path)."""
    name = ""
    overwrite_extension = False
    from_disposition = False
    if content_disposition:
        name = filename_of(content_disposition, referrer_charset)
        from_disposition = bool(name)
    if not name and suggested_name:
        name = suggested_name
    host = ""
    if not name:
        name, overwrite_extension, host = _url_file_name(url, referrer_charset)
    if not name and not default_name and host:
        name = host
    name = sanitize_generated(name)
    if not name.strip("-_"):
        name = default_name or "download"
        overwrite_extension = False
    name = replace_illegal_characters(name)
    if from_disposition:
        name = generate_safe_file_name("", False, name)
    else:
        name = generate_safe_file_name(mime_type, overwrite_extension, name)
    if not is_safe_component(name):
        name = "download"
    return name


def is_safe_component(name: str) -> bool:
    """Tell whether ``name`` is one harmless path component inside its folder."""
    return (
        bool(name)
        and name not in (".", "..")
        and not name.startswith(".")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and not any(_illegal_anywhere(ch) for ch in name)
        and not is_reserved_name(name)
    )


# -- length and uniqueness ------------------------------------------------------------------------------


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8", errors="surrogatepass")[:limit]
    return data.decode("utf-8", errors="ignore")


def truncate_name(name: str, limit: int) -> str | None:
    """TruncateFilename: shorten the body to fit ``limit`` UTF-8 bytes, keeping the extension."""
    if _utf8_len(name) <= limit:
        return name
    body, extension = split_extension(name)
    ext_len = _utf8_len(extension)
    if limit < _TRUNCATED_NAME_LOWER_BOUND + ext_len:
        return None
    truncated = _truncate_utf8(body, limit - ext_len).rstrip(" .")
    if _utf8_len(truncated) < _TRUNCATED_NAME_LOWER_BOUND:
        return None
    return truncated + extension


def bound_name(name: str, limit: int) -> str:
    """Return ``name`` within ``limit`` bytes: truncated body, else a truncated whole name."""
    shortened = truncate_name(name, limit)
    if shortened is None:
        shortened = replace_illegal_characters(_truncate_utf8(name, limit)) or "download"
    return shortened


def max_component_bytes(directory: Path) -> int:
    """Return the longest file name the folder's file system takes (255 when it cannot tell)."""
    try:
        value = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return MAX_COMPONENT_BYTES
    return min(int(value), MAX_COMPONENT_BYTES) if value and value > 0 else MAX_COMPONENT_BYTES


def _insert_before_extension(name: str, suffix: str) -> str:
    body, extension = split_extension(name)
    return body + suffix + extension


def unique_path(
    directory: Path, name: str, in_use: Callable[[Path], bool] | None = None
) -> Path:
    """Return ``directory/name``, or ``name (N).ext`` when taken, as Chromium's reservation does.

    A path is taken when it exists, its intermediate ``.crdownload`` exists, or ``in_use`` says
    another download of this process has reserved it. Names are bounded so that the
    intermediate name fits the file system too.
    """
    limit = max_component_bytes(directory) - len(INTERMEDIATE_SUFFIX)
    name = bound_name(name, limit)

    def taken(candidate: Path) -> bool:
        return (
            os.path.lexists(candidate)
            or os.path.lexists(str(candidate) + INTERMEDIATE_SUFFIX)
            or (in_use is not None and in_use(candidate))
        )

    first = directory / name
    if not taken(first):
        return first
    for n in range(1, MAX_UNIQUE_FILES + 1):
        suffix = f" ({n})"
        base = truncate_name(name, limit - len(suffix))
        if base is None:
            break
        candidate = directory / _insert_before_extension(base, suffix)
        if not taken(candidate):
            return candidate
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime(" - %Y-%m-%dT%H%M%S.") + f"{now.microsecond // 1000:03d}"
    n = 0
    while True:
        extra = stamp if n == 0 else f"{stamp} ({n})"
        base = truncate_name(name, limit - len(extra)) or bound_name("download", limit - len(extra))
        candidate = directory / _insert_before_extension(base, extra)
        if not taken(candidate):
            return candidate
        n += 1
