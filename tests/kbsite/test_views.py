"""Sign-in, sign-out, the home page and the error pages."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.kbsite.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_every_page_requires_sign_in(client):
    for url in ["/", "/knowledge/", "/postmortems/", "/dashboard/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert (
            response["Location"].startswith("/accounts/login/")
            or "/admin/login/" in response["Location"]
        )


def test_api_requires_credentials(client):
    response = client.get("/api/v1/teams/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_sign_in_page_is_public_and_has_the_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "csrfmiddlewaretoken" in html


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_one(client):
    page = client.get(reverse("login")).content.decode()

    icon = '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">'
    assert icon in page
    assert finders.find("img/favicon.svg")


def test_sign_in_lands_on_home_with_navigation(client, responder):
    response = client.post(
        reverse("login"), {"username": "rita", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain == [("/", 302)]
    html = response.content.decode()
    for label, url in [
        ("Knowledge", "/knowledge/"),
        ("Postmortems", "/postmortems/"),
        ("Dashboard", "/dashboard/"),
        ("API", "/api/docs/"),
    ]:
        assert f'href="{url}"' in html, label
    assert "responder" in html
    assert "Payments" in html


def test_wrong_password_shows_an_error_and_no_session(client, responder):
    response = client.post(reverse("login"), {"username": "rita", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_deactivated_user_cannot_sign_in(client):
    UserFactory(username="gone", is_active=False)
    response = client.post(reverse("login"), {"username": "gone", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_sign_in_needs_csrf():
    strict = Client(enforce_csrf_checks=True)
    UserFactory(username="csrf-user")
    response = strict.post(reverse("login"), {"username": "csrf-user", "password": PASSWORD})
    assert response.status_code == 403


def test_sign_out_is_a_post_and_ends_the_session(client, responder):
    client.force_login(responder)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_change(client, responder):
    client.force_login(responder)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 302
    responder.refresh_from_db()
    assert responder.check_password("a-new-long-passphrase")


def test_password_change_with_wrong_old_password_changes_nothing(client, responder):
    client.force_login(responder)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "nope",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert response.status_code == 200
    responder.refresh_from_db()
    assert responder.check_password(PASSWORD)


def test_unknown_url_gets_the_styled_404(client, responder):
    client.force_login(responder)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "We can" in response.content.decode()
    assert "kbsite.css" in response.content.decode()


def test_server_error_page_reveals_nothing(client):
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html


def test_pages_carry_a_strict_content_security_policy(client, responder):
    client.force_login(responder)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
