"""The upload form of the import page: shape only (the files, the unknown-heading choice); the
sizes, types and zip checks are knowledge.transfer.sources', shared with the command."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from knowledge.transfer.sources import Limits, Upload, megabytes
from postmortems.transfer.reading import UnknownHeadings


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".md,.markdown,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ImportUploadForm(forms.Form):
    upload = MultipleFileField(
        label="Markdown files or a zip",
        error_messages={"required": "Choose at least one .md or .zip file."},
    )
    unknown_headings = forms.ChoiceField(
        label="Headings that match no section",
        choices=[
            (UnknownHeadings.APPEND, "Keep their text in the section above (reported)"),
            (UnknownHeadings.REFUSE, "Refuse the file"),
        ],
        initial=UnknownHeadings.APPEND,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["upload"].help_text = (
            f"Up to {limits.max_files} files, {megabytes(limits.max_file_bytes)} each and "
            f"{megabytes(limits.max_total_bytes)} in all (zip members counted unpacked)."
        )

    def uploads(self) -> list[Upload]:
        return [
            Upload(name=file.name or "upload", size=file.size or 0, stream=file)
            for file in self.cleaned_data["upload"]
        ]
