"""``Content-Disposition`` parsing exactly as Chromium's ``net::HttpContentDisposition`` does it.

RFC 6266 with the RFC 5987/8187 ``filename*`` extended value, plus Chromium's tolerance for what
servers really send: RFC 2047 encoded words, %-escaped UTF-8, raw 8-bit names (UTF-8, else the
referrer charset), unbalanced quotes. Header values are byte strings in Chromium; here a ``str``
header is taken as Latin-1 (one character per byte, as HTTP libraries hand them over) and a
``bytes`` header as is. The result is text (Chromium's UTF-8 ``filename()``).

Source: Chromium ``net/http/http_content_disposition.cc`` and the ``HttpUtil`` helpers it uses
(``NameValuePairsIterator``, ``TrimLWS``, ``IsToken``, ``Unquote``) in ``net/http/http_util.cc``.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import encodings.aliases
import unicodedata
from dataclasses import dataclass

INLINE = "inline"
ATTACHMENT = "attachment"

# HttpContentDisposition::ParseResultFlags
INVALID = 0
HAS_DISPOSITION_TYPE = 0x1
HAS_UNKNOWN_DISPOSITION_TYPE = 0x2
HAS_NAME = 0x4  # no longer set by Chromium; kept for the flag's name
HAS_FILENAME = 0x8
HAS_EXT_FILENAME = 0x10
HAS_NON_ASCII_STRINGS = 0x20
HAS_PERCENT_ENCODED_STRINGS = 0x40
HAS_RFC2047_ENCODED_STRINGS = 0x80
HAS_SINGLE_QUOTED_FILENAME = 0x100

FLAG_NAMES = {
    HAS_DISPOSITION_TYPE: "HAS_DISPOSITION_TYPE",
    HAS_UNKNOWN_DISPOSITION_TYPE: "HAS_UNKNOWN_DISPOSITION_TYPE",
    HAS_NAME: "HAS_NAME",
    HAS_FILENAME: "HAS_FILENAME",
    HAS_EXT_FILENAME: "HAS_EXT_FILENAME",
    HAS_NON_ASCII_STRINGS: "HAS_NON_ASCII_STRINGS",
    HAS_PERCENT_ENCODED_STRINGS: "HAS_PERCENT_ENCODED_STRINGS",
    HAS_RFC2047_ENCODED_STRINGS: "HAS_RFC2047_ENCODED_STRINGS",
    HAS_SINGLE_QUOTED_FILENAME: "HAS_SINGLE_QUOTED_FILENAME",
}

_LWS = b" \t"
_NOT_TOKEN = frozenset(b'()<>@,;:\\"/[]?={}')
_HEX = frozenset(b"0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ContentDisposition:
    """The parsed header: ``type`` (``inline``/``attachment``), ``filename`` ('' if none), flags."""

    type: str
    filename: str
    parse_result_flags: int

    @property
    def is_attachment(self) -> bool:
        return self.type == ATTACHMENT

    def flag_names(self) -> set[str]:
        """Return the names of the ParseResultFlags that are set."""
        return {name for bit, name in FLAG_NAMES.items() if self.parse_result_flags & bit}


def parse(header: str | bytes, referrer_charset: str = "") -> ContentDisposition:
    """Parse a ``Content-Disposition`` value as ``HttpContentDisposition(header, charset)``."""
    if isinstance(header, str):
        try:
            data = header.encode("latin-1")
        except UnicodeEncodeError:
            data = header.encode("utf-8", errors="surrogateescape")
    elif isinstance(header, (bytes, bytearray, memoryview)):
        data = bytes(header)
    else:
        raise TypeError(f"parse: header must be str or bytes, not {type(header).__name__}")
    if not isinstance(referrer_charset, str):
        raise TypeError("parse: referrer_charset must be a string")
    flags = 0
    kind = INLINE
    pos = 0
    # ConsumeDispositionType: the part before the first ';' (quotes do not protect it).
    semi = data.find(b";")
    raw_type = data if semi < 0 else data[:semi]
    dtype = _trim_lws(raw_type)
    if dtype and _is_token(dtype):
        flags |= HAS_DISPOSITION_TYPE
        lowered = dtype.lower()
        if lowered == b"inline":
            kind = INLINE
        elif lowered == b"attachment":
            kind = ATTACHMENT
        else:
            flags |= HAS_UNKNOWN_DISPOSITION_TYPE
            kind = ATTACHMENT
        pos = raw_type.find(dtype) + len(dtype)

    filename = ""
    ext_filename = ""
    for name, value, raw_value in _name_value_pairs(data[pos:]):
        lname = name.lower()
        if not filename and lname == b"filename":
            decoded, value_flags = _decode_filename_value(value, referrer_charset)
            if decoded:
                filename = decoded
                flags |= value_flags | HAS_FILENAME
                if filename.startswith("'"):
                    flags |= HAS_SINGLE_QUOTED_FILENAME
        elif not ext_filename and lname == b"filename*":
            ext_filename = _decode_ext_value(raw_value)
            if ext_filename:
                flags |= HAS_EXT_FILENAME
    return ContentDisposition(kind, ext_filename or filename, flags)


def filename_of(header: str | bytes, referrer_charset: str = "") -> str:
    """Return the file name a ``Content-Disposition`` value gives ('' when it gives none)."""
    return parse(header, referrer_charset).filename


# -- HttpUtil helpers ------------------------------------------------------------------------


def _trim_lws(s: bytes) -> bytes:
    return s.strip(_LWS)


def _is_token(s: bytes) -> bool:
    return bool(s) and all(0x20 < c < 0x7F and c not in _NOT_TOKEN for c in s)


def _split_values(data: bytes) -> list[bytes]:
    """Split on ';' outside double quotes (base::StringTokenizer with quote chars '"')."""
    out: list[bytes] = []
    start = 0
    in_quote = False
    escape = False
    for i, c in enumerate(data):
        if in_quote:
            if escape:
                escape = False
            elif c == 0x5C:
                escape = True
            elif c == 0x22:
                in_quote = False
        elif c == 0x3B:
            out.append(data[start:i])
            start = i + 1
        elif c == 0x22:
            in_quote = True
    out.append(data[start:])
    # ValuesIterator: trim LWS and skip empty values.
    return [v for v in (_trim_lws(p) for p in out) if v]


def _unquote(s: bytes) -> bytes:
    """HttpUtil::Unquote: strip matching double quotes and undo quoted-pairs."""
    if len(s) < 2 or s[0] != 0x22 or s[-1] != 0x22:
        return s
    out = bytearray()
    escape = False
    for c in s[1:-1]:
        if c == 0x5C and not escape:
            escape = True
            continue
        escape = False
        out.append(c)
    return bytes(out)


def _name_value_pairs(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """HttpUtil::NameValuePairsIterator (values required, quotes not strict): stops at a bad pair."""
    pairs: list[tuple[bytes, bytes, bytes]] = []
    for item in _split_values(data):
        eq = item.find(b"=")
        if eq <= 0:
            break  # no name, or no '=' while values are required
        name = _trim_lws(item[:eq])
        if b'"' in name:
            break
        raw = _trim_lws(item[eq + 1:])
        if not raw:
            break
        value = raw
        if raw[0] == 0x22:
            if raw[-1] != 0x22 or len(raw) == 1:
                value = raw[1:]  # mismatched quotes: drop the opening one only
                raw = value
            else:
                value = _unquote(raw)
        pairs.append((name, value, raw))
    return pairs


# -- charset conversion (ICU in Chromium) --------------------------------------------------------

# Python-only codecs that ICU does not know; never let a header pick them.
_NOT_CHARSETS = frozenset({
    "unicode_escape", "raw_unicode_escape", "idna", "punycode", "mbcs", "oem", "undefined",
    "rot_13", "base64_codec", "bz2_codec", "hex_codec", "quopri_codec", "uu_codec", "zlib_codec",
    "utf_8_sig", "palmos", "charmap", "unicode_internal",
})


def _norm_charset(name: str) -> str:
    # ICU's alias matching ignores case and every non-alphanumeric character.
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _build_charsets() -> dict[str, str]:
    table: dict[str, str] = {}
    for alias, codec in encodings.aliases.aliases.items():
        table.setdefault(_norm_charset(alias), codec)
    for codec in set(encodings.aliases.aliases.values()):
        table.setdefault(_norm_charset(codec), codec)
    return {k: v for k, v in table.items() if v not in _NOT_CHARSETS}


_CHARSETS = _build_charsets()


def _codec(charset: str) -> str | None:
    key = _norm_charset(charset)
    if not key:
        return None
    name = _CHARSETS.get(key)
    if name is None:
        try:
            info = codecs.lookup(charset)
        except (LookupError, ValueError):
            return None
        if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
            return None
        name = info.name
    return name


def convert_to_utf8(data: bytes, charset: str) -> str | None:
    """Decode ``data`` from ``charset``, failing on invalid input (ICU with the STOP callback)."""
    name = _codec(charset)
    if name is None:
        return None
    try:
        return data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def is_string_utf8(data: bytes) -> str | None:
    """Decode ``data`` as base::IsStringUTF8 accepts it (no surrogates, no noncharacters)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for ch in text:
        cp = ord(ch)
        if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:
            return None
    return text


