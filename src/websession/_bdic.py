"""Chromium's ``.bdic`` dictionary format: verify, read into Hunspell ``.aff``/``.dic``, write.

Chromium ships Hunspell dictionaries as BDict files (``third_party/hunspell/google/bdict.h``):
a 32-byte header (``BDic``, version 2.0, offsets, MD5 of the rest), the affix data as text
tables, and the words in a trie of leaf, list and lookup nodes. Hunspell itself only reads
``.aff``/``.dic`` text, so :func:`bdic_to_hunspell` walks the trie
(``bdict_reader.cc``'s ``WordIterator``) and rebuilds both files, with the affix groups as
``AF`` aliases exactly as ``convert_dict`` made them. :func:`hunspell_to_bdic` is the converse
(``convert_dict``'s ``AffReader``/``DicReader`` and ``bdict_writer.cc``), used to host
dictionaries and in tests.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

SIGNATURE = b"BDic"
MAJOR_VERSION = 2
MINOR_VERSION = 0
HEADER_SIZE = 32
AFF_HEADER_SIZE = 16
MAX_AFFIXES_PER_WORD = 32
LEAF_NODE_MAX_FIRST_AFFIX_ID = 0x1FFE
FIRST_AFFIX_IS_UNUSED = 0x1FFF
_FOLLOWING_TERMINATOR = 0xFFFF
MAX_WORD_BYTES = 128
_ASCII_SPACE = " \t\r\n\v\f"


class BDictError(ValueError):
    """The data is not a valid BDict file."""


def verify(data: bytes) -> bool:
    """``BDict::Verify``: header sane and the MD5 digest matches the aff and dic data."""
    if len(data) < HEADER_SIZE or data[:4] != SIGNATURE:
        return False
    major, _minor, aff_offset, dic_offset = struct.unpack_from("<HHII", data, 4)
    if major > MAJOR_VERSION or aff_offset > len(data) or dic_offset > len(data):
        return False
    if major < 2:
        return True
    return hashlib.md5(data[aff_offset:]).digest() == data[16:32]


def _strings(data: bytes, offset: int) -> Iterator[bytes]:
    """Iterate NUL-terminated strings until an empty one (``LineIterator``)."""
    while offset < len(data) and data[offset] != 0:
        end = data.find(b"\0", offset)
        if end < 0:
            end = len(data)
        yield data[offset:end]
        offset = end + 1


class _Reader:
    def __init__(self, data: bytes, dic_offset: int) -> None:
        self.data = data
        self.dic_offset = dic_offset

    def u16(self, offset: int) -> int:
        if offset + 2 > len(self.data):
            raise BDictError("truncated node")
        return int(struct.unpack_from("<H", self.data, offset)[0])

    def u32(self, offset: int) -> int:
        if offset + 4 > len(self.data):
            raise BDictError("truncated node")
        return int(struct.unpack_from("<I", self.data, offset)[0])

    def byte(self, offset: int) -> int:
        if offset >= len(self.data):
            raise BDictError("node out of range")
        return self.data[offset]

    def leaf(self, offset: int) -> tuple[bytes, list[int]]:
        """Return the leaf's additional string and its affix IDs."""
        first = self.byte(offset)
        affix = ((first & 0x1F) << 8) + self.byte(offset + 1)
        cursor = offset + 2
        addition = b""
        if first & 0xC0 == 0x40:
            end = self.data.find(b"\0", cursor)
            if end < 0:
                raise BDictError("unterminated leaf string")
            addition = self.data[cursor:end]
            cursor = end + 1
        affixes = [affix]
        if first & 0xA0 == 0x20 or affix == FIRST_AFFIX_IS_UNUSED:
            if affix == FIRST_AFFIX_IS_UNUSED:
                affixes = []
            while len(affixes) < MAX_AFFIXES_PER_WORD:
                value = self.u16(cursor)
                cursor += 2
                if value == _FOLLOWING_TERMINATOR:
                    break
                affixes.append(value)
        return addition, affixes

    def children(self, offset: int) -> Iterator[tuple[int, int]]:
        """Yield ``(character, child offset)`` of a list or lookup node, in order."""
        node = self.byte(offset)
        if node & 0xE0 == 0xE0:
            count = node & 0x0F
            wide = node & 0xF0 == 0xF0
            width = 3 if wide else 2
            begin = offset + 1
            children_begin = begin + count * width
            for index in range(count):
                entry = begin + index * width
                relative = self.u16(entry + 1) if wide else self.byte(entry + 1)
                yield self.byte(entry), children_begin + relative
        elif node & 0xFC == 0xC0:
            is_32 = node & 0xFE == 0xC2
            has_0th = node & 0xFD == 0xC1
            first_char = self.byte(offset + 1)
            count = self.byte(offset + 2)
            width = 4 if is_32 else 2
            table = offset + 3
            if has_0th:
                value = self.u32(table) if is_32 else self.u16(table)
                yield 0, value if is_32 else offset + value
                table += width
            for index in range(count):
                value = self.u32(table + index * width) if is_32 else self.u16(table + index * width)
                if value:
                    yield first_char + index, value if is_32 else offset + value
        else:
            raise BDictError(f"unknown node type 0x{node:02x}")

    def words(self) -> Iterator[tuple[bytes, list[int]]]:
        """Walk the trie depth first (``WordIterator``)."""
        stack: list[tuple[int, bytes]] = [(self.dic_offset, b"")]
        budget = len(self.data) * 2 + 16
        while stack:
            budget -= 1
            if budget < 0:
                raise BDictError("the trie has a cycle")
            offset, prefix = stack.pop()
            node = self.byte(offset)
            if node & 0x80 == 0:
                addition, affixes = self.leaf(offset)
                yield prefix + addition, affixes
                continue
            pending = []
            for char, child in self.children(offset):
                if child >= len(self.data) or child <= offset:
                    raise BDictError("child offset out of range")
                word = prefix if char == 0 else prefix + bytes([char])
                if len(word) > MAX_WORD_BYTES:
                    raise BDictError("word too long")
                pending.append((child, word))
            stack.extend(reversed(pending))


