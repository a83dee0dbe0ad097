"""In-app notifications: the selectors behind the list and the unread count, marking all read,
and the unread count in every page's user menu."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kbsite.context_processors import notifications
from kbsite.models import Notification
from kbsite.selectors import notifications_for_user, notifications_unread_count
from kbsite.services import notifications_mark_all_read

pytestmark = pytest.mark.django_db

MENU_LINK = (
    '<a href="/knowledge/notifications/">'
    'Notifications ({count}<span class="visually-hidden"> unread</span>)</a>'
)


def notice(user, text, *, minutes_ago=0, read_at=None):
    return Notification.objects.create(
        user=user,
        text=text,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        read_at=read_at,
    )


def notification_queries(queries):
    return [q["sql"] for q in queries if "kbsite_notification" in q["sql"]]


def test_notifications_for_user_are_theirs_newest_first_and_limited(responder, editor):
    oldest = notice(responder, "Oldest", minutes_ago=30)
    middle = notice(responder, "Middle", minutes_ago=20, read_at=timezone.now())
    newest = notice(responder, "Newest", minutes_ago=10)
    notice(editor, "Not yours")

    assert notifications_for_user(user=responder, limit=10) == [newest, middle, oldest]
    assert notifications_for_user(user=responder, limit=2) == [newest, middle]
    assert notifications_for_user(user=editor, limit=10)[0].text == "Not yours"


def test_unread_count_counts_only_the_users_unread_notifications(responder, editor):
    notice(responder, "Unread 1")
    notice(responder, "Unread 2")
    notice(responder, "Read", read_at=timezone.now())
    notice(editor, "Someone else's")

    assert notifications_unread_count(user=responder) == 2
    assert notifications_unread_count(user=editor) == 1


def test_unread_count_of_a_user_without_notifications_is_zero(responder):
    assert notifications_unread_count(user=responder) == 0


def test_mark_all_read_marks_only_the_users_unread_notifications(
    responder, editor, django_assert_num_queries
):
    earlier = timezone.now() - timedelta(days=2)
    first = notice(responder, "Unread 1")
    second = notice(responder, "Unread 2")
    already = notice(responder, "Read two days ago", read_at=earlier)
    others = notice(editor, "Someone else's")
    before = timezone.now()

    with django_assert_num_queries(1):
        changed = notifications_mark_all_read(user=responder)

    assert changed == 2
    for item in (first, second, already, others):
        item.refresh_from_db()
    assert first.read_at is not None and first.read_at >= before
    assert second.read_at == first.read_at
    assert already.read_at == earlier
    assert others.read_at is None
    assert notifications_unread_count(user=responder) == 0


def test_mark_all_read_a_second_time_changes_nothing(responder):
    item = notice(responder, "Unread")
    assert notifications_mark_all_read(user=responder) == 1
    item.refresh_from_db()
    first_read_at = item.read_at

    assert notifications_mark_all_read(user=responder) == 0

    item.refresh_from_db()
    assert item.read_at == first_read_at
    assert Notification.objects.filter(user=responder).count() == 1


def test_context_processor_gives_nothing_to_anonymous_visitors(django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()

    with django_assert_num_queries(0):
        assert notifications(request) == {}


def test_context_processor_counts_once_and_only_when_read(responder, django_assert_num_queries):
    notice(responder, "Unread 1")
    notice(responder, "Unread 2")
    request = RequestFactory().get("/")
    request.user = responder

    with django_assert_num_queries(0):
        context = notifications(request)
    with django_assert_num_queries(1):
        assert context["notifications_unread"] == 2
        assert str(context["notifications_unread"]) == "2"


def test_user_menu_shows_the_unread_count_with_one_count_query(client, responder, editor):
    notice(responder, "Unread 1")
    notice(responder, "Unread 2")
    notice(responder, "Read", read_at=timezone.now())
    notice(editor, "Someone else's")
    client.force_login(responder)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert MENU_LINK.format(count=2) in response.content.decode()
    assert len(notification_queries(captured.captured_queries)) == 1


def test_user_menu_shows_zero_after_mark_all_read(client, responder):
    notice(responder, "Unread")
    client.force_login(responder)

    response = client.post(reverse("knowledge:notifications_mark_read"), follow=True)

    assert MENU_LINK.format(count=0) in response.content.decode()


def test_knowledge_pages_count_unread_notifications_once(client, responder):
    notice(responder, "Unread")
    client.force_login(responder)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("knowledge:notifications"))

    html = response.content.decode()
    assert MENU_LINK.format(count=1) in html
    assert 'Notifications <span class="badge in_review">1' in html
    assert len(notification_queries(captured.captured_queries)) == 2  # the count and the list


def test_sign_in_page_has_no_notifications_link_and_counts_nothing(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("login"))

    assert response.status_code == 200
    assert "Notifications (" not in response.content.decode()
    assert notification_queries(captured.captured_queries) == []


@pytest.mark.django_db(transaction=True)
def test_emails_held_back_keep_the_notice_but_send_nothing(mailoutbox):
    from kbsite.services import emails_held_back, notification_send
    from tests.kbsite.factories import UserFactory

    person = UserFactory(username="quiet", email="quiet@example.com")
    with emails_held_back():
        notification_send(user=person, text="Held", url="/x", email_subject="Held")
    notification_send(user=person, text="Sent", url="/y", email_subject="Sent")
    assert [mail.subject for mail in mailoutbox] == ["Sent"]
    assert list(person.notifications.values_list("text", flat=True)) == ["Sent", "Held"]
