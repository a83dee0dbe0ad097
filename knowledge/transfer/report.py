"""What an import did, or would do, to each file: the report the command prints and the upload
page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    CREATED = "created"
    WOULD_CREATE = "would_create"
    ALREADY_IMPORTED = "already_imported"
    REFUSED = "refused"


OUTCOME_LABELS = {
    Outcome.CREATED: "Created",
    Outcome.WOULD_CREATE: "Would create",
    Outcome.ALREADY_IMPORTED: "Already imported",
    Outcome.REFUSED: "Refused",
}


@dataclass
class FileResult:
    """One file: what it holds (`kind`, `title`, the sections found), and what became of it."""

    name: str
    kind: str = ""  # "postmortem" or "article"
    outcome: Outcome = Outcome.REFUSED
    title: str = ""
    sections: list[str] = field(default_factory=list)  # headings, as "Heading → section"
    unknown_headings: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)  # "3 findings", "1 action item", ...
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    url: str = ""  # the page of what was created, or of what it already is

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    @property
    def refused(self) -> bool:
        return self.outcome == Outcome.REFUSED

    def refuse(self, reason: str) -> FileResult:
        self.outcome = Outcome.REFUSED
        self.errors.append(reason)
        return self


@dataclass
class ImportReport:
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.files if result.outcome == outcome)

    @property
    def any_refused(self) -> bool:
        return any(result.refused for result in self.files)

    @property
    def summary(self) -> str:
        created = Outcome.WOULD_CREATE if self.dry_run else Outcome.CREATED
        parts = [
            f"{self.count(created)} {'would be created' if self.dry_run else 'created'}",
            f"{self.count(Outcome.ALREADY_IMPORTED)} already imported",
            f"{self.count(Outcome.REFUSED)} refused",
        ]
        return f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}: " + ", ".join(parts)

    def lines(self) -> list[str]:
        """The report as plain text lines, one block per file."""
        lines: list[str] = []
        for result in self.files:
            head = f"{result.outcome_label.upper():<17} {result.name}"
            if result.kind:
                head += f" ({result.kind})"
            lines.append(head)
            if result.title:
                lines.append(f"    title: {result.title}")
            if result.url:
                lines.append(f"    page: {result.url}")
            if result.sections:
                lines.append(f"    sections: {'; '.join(result.sections)}")
            if result.counts:
                lines.append("    " + ", ".join(result.counts))
            lines += [f"    unknown heading: {heading}" for heading in result.unknown_headings]
            lines += [f"    warning: {warning}" for warning in result.warnings]
            lines += [f"    error: {error}" for error in result.errors]
        lines.append(self.summary + ("  (dry run: nothing was written)" if self.dry_run else ""))
        return lines