def bdic_to_hunspell(data: bytes) -> tuple[str, str]:
    """Return the ``.aff`` and ``.dic`` texts (UTF-8) Hunspell loads for a BDict file."""
    if len(data) < HEADER_SIZE or data[:4] != SIGNATURE:
        raise BDictError("not a BDict file")
    major, _minor, aff_offset, dic_offset = struct.unpack_from("<HHII", data, 4)
    if major > MAJOR_VERSION or dic_offset > len(data) or aff_offset + AFF_HEADER_SIZE > len(data):
        raise BDictError("bad BDict header")
    group_offset, rule_offset, rep_offset, other_offset = struct.unpack_from("<IIII", data, aff_offset)

    def text(raw: bytes) -> str:
        return raw.decode("utf-8", "replace")

    aff: list[str] = ["SET UTF-8"]
    aff += [text(line) for line in _strings(data, other_offset) if not text(line).startswith("SET ")]
    aff += [text(line) for line in _strings(data, group_offset)]
    aff += [text(line) for line in _strings(data, rule_offset)]
    replacements = list(_strings(data, rep_offset))
    pairs = list(zip(replacements[0::2], replacements[1::2]))
    if pairs:
        aff.append(f"REP {len(pairs)}")
        for source, target in pairs:
            aff.append(f"REP {text(source).replace(' ', '_')} {text(target).replace(' ', '_')}")
    entries: list[str] = []
    for word, affixes in _Reader(data, dic_offset).words():
        spelled = text(word).replace("/", "\\/")
        for affix in affixes or [0]:
            entries.append(spelled if affix == 0 else f"{spelled}/{affix}")
    dic = [str(len(entries)), *entries]
    return "\n".join(aff) + "\n", "\n".join(dic) + "\n"


# -- writing (convert_dict) ------------------------------------------------------------------


class _AffData:
    def __init__(self) -> None:
        self.comment = ""
        self.groups: dict[str, int] = {}
        self.indexed = False
        self.rules: list[str] = []
        self.replacements: list[tuple[str, str]] = []
        self.other: list[str] = []

    def group_index(self, flags: str) -> int:
        flags = flags.strip()
        if flags not in self.groups:
            self.groups[flags] = len(self.groups) + 1
        return self.groups[flags]


def _parse_aff(aff_text: str) -> _AffData:
    aff = _AffData()
    got_command = got_first_af = got_first_rep = False
    for raw in aff_text.split("\n"):
        line = raw.rstrip("\r")
        if not got_command and line.startswith("#"):
            aff.comment += line + "\n"
            continue
        line = line.split("#", 1)[0].strip(_ASCII_SPACE) if not line.startswith("#") else ""
        if not line:
            continue
        got_command = True
        if line.startswith("SET "):
            continue
        if line.startswith("AF "):
            aff.indexed = True
            if got_first_af:
                aff.group_index(line[3:])
            got_first_af = True
        elif line.startswith(("SFX ", "PFX ")):
            aff.rules.append(_affix_rule(aff, " ".join(line.split())))
        elif line.startswith("REP "):
            if got_first_rep:
                source, _, target = " ".join(line[4:].split()).partition(" ")
                aff.replacements.append((source.replace("_", " "), target.replace("_", " ")))
            got_first_rep = True
        elif line.startswith(("IGNORE ", "COMPLEXPREFIXES")):
            raise BDictError(f"BDict cannot hold the {line.split()[0]} command")
        else:
            aff.other.append(line)
    return aff


