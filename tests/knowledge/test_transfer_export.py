"""The knowledge base export: one markdown file per article in a zip, for editors and admins,
leaving out the drafts of incidents the person may not see."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from knowledge.transfer.export import article_to_markdown, articles_for_export
from tests.kbsite.factories import ServiceFactory, TagFactory, TeamFactory, UserFactory
from tests.knowledge.factories import draft_article, published_article
from tests.postmortems.factories import FindingFactory, PostmortemFactory, restricted_incident

pytestmark = pytest.mark.django_db
EXPORT = reverse("knowledge:export")


def zip_members(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def article(payments_team, responder):
    owner = UserFactory(username="paula")
    article = published_article(
        title='TLS "certificate" expired\n---\nstate: draft',
        slug="tls-certificate-expired",
        knowledge_type="process",
        team=payments_team,
        author=responder,
        owner=owner,
        services=[ServiceFactory(name="Checkout", slug="checkout", team=payments_team)],
        tags=["tls", "Certificates"],
        symptoms="Browsers say **NET::ERR_CERT_DATE_INVALID**.",
        environment="",
        cause="The renewal job ran in a paused cluster.",
        resolution="Renew by hand:\n\n    certbot renew --force\n\n## Then\n\nRestart the proxy.",
        prevention="Alert 14 days before expiry.",
        body="",
    )
    article.review_due = date(2026, 9, 30)
    article.last_reviewed_at = datetime(2026, 3, 4, 10, 2, 3, 456000, tzinfo=UTC)
    article.published_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    article.save(update_fields=["review_due", "last_reviewed_at", "published_at"])
    return article


def test_article_file_has_front_matter_and_fixed_headings(article):
    loaded = articles_for_export(user=None).get(pk=article.pk)

    text = article_to_markdown(loaded)

    assert text == (
        "---\n"
        'kind: "article"\n'
        'title: "TLS \\"certificate\\" expired\\n---\\nstate: draft"\n'
        'slug: "tls-certificate-expired"\n'
        'knowledge_type: "process"\n'
        'state: "published"\n'
        'team: "payments"\n'
        'services: ["checkout"]\n'
        'tags: ["Certificates", "tls"]\n'
        'review_due: "2026-09-30"\n'
        'last_reviewed_at: "2026-03-04T10:02:03.456000Z"\n'
        'published_at: "2026-03-01T09:00:00Z"\n'
        'author: "rita"\n'
        'owner: "paula"\n'
        "---\n"
        "\n"
        '# TLS "certificate" expired --- state: draft\n'
        "\n"
        "## Symptoms\n\nBrowsers say **NET::ERR_CERT_DATE_INVALID**.\n\n"
        "## Environment\n\n"
        "## Cause\n\nThe renewal job ran in a paused cluster.\n\n"
        "## Resolution\n\nRenew by hand:\n\n    certbot renew --force\n\n## Then\n\n"
        "Restart the proxy.\n\n"
        "## Prevention\n\nAlert 14 days before expiry.\n\n"
        "## Details\n"
    )


def test_editor_downloads_every_readable_article_as_a_zip(client, editor, article):
    draft = draft_article(title="Half-written runbook", slug="half-written-runbook")
    client.force_login(editor)

    response = client.get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="knowledge-')
    members = zip_members(b"".join(response.streaming_content))
    assert sorted(members) == [
        "process/tls-certificate-expired.md",
        f"technical/{draft.slug}.md",
    ]
    assert members["process/tls-certificate-expired.md"] == article_to_markdown(
        articles_for_export(user=None).get(pk=article.pk)
    )


def test_export_zip_is_the_same_bytes_twice(client, editor, article):
    client.force_login(editor)

    first = b"".join(client.get(EXPORT).streaming_content)
    second = b"".join(client.get(EXPORT).streaming_content)

    assert first == second


@pytest.mark.parametrize("person", ["responder", "reviewer", "manager", "outsider"])
def test_only_editors_and_admins_may_export(client, request, person, article):
    client.force_login(request.getfixturevalue(person))

    assert client.get(EXPORT).status_code == 403


def test_admin_may_export_and_post_is_refused(client, admin_user, article):
    client.force_login(admin_user)

    assert client.get(EXPORT).status_code == 200
    assert client.post(EXPORT).status_code == 405


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_export_link_shows_for_editors_only(client, editor, responder):
    client.force_login(editor)
    assert 'id="export-link"' in client.get(reverse("knowledge:index")).content.decode()
    client.force_login(responder)
    assert 'id="export-link"' not in client.get(reverse("knowledge:index")).content.decode()


def test_drafts_spawned_by_hidden_incidents_stay_out_of_the_export(client, editor, search_team):
    hidden = restricted_incident(team=search_team)
    spawned = draft_article(title="Secret rotation gone wrong", slug="secret-rotation")
    FindingFactory(
        postmortem=PostmortemFactory(incident=hidden), outcome="spawned", article=spawned
    )
    published = published_article(title="Rotating secrets", slug="rotating-secrets")
    FindingFactory(
        postmortem=PostmortemFactory(incident=restricted_incident(team=search_team)),
        outcome="spawned",
        article=published,
    )
    client.force_login(editor)

    members = zip_members(b"".join(client.get(EXPORT).streaming_content))

    assert sorted(members) == ["technical/rotating-secrets.md"]
    insider = UserFactory(roles=["editor"], teams=[search_team])
    assert sorted(article.slug for article in articles_for_export(user=insider)) == [
        "rotating-secrets",
        "secret-rotation",
    ]


def test_export_costs_the_same_queries_for_3_or_12_articles(
    client, editor, django_assert_num_queries
):
    team = TeamFactory()
    tag = TagFactory(name="dns")

    def make(count: int) -> None:
        for _ in range(count):
            published_article(team=team, tags=[tag], services=[ServiceFactory(team=team)])

    make(3)
    client.force_login(editor)
    b"".join(client.get(EXPORT).streaming_content)
    # session, user, roles, team ids (for the incidents the editor may see); the articles with
    # team, author and owner; their services; their tags
    with django_assert_num_queries(7):
        b"".join(client.get(EXPORT).streaming_content)
    make(9)
    with django_assert_num_queries(7):
        content = b"".join(client.get(EXPORT).streaming_content)
    assert len(zip_members(content)) == 12


def test_export_command_writes_the_zip(tmp_path, article):
    out = tmp_path / "kb.zip"
    stdout = StringIO()

    call_command("export_knowledge", str(out), stdout=stdout)

    assert stdout.getvalue() == f"export_knowledge: 1 articles written to {out}.\n"
    assert sorted(zip_members(out.read_bytes())) == ["process/tls-certificate-expired.md"]
    assert not (tmp_path / "kb.zip.partial").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{tmp}/kb.tar"], "must end in .zip"),
        (["{tmp}/missing/kb.zip"], "does not exist"),
        (["{tmp}/kb.zip", "--user", "nobody"], "No active user 'nobody'"),
    ],
)
def test_export_command_refuses_bad_arguments(tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_knowledge", *[arg.format(tmp=tmp_path) for arg in arguments])
    assert list(tmp_path.iterdir()) == []
