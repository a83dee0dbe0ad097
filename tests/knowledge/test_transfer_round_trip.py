"""Articles read back from the export: the same fields, the same zip again, one revision
"Imported from <file>", and the state the importing person may give them."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import pytest

from knowledge.models import Article, ArticleEvent, ArticleRevision
from knowledge.transfer.documents import decode_markdown
from knowledge.transfer.export import knowledge_export_zip
from knowledge.transfer.importing import article_import_file
from knowledge.transfer.report import Outcome
from knowledge.transfer.sources import Limits, files_from_zip
from tests.kbsite.factories import ServiceFactory, UserFactory
from tests.knowledge.factories import (
    ArticleFactory,
    draft_article,
    in_review_article,
    published_article,
)

pytestmark = pytest.mark.django_db
LIMITS = Limits(max_file_bytes=5_000_000, max_total_bytes=20_000_000, max_files=50)
FIELDS = (
    "title",
    "slug",
    "knowledge_type",
    "state",
    "symptoms",
    "environment",
    "cause",
    "resolution",
    "prevention",
    "body",
    "review_due",
    "last_reviewed_at",
    "published_at",
)


def export_bytes() -> bytes:
    stream = io.BytesIO()
    knowledge_export_zip(user=None, stream=stream)
    return stream.getvalue()


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def fields_of(article: Article) -> dict[str, Any]:
    values = {name: getattr(article, name) for name in FIELDS}
    values["team"] = article.team.slug if article.team else None
    values["services"] = sorted(service.slug for service in article.services.all())
    values["tags"] = sorted(tag.name for tag in article.tags.all())
    values["author"] = article.author.username
    values["owner"] = article.owner.username if article.owner else None
    return values


def import_zip(content: bytes, *, user: Any, dry_run: bool = False) -> list[Any]:
    results = []
    for source in files_from_zip("kb.zip", io.BytesIO(content), LIMITS):
        text = decode_markdown(source.data, name=source.name)
        results.append(article_import_file(user=user, name=source.name, text=text, dry_run=dry_run))
    return results


@pytest.fixture
def knowledge_base(payments_team, responder):
    checkout = ServiceFactory(name="Checkout", slug="checkout", team=payments_team)
    ledger = ServiceFactory(name="Ledger", slug="ledger", team=payments_team)
    owner = UserFactory(username="paula")
    published = published_article(
        title="Checkout 503 after deploy",
        slug="checkout-503-after-deploy",
        team=payments_team,
        author=responder,
        owner=owner,
        services=[ledger, checkout],
        tags=["deploy", "Rollback"],
        body="Steps:\n\n## Roll back\n\n```\n## not a heading\nkubectl rollout undo\n```",
    )
    Article.objects.filter(pk=published.pk).update(
        review_due=date(2026, 9, 30),
        last_reviewed_at=datetime(2026, 3, 4, 10, 2, 3, 456000, tzinfo=UTC),
        published_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    in_review_article(
        title="Ledger replication lag",
        slug="ledger-replication-lag",
        knowledge_type="reference",
        author=responder,
        environment="",
    )
    draft_article(title="On-call handover", slug="on-call-handover", knowledge_type="process")
    ArticleFactory(
        title="Old VPN runbook",
        slug="old-vpn-runbook",
        state="archived",
        knowledge_type="expertise",
        published_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    return Article.objects.order_by("slug")


def test_export_import_export_gives_the_same_zip_and_the_same_articles(editor, knowledge_base):
    before = {article.slug: fields_of(article) for article in knowledge_base}
    first = export_bytes()
    Article.objects.all().delete()

    results = import_zip(first, user=editor)

    assert [result.outcome for result in results] == [Outcome.CREATED] * 4
    assert all(result.warnings == [] for result in results)
    after = {article.slug: fields_of(article) for article in Article.objects.order_by("slug")}
    assert after == before
    assert members(export_bytes()) == members(first)
    assert export_bytes() == first


def test_import_records_one_revision_imported_from_the_file(editor, knowledge_base):
    content = export_bytes()
    Article.objects.all().delete()

    import_zip(content, user=editor)

    article = Article.objects.get(slug="checkout-503-after-deploy")
    revisions = list(ArticleRevision.objects.filter(article=article))
    assert [(r.number, r.editor, r.change_note) for r in revisions] == [
        (1, editor, "Imported from kb.zip:technical/checkout-503-after-deploy.md")
    ]
    assert article.author.username == "rita"
    created = ArticleEvent.objects.get(article=article, kind="created")
    assert created.actor == editor


def test_importing_the_same_zip_again_reports_already_imported(editor, knowledge_base):
    content = export_bytes()
    count = Article.objects.count()

    results = import_zip(content, user=editor)

    assert {result.outcome for result in results} == {Outcome.ALREADY_IMPORTED}
    assert Article.objects.count() == count


def test_a_dry_run_writes_nothing(editor, knowledge_base):
    content = export_bytes()
    Article.objects.all().delete()

    results = import_zip(content, user=editor, dry_run=True)

    assert [result.outcome for result in results] == [Outcome.WOULD_CREATE] * 4
    assert Article.objects.count() == 0
    assert ArticleRevision.objects.count() == 0


def test_a_responder_imports_published_articles_as_drafts(responder, knowledge_base):
    content = export_bytes()
    Article.objects.all().delete()

    results = {result.name.split("/")[-1]: result for result in import_zip(content, user=responder)}

    states = dict(Article.objects.values_list("slug", "state"))
    assert states == {
        "checkout-503-after-deploy": "draft",
        "ledger-replication-lag": "in_review",  # rita wrote it, so she may submit it
        "on-call-handover": "draft",
        "old-vpn-runbook": "draft",
    }
    assert results["checkout-503-after-deploy.md"].warnings == [
        "The file says published; only editors and admins import articles in that state, so "
        "it was imported as a draft."
    ]
    downgraded = Article.objects.get(slug="checkout-503-after-deploy")
    assert (downgraded.review_due, downgraded.last_reviewed_at) == (None, None)


ARTICLE = """---
kind: article
title: "Rotate the API gateway certificate"
knowledge_type: {knowledge_type}
state: draft
team: {team}
services: [{services}]
tags: [tls]
review_due: {review_due}
author: {author}
---

