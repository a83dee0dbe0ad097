"""Reading what an import is given: markdown files, directories, uploads and zips, with their
limits checked before anything is extracted; and the documents inside them."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from kbsite.errors import InvalidInput
from knowledge.transfer.documents import (
    decode_markdown,
    parse_time,
    split_front_matter,
    split_sections,
)
from knowledge.transfer.sources import (
    Limits,
    SourceError,
    Upload,
    files_from_paths,
    files_from_uploads,
    files_from_zip,
)

LIMITS = Limits(max_file_bytes=1000, max_total_bytes=3000, max_files=5)
NOTE = b"---\ntitle: x\n---\n\n## Summary\n\nText.\n"


def zipped(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    stream.seek(0)
    return stream


def upload(name: str, data: bytes) -> Upload:
    return Upload(name=name, size=len(data), stream=io.BytesIO(data))


def test_zip_members_are_read_in_order_with_their_paths():
    files = files_from_zip("kb.zip", zipped({"a/one.md": NOTE, "two.MD": NOTE}), LIMITS)

    assert [(file.name, file.data, file.problem) for file in files] == [
        ("kb.zip:a/one.md", NOTE, ""),
        ("kb.zip:two.MD", NOTE, ""),
    ]


def test_zip_members_that_leave_the_archive_or_are_not_markdown_are_refused_alone():
    files = files_from_zip(
        "kb.zip",
        zipped(
            {
                "../escape.md": NOTE,
                "/etc/passwd.md": NOTE,
                "picture.png": b"\x89PNG",
                "__MACOSX/._one.md": b"junk",
                ".hidden.md": NOTE,
                "ok.md": NOTE,
            }
        ),
        LIMITS,
    )

    assert [(file.name, file.problem) for file in files] == [
        ("kb.zip:../escape.md", "Skipped: its path leaves the archive."),
        ("kb.zip:/etc/passwd.md", "Skipped: its path leaves the archive."),
        ("kb.zip:picture.png", "Not a markdown file: only .md files are imported."),
        ("kb.zip:ok.md", ""),
    ]
    assert files[0].data == b""


def test_a_zip_that_unpacks_beyond_the_limit_is_refused_before_extracting():
    bomb = zipped({f"part{n}.md": b"a" * 900 for n in range(4)})

    with pytest.raises(SourceError, match=re.escape("kb.zip unpacks to 3.5 KB; at most 2.9 KB")):
        files_from_zip("kb.zip", bomb, LIMITS)


def test_a_zip_with_too_many_files_is_refused():
    with pytest.raises(SourceError, match=re.escape("kb.zip holds 6 files; at most 5")):
        files_from_zip("kb.zip", zipped({f"{n}.md": NOTE for n in range(6)}), LIMITS)


def test_a_member_compressed_beyond_any_markdown_file_is_refused():
    limits = Limits(max_file_bytes=2_000_000, max_total_bytes=3_000_000, max_files=5)
    files = files_from_zip("kb.zip", zipped({"zeros.md": b"0" * 1_000_000}), limits)

    assert [file.problem for file in files] == ["Refused: compressed beyond any markdown file."]


def test_an_oversized_member_is_refused_alone():
    files = files_from_zip(
        "kb.zip",
        zipped({"big.md": b"x" * 1001, "ok.md": NOTE}, compression=zipfile.ZIP_STORED),
        LIMITS,
    )

    assert [file.problem for file in files] == [
        "The file is 1.0 KB; at most 1.0 KB per file.",
        "",
    ]


def test_a_broken_zip_is_refused():
    with pytest.raises(SourceError, match=re.escape("kb.zip is not a readable zip file.")):
        files_from_zip("kb.zip", io.BytesIO(b"PK\x03\x04 not really"), LIMITS)


def test_uploads_check_count_and_total_before_reading():
    with pytest.raises(SourceError, match=re.escape("6 files were uploaded; at most 5 at once.")):
        files_from_uploads([upload(f"{n}.md", NOTE) for n in range(6)], LIMITS)
    with pytest.raises(
        SourceError, match=re.escape("The upload is 3.5 KB; at most 2.9 KB at once.")
    ):
        files_from_uploads([upload(f"{n}.md", b"x" * 900) for n in range(4)], LIMITS)
    with pytest.raises(SourceError, match="Choose at least one"):
        files_from_uploads([], LIMITS)


def test_uploads_refuse_other_types_and_large_files_one_by_one():
    files = files_from_uploads(
        [
            upload("../../notes.md", NOTE),
            upload("slides.pdf", b"%PDF-1.7"),
            upload("big.md", b"x" * 1001),
        ],
        LIMITS,
    )

    assert [(file.name, file.problem) for file in files] == [
        ("notes.md", ""),
        ("slides.pdf", "Not a markdown file: only .md files are imported."),
        ("big.md", "The file is 1.0 KB; at most 1.0 KB per file."),
    ]


def test_directories_are_walked_for_markdown(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.md").write_bytes(NOTE)
    (tmp_path / "one.md").write_bytes(NOTE)
    (tmp_path / "notes.txt").write_text("not markdown")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.md").write_bytes(NOTE)

    files = files_from_paths([tmp_path, tmp_path / "gone.md", tmp_path / "notes.txt"], LIMITS)

    assert [(file.name.replace(str(tmp_path), "T"), file.problem) for file in files] == [
        ("T/b/two.md", ""),
        ("T/one.md", ""),
        ("T/gone.md", "No such file or directory."),
        ("T/notes.txt", "Not a markdown file: only .md files are imported."),
    ]


# ---------- documents ----------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Caf\xe9".encode("latin-1"), "x.md is not UTF-8 text (byte 3 cannot be read)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "x.md is not markdown: it contains binary data."),
        (b"text\x1b[31m", "x.md is not markdown: it contains 1 control characters."),
    ],
)
def test_bytes_that_are_not_markdown_are_refused(data, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        decode_markdown(data, name="x.md")


def test_windows_line_ends_and_a_byte_order_mark_are_read():
    assert decode_markdown(b"\xef\xbb\xbf---\r\na: 1\r\n---\r\n", name="x.md") == "---\na: 1\n---\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Just markdown\n", "The file has no front matter"),
        ("---\ntitle: x\n", "The front matter is never closed"),
        ("---\ntitle: [x\n---\n", "The front matter is not valid YAML"),
        ("---\n- a\n- b\n---\n", "The front matter must be a list of `name: value` fields."),
        ("---\n!!python/object:os.system {}\n---\n", "The front matter is not valid YAML"),
        ("---\n" + "a: " + "x" * 70_000 + "\n---\n", "The front matter is 70,004 characters"),
    ],
)
def test_front_matter_problems_are_named(text, message):
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[")):
        split_front_matter(text)


def test_sections_split_at_the_highest_heading_level_outside_code():
    body = (
        "# Postmortem: Checkout\n\nIntro line.\n\n## Summary\n\nIt broke.\n\n### Detail\n\n"
        "Deeper.\n\n```\n## not a heading\n```\n\n## Impact\n\nMany users.\n"
    )

    title, sections, preamble = split_sections(body)

    assert title == "Postmortem: Checkout"
    assert preamble == "Intro line."
    assert [(section.heading, section.text) for section in sections] == [
        ("Summary", "It broke.\n\n### Detail\n\nDeeper.\n\n```\n## not a heading\n```"),
        ("Impact", "Many users."),
    ]


def test_times_read_iso_8601_and_yaml_timestamps():
    from datetime import UTC, datetime, timedelta, timezone

    assert parse_time("2026-03-04T10:02:00Z", field="started") == datetime(
        2026, 3, 4, 10, 2, tzinfo=UTC
    )
    assert parse_time("2026-03-04 10:02 UTC", field="started") == datetime(
        2026, 3, 4, 10, 2, tzinfo=UTC
    )
    offset = datetime(2026, 3, 4, 12, 2, tzinfo=timezone(timedelta(hours=2)))
    assert parse_time(offset, field="started") == offset
    with pytest.raises(InvalidInput, match="`started` is a date without a time"):
        parse_time(offset.date(), field="started")
    with pytest.raises(InvalidInput, match="`started` is 'yesterday', which is not a time"):
        parse_time("yesterday", field="started")
