"""Content-Disposition parsing and download file names: Chromium's corpus, its tests, and fuzzing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from websession._content_disposition import parse
from websession._download_names import (
    INTERMEDIATE_SUFFIX,
    generate_file_name,
    is_safe_component,
    unique_path,
)


def _corpus(corpora: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((corpora / "content-disposition" / "chromium_content_disposition.json").read_text())


def _run_rows(rows: list[dict]) -> list[str]:  # type: ignore[type-arg]
    failures = []
    for row in rows:
        if row.get("compiled_only_if"):
            continue  # not run by Chromium's own test suite (#if 0 / ICU-specific)
        result = parse(row["header"].encode("latin-1"), row.get("referrer_charset") or "")
        if result.filename != row["expected_filename"]:
            failures.append(f"{row['header']!r}: {result.filename!r} != {row['expected_filename']!r}")
        if "expected_type" in row and result.type != row["expected_type"]:
            failures.append(f"{row['header']!r}: type {result.type} != {row['expected_type']}")
    return failures


def test_corpus_filename(corpora: Path) -> None:
    assert _run_rows(_corpus(corpora)["filename"]) == []


def test_corpus_tc2231(corpora: Path) -> None:
    assert _run_rows(_corpus(corpora)["tc2231"]) == []


def test_corpus_contains_nul(corpora: Path) -> None:
    assert _run_rows(_corpus(corpora)["contains_nul"]) == []


def test_corpus_parse_result_flags(corpora: Path) -> None:
    section = _corpus(corpora)["parse_result"]
    for row in section["cases"]:
        result = parse(row["header"].encode("latin-1"), section["referrer_charset"])
        assert result.flag_names() == set(row["expected_flags"]), row["header"]


def test_corpus_counts(corpora: Path) -> None:
    data = _corpus(corpora)
    for section, count in data["counts"].items():
        rows = data[section]["cases"] if section == "parse_result" else data[section]
        assert len(rows) == count


def test_str_header_is_latin1_and_bytes_as_is() -> None:
    assert parse("attachment; filename=caf\xc3\xa9.png").filename == "café.png"
    assert parse(b"attachment; filename=caf\xc3\xa9.png").filename == "café.png"
    assert parse(b"attachment; filename=caf\xe9.png", "windows-1252").filename == "café.png"
    with pytest.raises(TypeError, match="header must be str or bytes"):
        parse(3)  # type: ignore[arg-type]


# Rows of Chromium's net/base/filename_util_unittest.cc (GenerateFileName), POSIX expectations,
# with the Windows-only reserved-name and shell-extension rules applied everywhere (see module doc).
GENERATE_CASES = [
    ("http://www.google.com/", "attachment; filename=test.html", "", "", "", "", "test.html"),
    ("http://www.google.com/", "attachment; filename=  ", "", "", "", "", "www.google.com"),
    ("http://www.google.com/path/test.html", "attachment;", "", "", "", "", "test.html"),
    ("http://www.google.com/path/", "", "", "", "", "", "www.google.com"),
    ("http://www.google.com/path", "", "", "", "", "", "path"),
    ("file:///", "", "", "", "", "", "download"),
    ("file:///path/testfile", "", "", "", "", "", "testfile"),
    ("http://www.google.com/", "", "", "", "", "download", "download"),
    ("http://www.google.com/", 'attachment; filename="../test.html"', "", "", "", "", "_test.html"),
    ("http://www.google.com/", 'attachment; filename="..\\\\test.html"', "", "", "", "", "_test.html"),
    ("http://www.google.com/", 'attachment; filename=".."', "", "", "", "default", "default"),
    ("http://www.google.com/%EC%98%88%EC%88%A0%20%EC%98%88%EC%88%A0.jpg", "", "", "", "", "download",
     "예술 예술.jpg"),
    ("http://www.example.com/images?id=3", "attachment; filename=caf\xc3\xa9.png", "iso-8859-1", "", "",
     "", "café.png"),
    ("http://www.example.com/file?id=3", "attachment; name=\xcf\xc2\xd4\xd8.zip", "GBK", "", "", "", "file"),
    ("about:chrome", "", "", "", "", "", "download"),
    ("data:,looks/like/a.path", "", "", "", "", "", "download"),
    ("http://example.com/V%FDvojov%E1%20psychologie.doc", "", "iso-8859-1", "", "", "",
     "Vývojová psychologie.doc"),
    ("http://www.google.com/test", "", "", "suggested", "", "", "suggested"),
    ("http://www.examples.com/q.cgi?id=abc", "attachment; name=abc de.pdf", "", "",
     "application/octet-stream", "download", "q.cgi"),
    ("http://www.example.com/test%20123", "attachment; filename==?iiso88591?Q?caf=EG?=", "", "", "",
     "download", "test 123"),
    ("http://www.google.com/path1/path2/", "attachment; filename==?iso88591?Q?caf=E3?", "", "", "",
     "download", "download"),
    ("http://www.google.com/.test.html", "", "", "", "", "", "test.html"),
    ("http://www.google.com/..test", "", "", "", "", "", "test"),
    ("", "filename=../../../../././../a_file_name.txt", "", "", "text/plain", "download",
     "_.._.._.._._._.._a_file_name.txt"),
    ("", "filename=dir1\\dir2\\a_file_name.txt", "", "", "text/plain", "download", "dir1_dir2_a_file_name.txt"),
    ("", 'filename="<blink>Hello kitty</blink>"', "", "", "text/plain", "default", "_blink_Hello kitty__blink_"),
    ("https://example.com/misc/2.avi", "", "", "", "video/x-msvideo", "download", "2.avi"),
    ("http://example.com/foo%2f..%2fbar.jpg", "", "", "", "text/plain", "download", "foo_.._bar.jpg"),
    ("http://example.com/download.py", "filename=foo%00bar.jpg", "", "", "text/plain", "download",
     "foo_bar.jpg"),
    ("", "filename=my-cat", "", "", "image/jpeg", "download", "my-cat"),
    ("", "filename=evil.exe.  .  .", "", "", "binary/octet-stream", "download", "evil.exe.  . _"),
    ("", "filename=. . . . .", "", "", "binary/octet-stream", "download", "_. . ._"),
    ("", 'attachment; filename="meh.exe\xc2\xa0"', "", "", "binary/octet-stream", "", "meh.exe_"),
    ("", "filename=...", "", "", "dance/party", "download", "download"),
    ("", "filename=COM1", "", "", "application/foo-bar", "download", "_COM1"),
    ("", "filename=lpt1.TXT", "", "", "text/plain", "download", "_lpt1.TXT"),
    ("", "filename=mycom1.foo", "", "", "", "download", "mycom1.foo"),
    ("", "filename=Setup.exe.lnk", "", "", "", "download", "Setup.exe.download"),
    ("", "filename=Desktop.ini", "", "", "", "download", "_Desktop.ini"),
    ("http://www.example.com/foo.tar.gz", "", "", "", "application/x-tar", "download", "foo.tar.gz"),
    ("http://www.example.com/.download.txt", "filename=.download.txt", "", "", "text/plain", "-download",
     "download.txt"),
    ("http://www.example.com/npdf.php?fn=foobar.pdf", "", "", "", "application/x-chrome-extension",
     "download", "npdf.crx"),
    ("http://www.example.com/image.aspx?id=blargh", "", "", " .foo", "", "download", "_.foo"),
    ("http://www.example.com/goat.tar.gz?wearing_hat=true", "", "", "", "application/gzip", "",
     "goat.tar.gz"),
    ("http://www.example.com/%E5%B2%A1%E3%80%80%E5%B2%A1.txt", "", "", "", "text/plain", "",
     "岡\u3000岡.txt"),
    # SEMANTICS §9: application/pdf with 'inline' and no name gives download.pdf.
    ("http://x.test/", "inline", "", "", "application/pdf", "download", "download.pdf"),
    ("http://x.test/path/", "", "", "", "text/plain", "download", "download.txt"),
]


@pytest.mark.parametrize(("url", "cd", "charset", "suggested", "mime", "default", "expected"), GENERATE_CASES)
def test_generate_file_name(
    url: str, cd: str, charset: str, suggested: str, mime: str, default: str, expected: str
) -> None:
    got = generate_file_name(url, cd.encode("latin-1"), charset, suggested, mime, default)
    assert got == expected


HOSTILE = [
    "attachment; filename=../../etc/passwd",
    'attachment; filename="..\\\\..\\\\windows\\\\system32"',
    "attachment; filename=/etc/shadow",
    'attachment; filename=".."',
    'attachment; filename="."',
    "attachment; filename=.bashrc",
    "attachment; filename*=UTF-8''%2e%2e%2f%2e%2e%2fx",
    "attachment; filename*=UTF-8''%00",
    "attachment; filename=%2F%2F",
    "attachment; filename=a%0Ab%0Dc%09d",
    "attachment; filename*=UTF-8''evil%E2%80%AEgpj.exe",
    "attachment; filename=CON",
    "attachment; filename=nul.txt",
    "attachment; filename=" + "A" * 400 + ".txt",
    'attachment; filename="\\\\server\\share\\x"',
    "attachment; filename==?utf-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?=",
]


@pytest.mark.parametrize("header", HOSTILE)
def test_hostile_names_stay_inside(tmp_path: Path, header: str) -> None:
    name = generate_file_name("http://evil.test/../../x", header.encode("latin-1"), "", "", "", "download")
    assert is_safe_component(name), name
    target = unique_path(tmp_path, name)
    assert target.parent == tmp_path
    assert len(target.name.encode()) + len(INTERMEDIATE_SUFFIX) <= 255
    target.write_bytes(b"x")
    assert target.resolve().parent == tmp_path.resolve()


def test_unique_names(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"")
    (tmp_path / "report (1).pdf").write_bytes(b"")
    (tmp_path / ("report (2).pdf" + INTERMEDIATE_SUFFIX)).write_bytes(b"")
    assert unique_path(tmp_path, "report.pdf").name == "report (3).pdf"
    (tmp_path / "a.tar.gz").write_bytes(b"")
    assert unique_path(tmp_path, "a.tar.gz").name == "a (1).tar.gz"
    reserved = {str(tmp_path / "new.bin")}
    assert unique_path(tmp_path, "new.bin", lambda p: str(p) in reserved).name == "new (1).bin"


def test_long_names_are_bounded(tmp_path: Path) -> None:
    long = "é" * 300 + ".txt"
    target = unique_path(tmp_path, long)
    assert target.name.endswith(".txt")
    assert len(target.name.encode()) <= 255 - len(INTERMEDIATE_SUFFIX)
    target.write_bytes(b"")
    again = unique_path(tmp_path, long)
    assert again.name.endswith(" (1).txt") and len(again.name.encode()) <= 244


_header_bytes = st.binary(max_size=120) | st.builds(
    lambda a, b: b"attachment; filename" + a + b"=" + b,
    st.sampled_from([b"", b"*", b" ", b"*  "]),
    st.binary(max_size=80) | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_header_bytes, url_path=st.text(max_size=40), mime=st.sampled_from(["", "text/plain", "image/png", "application/x-foo"]))
def test_fuzz_generated_name_never_escapes(tmp_path: Path, header: bytes, url_path: str, mime: str) -> None:
    name = generate_file_name("http://h.test/" + url_path, header, "", "", mime, "download")
    assert is_safe_component(name)
    assert os.sep not in name and "/" not in name and "\\" not in name
    target = unique_path(tmp_path, name)
    assert target.parent == tmp_path
    assert os.path.normpath(os.path.join(tmp_path, target.name)).startswith(str(tmp_path) + os.sep)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["", "utf-8", "iso-8859-1", "GBK", "bogus"]))
def test_fuzz_parser_total(header: bytes, charset: str) -> None:
    result = parse(header, charset)
    assert result.type in ("inline", "attachment")
    assert isinstance(result.filename, str)