## Symptoms

Clients see certificate errors.
"""


def article_text(**overrides: str) -> str:
    values = {
        "knowledge_type": "technical",
        "team": "payments",
        "services": "",
        "review_due": "2026-09-30",
        "author": "rita",
    }
    values.update(overrides)
    return ARTICLE.format(**values)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"team": "nowhere"}, "Unknown team 'nowhere': no team has that slug."),
        ({"services": "checkout, ghost"}, "Unknown service: checkout, ghost."),
        (
            {"knowledge_type": "folklore"},
            "`knowledge_type` must be one of: technical, process, reference, expertise.",
        ),
        ({"review_due": "next spring"}, "`review_due` is 'next spring', which is not a date"),
    ],
)
def test_a_bad_article_file_is_refused_and_creates_nothing(editor, payments_team, overrides, error):
    result = article_import_file(
        user=editor, name="bad.md", text=article_text(**overrides), dry_run=False
    )

    assert result.outcome == Outcome.REFUSED
    assert result.errors[0].startswith(error)
    assert Article.objects.count() == 0


def test_an_unknown_author_is_reported_and_the_importer_credited(editor, payments_team):
    result = article_import_file(
        user=editor, name="a.md", text=article_text(author="ghost"), dry_run=False
    )

    assert result.outcome == Outcome.CREATED
    assert result.warnings == ["The author 'ghost' has no active account here."]
    article = Article.objects.get()
    assert (article.author, article.title, article.symptoms) == (
        editor,
        "Rotate the API gateway certificate",
        "Clients see certificate errors.",
    )


def test_a_file_without_a_slug_is_keyed_by_its_title(editor, payments_team):
    first = article_import_file(user=editor, name="a.md", text=article_text(), dry_run=False)
    again = article_import_file(user=editor, name="a.md", text=article_text(), dry_run=False)

    assert (first.outcome, again.outcome) == (Outcome.CREATED, Outcome.ALREADY_IMPORTED)
    assert list(Article.objects.values_list("slug", flat=True)) == [
        "rotate-the-api-gateway-certificate"
    ]