def unescape_binary(s: bytes) -> bytes:
    """base::UnescapeBinaryURLComponent(NORMAL): decode every valid %XX."""
    if b"%" not in s:
        return s
    out = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == 0x25 and i + 2 < n and s[i + 1] in _HEX and s[i + 2] in _HEX:
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(c)
        i += 1
    return bytes(out)


# -- filename value decoding ---------------------------------------------------------------------


def _decode_q(part: bytes) -> bytes | None:
    """RFC 2047 §4.2 'Q' decoding."""
    out = bytearray()
    i = 0
    n = len(part)
    while i < n:
        c = part[i]
        if c == 0x5F:
            out.append(0x20)
        elif c == 0x3D:
            if n - i < 3 or part[i + 1] not in _HEX or part[i + 2] not in _HEX:
                return None
            out.append(int(part[i + 1:i + 3], 16))
            i += 2
        elif 0x20 < c < 0x7F and c != 0x3F:
            out.append(c)
        else:
            return None
        i += 1
    return bytes(out)


def _decode_bq(part: bytes, b_encoding: bool, charset: str) -> str | None:
    if b_encoding:
        try:
            decoded: bytes | None = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError):
            decoded = None
    else:
        decoded = _decode_q(part)
    if decoded is None:
        return None
    if not decoded:
        return ""
    return convert_to_utf8(decoded, charset)