def _affix_rule(aff: _AffData, rule: str) -> str:
    parts = rule.split(" ")
    # "SFX D Y 4" headers pass through; rule lines "SFX D strip add/flags cond" get their
    # continuation flags replaced by the AF index, as AffReader::AddAffix does.
    if len(parts) >= 4 and parts[2] not in ("Y", "N") and "/" in parts[3] and not aff.indexed:
        add, _, flags = parts[3].partition("/")
        parts[3] = f"{add}/{aff.group_index(flags)}"
        if len(parts) == 4:
            parts.append(".")
    return " ".join(parts)


def _parse_dic(dic_text: str, aff: _AffData) -> list[tuple[bytes, list[int]]]:
    words: dict[bytes, list[int]] = {}
    for raw in dic_text.split("\n")[1:]:
        line = raw.strip(_ASCII_SPACE)
        if not line:
            continue
        entry = line.split("\t", 1)[0].split(" ", 1)[0]
        word, flags = _split_entry(entry)
        if not word:
            continue
        index = 0
        if flags:
            index = int(flags) if aff.indexed and flags.isdigit() else aff.group_index(flags)
        key = word.encode("utf-8")
        bucket = words.setdefault(key, [])
        if index not in bucket:
            bucket.append(index)
    return sorted(words.items())


def _split_entry(entry: str) -> tuple[str, str]:
    out = []
    i = 0
    while i < len(entry):
        char = entry[i]
        if char == "\\" and i + 1 < len(entry) and entry[i + 1] == "/":
            out.append("/")
            i += 2
            continue
        if char == "/":
            return "".join(out), entry[i + 1:]
        out.append(char)
        i += 1
    return "".join(out), ""


class _Node:
    __slots__ = ("addition", "affixes", "children", "leaf_addition", "storage")

    def __init__(self) -> None:
        self.addition = 0
        self.children: list[_Node] = []
        self.leaf_addition = b""
        self.affixes: list[int] = []
        self.storage = ""


def _nth_is(word: bytes, n: int, char: int) -> bool:
    if len(word) < n:
        return False
    return (word[n] if n < len(word) else 0) == char


def _build(words: list[tuple[bytes, list[int]]], begin: int, end: int, depth: int, node: _Node) -> int:
    first = words[begin][0]
    if len(first) < depth:
        node.addition = 0
        node.affixes = words[begin][1]
        return begin + 1
    if depth == 0 and begin == 0:
        count = end - begin
        node.addition = 0
    else:
        count = 0
        node.addition = first[depth - 1] if depth - 1 < len(first) else 0
        while begin + count < end and _nth_is(words[begin + count][0], depth - 1, node.addition):
            count += 1
    if count == 1:
        node.affixes = words[begin][1]
        node.leaf_addition = first[depth:]
        return begin + 1
    index = begin
    while index < begin + count:
        child = _Node()
        index = _build(words, index, begin + count, depth + 1, child)
        node.children.append(child)
    return begin + count


def _lookup_details(children: list[_Node]) -> tuple[bool, int, int]:
    if not children:
        return False, 0, 0
    first_offset = 0
    has_0th = children[0].addition == 0
    if has_0th:
        first_offset = 1
    if len(children) == first_offset:
        return has_0th, 0, 0
    first = children[first_offset].addition
    return has_0th, first, children[-1].addition - first + 1


def _storage(node: _Node) -> int:
    if not node.children:
        extra = 0
        if node.affixes[0] > LEAF_NODE_MAX_FIRST_AFFIX_ID:
            extra = len(node.affixes) * 2 + 2
        elif len(node.affixes) > 1:
            extra = len(node.affixes) * 2
        if not node.leaf_addition:
            node.storage = "leaf"
            return 2 + extra
        node.storage = "leafmore"
        return 3 + len(node.leaf_addition) + extra
    child_size = sum(_storage(child) for child in node.children)
    if len(node.children) < 16 and child_size <= 0xFF:
        node.storage = "list8"
        return 1 + len(node.children) * 2 + child_size
    if len(node.children) < 16 and child_size <= 0xFFFF:
        node.storage = "list16"
        return 1 + len(node.children) * 3 + child_size
    has_0th, _first, count = _lookup_details(node.children)
    if child_size + 2 + (2 if has_0th else 0) + count * 2 < 0xFFFF:
        node.storage = "lookup16"
        return 2 + (2 if has_0th else 0) + count * 2 + child_size
    node.storage = "lookup32"
    return 2 + (4 if has_0th else 0) + count * 4 + child_size


