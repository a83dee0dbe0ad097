from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.kbsite.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ["responder", "reviewer", "editor", "manager", "admin"]


def test_each_role_signs_in_and_sees_the_home_page(page):
    team = TeamFactory(name="Payments", slug="payments")
    for role in ROLES:
        UserFactory(username=f"demo-{role}", roles=[role], teams=[team])
    for role in ROLES:
        sign_in(page, f"demo-{role}", PASSWORD)
        page.wait_for_url("**/")
        navigation = page.get_by_role("navigation", name="Main")
        for label in ["Knowledge", "Postmortems", "Dashboard", "API"]:
            assert navigation.get_by_role("link", name=label).is_visible()
        assert page.get_by_text(role, exact=True).first.is_visible()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/accounts/login/")


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(page):
    UserFactory(username="rita")
    sign_in(page, "rita", "not-the-password")
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_the_home_page_fits_a_phone_screen(page):
    UserFactory(username="rita", roles=["responder"])
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, "rita", PASSWORD)
    page.wait_for_url("**/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