def _decode_word(word: bytes, referrer_charset: str) -> tuple[bool, bool, str, int]:
    """DecodeWord: return (ok, is_rfc2047, text, flags)."""
    if not word:
        return True, False, "", 0
    if not word.isascii():
        text = is_string_utf8(word)
        if text is None and referrer_charset:
            text = convert_to_utf8(word, referrer_charset)
        if text is None:
            # SysNativeMBToWide with a UTF-8 locale: invalid input converts to nothing.
            text = ""
        return True, False, text, HAS_NON_ASCII_STRINGS

    # RFC 2047: =?charset?B|Q?encoded?=  (base::CStringTokenizer on '?', empty tokens skipped)
    parts = [p for p in word.split(b"?") if p]
    is_rfc2047 = True
    charset = ""
    b_encoding = False
    decoded = ""
    for index, part in enumerate(parts):
        if index == 0:
            if part != b"=":
                is_rfc2047 = False
                break
        elif index == 1:
            charset = part.decode("ascii")
        elif index == 2:
            if len(part) > 1 or part not in (b"b", b"B", b"q", b"Q"):
                is_rfc2047 = False
                break
            b_encoding = part in (b"b", b"B")
        elif index == 3:
            result = _decode_bq(part, b_encoding, charset)
            if result is None:
                return False, False, "", 0
            decoded = result
        elif index == 4:
            if part != b"=":
                return False, False, "", 0
        else:
            return False, False, "", 0
    if is_rfc2047:
        if word.endswith(b"="):
            return True, True, decoded, HAS_RFC2047_ENCODED_STRINGS
        return False, False, "", 0

    # What IE6/7 does: %-escaped UTF-8.
    flags = 0
    unescaped = unescape_binary(word)
    if unescaped != word:
        flags |= HAS_PERCENT_ENCODED_STRINGS
    text = is_string_utf8(unescaped)
    if text is None:
        return False, False, "", flags
    return True, False, text, flags


def _decode_filename_value(value: bytes, referrer_charset: str) -> tuple[str, int]:
    """DecodeFilenameValue: words split on whitespace; a gap after a plain word becomes a space."""
    flags = 0
    out: list[str] = []
    previous_rfc2047 = True
    token = bytearray()

    def flush() -> bool:
        nonlocal previous_rfc2047, flags
        ok, is_rfc2047, text, word_flags = _decode_word(bytes(token), referrer_charset)
        token.clear()
        flags |= word_flags
        previous_rfc2047 = is_rfc2047
        if not ok:
            return False
        out.append(text)
        return True

    for c in value:
        if c in b" \t\n\r":
            if token and not flush():
                return "", 0
            if not previous_rfc2047:
                out.append(" ")
        else:
            token.append(c)
    if token and not flush():
        return "", 0
    text = "".join(out)
    return (text, flags) if text else ("", 0)


def _decode_ext_value(raw: bytes) -> str:
    """DecodeExtValue (RFC 5987 §3.2): charset'lang'value-chars, NFC-normalised."""
    if b'"' in raw:
        return ""
    # ParseExtValueComponents: StringTokenizer on "'" returning delimiters, empty tokens dropped.
    charset = b""
    value = b""
    delims = 0
    i = 0
    n = len(raw)
    while i < n:
        if raw[i] == 0x27:
            delims += 1
            i += 1
            continue
        j = raw.find(b"'", i)
        j = n if j < 0 else j
        piece = raw[i:j]
        if delims == 0:
            charset = piece
        elif delims == 2:
            value = piece
        elif delims > 2:
            return ""
        i = j
    if delims != 2 or not charset or not value:
        return ""
    if not value.isascii():
        return ""
    text = convert_to_utf8(unescape_binary(value), charset.decode("latin-1"))
    if text is None:
        return ""
    return unicodedata.normalize("NFC", text)