def _serialize(node: _Node, out: bytearray) -> None:
    if node.storage in ("leaf", "leafmore"):
        first = node.affixes[0] if node.affixes else 0
        first_in_list = 1
        if first > LEAF_NODE_MAX_FIRST_AFFIX_ID:
            first_in_list = 0
            first = FIRST_AFFIX_IS_UNUSED
        ident = (first >> 8) & 0x1F
        if node.storage == "leafmore":
            ident |= 0x40
        if len(node.affixes) > 1 or first_in_list == 0:
            ident |= 0x20
        out.append(ident)
        out.append(first & 0xFF)
        if node.storage == "leafmore":
            out += node.leaf_addition + b"\0"
        if len(node.affixes) > first_in_list:
            for affix in node.affixes[first_in_list:MAX_AFFIXES_PER_WORD]:
                out += struct.pack("<H", affix & 0xFFFF)
            out += b"\xff\xff"
    elif node.storage in ("list8", "list16"):
        eight = node.storage == "list8"
        out.append(0xE0 | (0 if eight else 0xF0) | len(node.children))
        width = 2 if eight else 3
        table = len(out)
        out += bytes(len(node.children) * width)
        children_begin = len(out)
        for index, child in enumerate(node.children):
            out[table + index * width] = child.addition
            relative = len(out) - children_begin
            if eight:
                out[table + index * width + 1] = relative & 0xFF
            else:
                struct.pack_into("<H", out, table + index * width + 1, relative)
            _serialize(child, out)
    else:
        is_32 = node.storage == "lookup32"
        has_0th, first, count = _lookup_details(node.children)
        ident = 0xC0 | (0x02 if is_32 else 0) | (0x01 if has_0th else 0)
        begin = len(out)
        out += bytes((ident, first, count))
        width = 4 if is_32 else 2
        zeroth = len(out)
        if has_0th:
            out += bytes(width)
        table = len(out)
        out += bytes(count * width)
        for index, child in enumerate(node.children):
            where = zeroth if index == 0 and has_0th else table + (child.addition - first) * width
            if is_32:
                struct.pack_into("<I", out, where, len(out))
            else:
                struct.pack_into("<H", out, where, len(out) - begin)
            _serialize(child, out)


def _string_list(strings: list[str], out: bytearray) -> None:
    for item in strings:
        out += (item.encode("utf-8") if item else b" ") + b"\0"
    out.append(0)


def decode_hunspell(aff_data: bytes, dic_data: bytes) -> tuple[str, str]:
    """Decode ``.aff``/``.dic`` bytes with the encoding the ``SET`` line names (Latin-1 default)."""
    encoding = "iso8859-1"
    for line in aff_data.splitlines():
        if line.startswith(b"SET "):
            encoding = line[4:].strip().decode("ascii", "replace").lower()
            break
    try:
        return aff_data.decode(encoding, "replace"), dic_data.decode(encoding, "replace")
    except LookupError as exc:
        raise BDictError(f"unknown dictionary encoding {encoding!r}") from exc


def hunspell_to_bdic(aff_text: str, dic_text: str) -> bytes:
    """Build a BDict file from Hunspell ``.aff`` and ``.dic`` texts (already decoded)."""
    aff = _parse_aff(aff_text)
    words = _parse_dic(dic_text, aff)
    if not words:
        raise BDictError("the dictionary has no words")
    out = bytearray(HEADER_SIZE)
    aff_offset = len(out)
    out += bytes(AFF_HEADER_SIZE)
    out += b"\n" + aff.comment.encode("utf-8") + b"\n"
    group_offset = len(out)
    groups = sorted(aff.groups.items(), key=lambda item: item[1])
    out += f"AF {len(groups)}".encode() + b"\0"
    _string_list([f"AF {flags}" for flags, _ in groups], out)
    rule_offset = len(out)
    _string_list(aff.rules, out)
    rep_offset = len(out)
    for source, target in aff.replacements:
        out += source.encode("utf-8") + b"\0" + target.encode("utf-8") + b"\0"
    out.append(0)
    other_offset = len(out)
    _string_list(aff.other, out)
    struct.pack_into("<IIII", out, aff_offset, group_offset, rule_offset, rep_offset, other_offset)
    dic_offset = len(out)
    root = _Node()
    _build(words, 0, len(words), 0, root)
    _storage(root)
    _serialize(root, out)
    struct.pack_into("<4sHHII", out, 0, SIGNATURE, MAJOR_VERSION, MINOR_VERSION, aff_offset, dic_offset)
    out[16:32] = hashlib.md5(bytes(out[aff_offset:])).digest()
    return bytes(out)
