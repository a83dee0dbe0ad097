"""manage.py import_markdown: files, directories and zips; a dry run; the per-file report; exit
code 1 when a file was refused; article files dispatched to the knowledge importer."""

from __future__ import annotations

import io
import shutil
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import Article
from knowledge.transfer.export import knowledge_export_zip
from postmortems.models import Incident
from tests.kbsite.factories import ServiceFactory
from tests.knowledge.factories import published_article

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent / "import_samples"
GOOD = ("sre_style_search_outage.md", "default_headings_checkout.md")


@pytest.fixture
def catalog(payments_team, reviewer):
    ServiceFactory(name="Checkout", slug="checkout", team=payments_team)


@pytest.fixture
def good_dir(tmp_path):
    for name in GOOD:
        shutil.copy(SAMPLES / name, tmp_path / name)
    return tmp_path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_markdown", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_directory_is_imported_with_a_report_per_file(responder, catalog, good_dir):
    out, _ = run(str(good_dir), "--user", "rita")

    lines = out.splitlines()
    assert lines[0] == f"CREATED           {good_dir}/default_headings_checkout.md (postmortem)"
    assert "    title: Checkout answered 503 after a deploy" in lines
    assert lines[-1] == "2 files: 2 created, 0 already imported, 0 refused"
    assert Incident.objects.count() == 2


def test_a_dry_run_writes_nothing_and_says_so(responder, catalog, good_dir):
    out, _ = run(str(good_dir), "--user", "rita", "--dry-run")

    assert out.splitlines()[-1] == (
        "2 files: 2 would be created, 0 already imported, 0 refused  (dry run: nothing was written)"
    )
    assert Incident.objects.count() == 0


def test_a_refused_file_makes_the_exit_code_1(responder, catalog, tmp_path):
    shutil.copy(SAMPLES / "unknown_team.md", tmp_path / "unknown_team.md")
    shutil.copy(SAMPLES / GOOD[1], tmp_path / GOOD[1])

    with pytest.raises(CommandError) as raised:
        run(str(tmp_path), "--user", "rita")

    assert raised.value.returncode == 1
    assert str(raised.value) == "1 file(s) refused; see the report above."
    assert Incident.objects.count() == 1


def test_the_report_names_each_refusal(responder, catalog):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_markdown", str(SAMPLES / "unknown_team.md"), "--user", "rita", stdout=out
        )

    assert (
        "    error: Unknown team 'networking-that-does-not-exist': no team has that slug here."
    ) in out.getvalue().splitlines()


def test_progress_goes_to_stderr(responder, catalog, good_dir):
    _, err = run(str(good_dir), "--user", "rita")

    assert err.startswith("import_markdown [")
    assert "2/2 100%" in err


def test_unknown_headings_can_refuse_the_file(responder, catalog):
    with pytest.raises(CommandError):
        run(str(SAMPLES / "unknown_heading.md"), "--user", "rita", "--unknown-headings", "refuse")
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x.md", "--user", "nobody"], "No active user 'nobody'."),
        (["{empty}", "--user", "rita"], "No markdown files found in the paths given."),
    ],
)
def test_bad_arguments_are_refused(responder, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        run(*[arg.format(empty=tmp_path) for arg in args])


def test_a_zip_of_articles_and_postmortems_dispatches_each_kind(
    editor, responder, catalog, payments_team, tmp_path
):
    published_article(title="Readiness probes", slug="readiness-probes", team=payments_team)
    stream = io.BytesIO()
    knowledge_export_zip(user=None, stream=stream)
    Article.objects.all().delete()
    with zipfile.ZipFile(stream, "a") as archive:
        archive.write(SAMPLES / GOOD[1], arcname="postmortems/checkout.md")
        archive.writestr("../evil.md", "---\ntitle: x\n---\n")
    bundle = tmp_path / "move.zip"
    bundle.write_bytes(stream.getvalue())
    editor.groups.add(*responder.groups.all())
    payments_team.members.add(editor)

    with pytest.raises(CommandError):  # the ../ member is refused
        run(str(bundle), "--user", "erin")

    assert list(Article.objects.values_list("slug", "state")) == [("readiness-probes", "published")]
    assert Incident.objects.get().title == "Checkout answered 503 after a deploy"
