"""The files an import reads: from paths on disk (directories walked, zip files opened) or from
an upload. Limits are checked before anything is read into memory, and zip members are checked
by their declared sizes and count before any is extracted (then read with a cap, in case the
declared size lies). Members whose names climb out of the archive (`../`, absolute paths) are
skipped and reported.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings

MARKDOWN_SUFFIXES = (".md", ".markdown")
# A markdown file compresses well, but not a thousand-fold: a member that claims to has been
# built to exhaust memory.
MAX_COMPRESSION_RATIO = 200


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_total_bytes: int
    max_files: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_file_bytes=settings.IMPORT_MAX_FILE_BYTES,
            max_total_bytes=settings.IMPORT_MAX_UPLOAD_BYTES,
            max_files=settings.IMPORT_MAX_FILES,
        )


@dataclass(frozen=True)
class SourceFile:
    """One file to import, or (with `problem`) one that was refused before it was read."""

    name: str
    data: bytes = b""
    problem: str = ""


class SourceError(ValueError):
    """The whole input is refused (too many files, too large in total, a broken zip)."""


def megabytes(size: int) -> str:
    """A size for people: MB, or KB below one megabyte."""
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _too_large(name: str, size: int, limits: Limits) -> SourceFile:
    return SourceFile(
        name=name,
        problem=f"The file is {megabytes(size)}; at most {megabytes(limits.max_file_bytes)} "
        "per file.",
    )


def _not_markdown(name: str) -> SourceFile:
    return SourceFile(name=name, problem="Not a markdown file: only .md files are imported.")


def is_markdown_name(name: str) -> bool:
    return name.lower().endswith(MARKDOWN_SUFFIXES)


def _safe_member_name(name: str) -> str | None:
    """The member's path inside the archive, or None when it climbs out of it."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name).parts
    if any(part == ".." for part in parts):
        return None
    return name


def _is_clutter(name: str) -> bool:
    """Folders and files that archivers add on their own (macOS resource forks, dot files)."""
    parts = PurePosixPath(name).parts
    return any(part == "__MACOSX" or (part.startswith(".") and part != "..") for part in parts)


def files_from_zip(name: str, stream: IO[bytes], limits: Limits) -> list[SourceFile]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as error:
        raise SourceError(f"{name} is not a readable zip file.") from error
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not _is_clutter(info.filename)
        ]
        if len(members) > limits.max_files:
            raise SourceError(
                f"{name} holds {len(members)} files; at most {limits.max_files} are imported at "
                "once."
            )
        declared = sum(info.file_size for info in members if is_markdown_name(info.filename))
        if declared > limits.max_total_bytes:
            raise SourceError(
                f"{name} unpacks to {megabytes(declared)}; at most "
                f"{megabytes(limits.max_total_bytes)} are imported at once."
            )
        files: list[SourceFile] = []
        for info in members:
            label = f"{name}:{info.filename}"
            if _safe_member_name(info.filename) is None:
                files.append(
                    SourceFile(name=label, problem="Skipped: its path leaves the archive.")
                )
                continue
            if not is_markdown_name(info.filename):
                files.append(_not_markdown(label))
                continue
            if info.flag_bits & 0x1:
                files.append(SourceFile(name=label, problem="The file is encrypted."))
                continue
            if info.file_size > limits.max_file_bytes:
                files.append(_too_large(label, info.file_size, limits))
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
                files.append(
                    SourceFile(name=label, problem="Refused: compressed beyond any markdown file.")
                )
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(limits.max_file_bytes + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
                files.append(SourceFile(name=label, problem=f"The file cannot be read: {error}."))
                continue
            if len(data) > limits.max_file_bytes:
                files.append(_too_large(label, len(data), limits))
                continue
            files.append(SourceFile(name=label, data=data))
        return files


def _read_capped(path: Path, limits: Limits) -> SourceFile:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        return _too_large(str(path), size, limits)
    return SourceFile(name=str(path), data=path.read_bytes())


def files_from_paths(paths: Iterable[Path], limits: Limits) -> list[SourceFile]:
    """Markdown files and zips named, and the markdown files under directories (sorted);
    `limits` apply to each file and to each zip."""
    files: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.is_file()
                and is_markdown_name(candidate.name)
                and not _is_clutter(str(candidate.relative_to(path)))
            )
            files.extend(_read_capped(candidate, limits) for candidate in found)
        elif not path.exists():
            files.append(SourceFile(name=str(path), problem="No such file or directory."))
        elif path.suffix.lower() == ".zip":
            try:
                with path.open("rb") as stream:
                    files.extend(files_from_zip(str(path), stream, limits))
            except SourceError as error:
                files.append(SourceFile(name=str(path), problem=str(error)))
        elif is_markdown_name(path.name):
            files.append(_read_capped(path, limits))
        else:
            files.append(_not_markdown(str(path)))
    return files


@dataclass(frozen=True)
class Upload:
    name: str
    size: int
    stream: IO[bytes]


def files_from_uploads(uploads: list[Upload], limits: Limits) -> list[SourceFile]:
    """The uploaded .md files and the markdown inside uploaded zips.

    Refuses the whole upload (SourceError) when it holds too many files or too many bytes; a
    single file that is too large or of the wrong type is refused on its own.
    """
    if not uploads:
        raise SourceError("Choose at least one .md or .zip file.")
    if len(uploads) > limits.max_files:
        raise SourceError(
            f"{len(uploads)} files were uploaded; at most {limits.max_files} at once."
        )
    total = sum(upload.size for upload in uploads)
    if total > limits.max_total_bytes:
        raise SourceError(
            f"The upload is {megabytes(total)}; at most {megabytes(limits.max_total_bytes)} at "
            "once."
        )
    files: list[SourceFile] = []
    for upload in uploads:
        name = PurePosixPath(upload.name.replace("\\", "/")).name or "upload"
        if name.lower().endswith(".zip"):
            files.extend(files_from_zip(name, upload.stream, limits))
        elif not is_markdown_name(name):
            files.append(_not_markdown(name))
        elif upload.size > limits.max_file_bytes:
            files.append(_too_large(name, upload.size, limits))
        else:
            data = upload.stream.read(limits.max_file_bytes + 1)
            if len(data) > limits.max_file_bytes:
                files.append(_too_large(name, len(data), limits))
            else:
                files.append(SourceFile(name=name, data=data))
    markdown = sum(1 for file in files if not file.problem)
    if markdown > limits.max_files:
        raise SourceError(
            f"The upload holds {markdown} markdown files; at most {limits.max_files} at once."
        )
    return files
