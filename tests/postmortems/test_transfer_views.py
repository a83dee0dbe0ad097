"""The import page: who may use it, the dry-run check (a page or an htmx fragment), the import,
the upload's limits, and that imported hostile markup never reaches a page as markup."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from postmortems.models import ActionItem, Finding, Incident, Postmortem, TimelineEntry
from tests.kbsite.factories import ServiceFactory
from tests.postmortems.view_helpers import html_of, main_of, messages_of, text_of, url

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).parent / "import_samples"
IMPORT = url("import")


def md(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes(), content_type="text/markdown")


def rows_of(response) -> list[tuple[str, str]]:
    return re.findall(r'data-file="([^"]+)" data-outcome="([a-z_]+)"', html_of(response))


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Incident, Postmortem, TimelineEntry, Finding, ActionItem)
    )


@pytest.fixture
def catalog(payments_team, reviewer):
    ServiceFactory(name="Checkout", slug="checkout", team=payments_team)


def test_the_page_shows_the_form_and_its_limits(client, responder, django_assert_num_queries):
    client.force_login(responder)

    # session, user, roles; unread notifications
    with django_assert_num_queries(4):
        response = client.get(IMPORT)

    assert response.status_code == 200
    page = text_of(main_of(response))
    assert "Up to 50 files, 5.0 MB each and 20.0 MB in all (zip members counted unpacked)." in page
    assert 'name="confirm" value="import"' in html_of(response)


def test_the_incident_list_links_to_the_page_for_responders(client, responder, manager):
    client.force_login(responder)
    assert f'href="{IMPORT}"' in html_of(client.get(url("index")))
    client.force_login(manager)
    assert f'href="{IMPORT}"' not in html_of(client.get(url("index")))


@pytest.mark.parametrize("person", ["reviewer", "editor", "manager"])
def test_people_who_cannot_open_incidents_are_refused(client, request, person, catalog):
    client.force_login(request.getfixturevalue(person))

    assert client.get(IMPORT).status_code == 403
    response = client.post(IMPORT, {"upload": [md("default_headings_checkout.md")]})
    assert response.status_code == 403
    assert counts() == (0, 0, 0, 0, 0)


def test_admins_may_import(client, admin_user, catalog):
    client.force_login(admin_user)

    assert client.get(IMPORT).status_code == 200


def test_check_reports_per_file_and_writes_nothing(client, responder, catalog):
    client.force_login(responder)

    response = client.post(
        IMPORT,
        {
            "upload": [md("default_headings_checkout.md"), md("unknown_team.md")],
            "unknown_headings": "append",
        },
    )

    assert response.status_code == 200
    assert rows_of(response) == [
        ("default_headings_checkout.md", "would_create"),
        ("unknown_team.md", "refused"),
    ]
    page = text_of(main_of(response))
    assert "Check: nothing was written" in page
    assert "2 files: 1 would be created, 0 already imported, 1 refused." in page
    assert "Unknown team 'networking-that-does-not-exist': no team has that slug here." in page
    assert "To import these files, choose them again above and press Import." in page
    assert counts() == (0, 0, 0, 0, 0)


def test_check_by_htmx_answers_with_the_report_only(client, responder, catalog):
    client.force_login(responder)

    response = client.post(
        IMPORT,
        {"upload": [md("default_headings_checkout.md")], "unknown_headings": "append"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "<html" not in html_of(response)
    assert rows_of(response) == [("default_headings_checkout.md", "would_create")]


def test_import_creates_and_links_the_incidents(client, responder, catalog):
    client.force_login(responder)

    response = client.post(
        IMPORT,
        {
            "upload": [md("default_headings_checkout.md"), md("unknown_team.md")],
            "unknown_headings": "append",
            "confirm": "import",
        },
    )

    assert response.status_code == 200
    assert rows_of(response) == [
        ("default_headings_checkout.md", "created"),
        ("unknown_team.md", "refused"),
    ]
    incident = Incident.objects.get()
    assert f'href="{incident.get_absolute_url()}"' in html_of(response)
    assert messages_of(response) == ["2 files: 1 created, 0 already imported, 1 refused"]


def test_a_zip_is_unpacked_and_unknown_headings_can_refuse(client, responder, catalog):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.write(SAMPLES / "unknown_heading.md", arcname="team/unknown_heading.md")
        archive.write(SAMPLES / "default_headings_checkout.md", arcname="team/checkout.md")
        archive.writestr("../../etc/cron.md", "---\ntitle: x\n---\n")
    upload = SimpleUploadedFile("team.zip", stream.getvalue(), content_type="application/zip")
    client.force_login(responder)

    response = client.post(
        IMPORT, {"upload": [upload], "unknown_headings": "refuse", "confirm": "import"}
    )

    assert rows_of(response) == [
        ("team.zip:team/unknown_heading.md", "refused"),
        ("team.zip:team/checkout.md", "created"),
        ("team.zip:../../etc/cron.md", "refused"),
    ]
    page = text_of(main_of(response))
    assert "Unknown section headings: “Vendor correspondence”." in page
    assert "Skipped: its path leaves the archive." in page
    assert Incident.objects.count() == 1


def bad_post(client, data):
    before = counts()
    response = client.post(IMPORT, data)
    assert counts() == before
    return response


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"unknown_headings": "append"}, "Choose at least one .md or .zip file."),
        (
            {"upload": [SimpleUploadedFile("a.md", b"")], "unknown_headings": "append"},
            "The submitted file is empty.",
        ),
        (
            {"upload": [md("default_headings_checkout.md")], "unknown_headings": "sometimes"},
            "Select a valid choice. sometimes is not one of the available choices.",
        ),
    ],
)
def test_a_bad_form_is_refused_with_its_message(client, responder, catalog, data, message):
    client.force_login(responder)

    response = bad_post(client, data)

    assert response.status_code == 400
    assert message in text_of(main_of(response))


def test_an_upload_over_the_limits_is_refused(client, responder, catalog, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    settings.IMPORT_MAX_FILE_BYTES = 500
    settings.IMPORT_MAX_FILES = 2
    client.force_login(responder)

    too_many = bad_post(
        client,
        {
            "upload": [SimpleUploadedFile(f"{n}.md", b"x") for n in range(3)],
            "unknown_headings": "append",
        },
    )
    too_big = bad_post(
        client,
        {
            "upload": [SimpleUploadedFile(f"{n}.md", b"x" * 600) for n in range(2)],
            "unknown_headings": "append",
        },
    )
    settings.IMPORT_MAX_FILES = 5
    one_big = client.post(
        IMPORT,
        {"upload": [SimpleUploadedFile("big.md", b"x" * 600)], "unknown_headings": "append"},
    )

    assert too_many.status_code == 400
    assert "3 files were uploaded; at most 2 at once." in text_of(main_of(too_many))
    assert "The upload is 1.2 KB; at most 1.0 KB at once." in text_of(main_of(too_big))
    assert rows_of(one_big) == [("big.md", "refused")]
    assert "The file is 0.6 KB; at most 0.5 KB per file." in text_of(main_of(one_big))


def test_htmx_form_errors_come_back_in_the_fragment(client, responder):
    client.force_login(responder)

    response = client.post(IMPORT, {"unknown_headings": "append"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'id="import-errors"' in html_of(response)
    assert "Choose at least one .md or .zip file." in html_of(response)


def test_imported_hostile_markup_reaches_no_page_as_markup(client, responder, catalog):
    client.force_login(responder)
    report = client.post(
        IMPORT,
        {"upload": [md("hostile_markup.md")], "unknown_headings": "append", "confirm": "import"},
    )
    incident = Incident.objects.get()

    pages = [
        report,
        client.get(incident.get_absolute_url()),
        client.get(incident.postmortem.get_absolute_url()),
        client.get(url("index")),
    ]

    for page in pages:
        assert page.status_code == 200
        html = main_of(page)
        assert "<script>alert" not in html
        assert "onerror=" not in html
        assert "<iframe" not in html
        assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; Login page broke" in main_of(
        pages[1]
    )
