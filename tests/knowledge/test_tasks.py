"""The daily review-cadence job: each overdue article's owner is told once per due date."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from kbsite.celery import app
from kbsite.models import Notification
from knowledge.models import ArticleState
from knowledge.services import article_mark_reviewed, articles_notify_overdue
from knowledge.tasks import notify_overdue_reviews
from tests.knowledge.factories import ArticleFactory, overdue_article, published_article


def test_overdue_articles_remind_their_owner_once(
    responder, editor, django_capture_on_commit_callbacks
):
    mine = overdue_article(author=responder, title="Pool exhaustion", days_overdue=2)
    owned = overdue_article(author=responder, owner=editor, title="DNS failures")
    published_article(author=responder, title="Fresh")
    ArticleFactory(
        author=responder,
        state=ArticleState.ARCHIVED,
        review_due=timezone.localdate() - timedelta(days=9),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_overdue_reviews.delay().get() == 2
    due = mine.review_due

    notices = {n.user.username: (n.text, n.url) for n in Notification.objects.all()}
    assert notices == {
        "rita": (
            f"“Pool exhaustion” was due for review on {due:%d %B %Y}. Check it is still "
            "accurate, then mark it reviewed, edit it or archive it.",
            mine.get_absolute_url(),
        ),
        "erin": (notices["erin"][0], owned.get_absolute_url()),
    }
    assert sorted(m.subject for m in mail.outbox) == [
        "Review due: DNS failures",
        "Review due: Pool exhaustion",
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_overdue_reviews.delay().get() == 0
    assert (Notification.objects.count(), len(mail.outbox)) == (2, 2)


def test_a_new_due_date_is_reminded_again(responder):
    article = overdue_article(author=responder)
    assert articles_notify_overdue() == 1
    article.refresh_from_db()
    article_mark_reviewed(article=article, user=responder)
    later = timezone.localdate() + timedelta(days=181)
    assert articles_notify_overdue(today=later) == 1
    assert articles_notify_overdue(today=later) == 0
    assert Notification.objects.count() == 2


def test_an_article_due_today_is_not_yet_overdue(responder):
    published_article(author=responder, review_due=timezone.localdate())
    assert articles_notify_overdue() == 0


def test_the_job_is_scheduled_daily_and_acks_late():
    entry = app.conf.beat_schedule["knowledge-overdue-reviews"]
    assert entry["task"] == "knowledge.tasks.notify_overdue_reviews"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({7}, {0})
    assert notify_overdue_reviews.acks_late is True
