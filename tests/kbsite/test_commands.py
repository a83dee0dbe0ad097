from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from kbsite.models import ApiToken, Service, Tag, Team, TeamMembership

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    users = get_user_model().objects.order_by("username")
    return {
        "teams": list(Team.objects.values_list("slug", "name", "description")),
        "services": list(Service.objects.values_list("slug", "team__slug")),
        "tags": list(Tag.objects.values_list("slug", flat=True)),
        "users": list(users.values_list("username", "password", "is_staff", "is_superuser")),
        "groups": sorted(users.values_list("username", "groups__name")),
        "memberships": sorted(TeamMembership.objects.values_list("user__username", "team__slug")),
    }


def test_seed_demo_creates_one_person_per_role_and_prints_sign_ins():
    out = seed()
    people = ["rita", "rob", "erin", "maya", "ada", "oscar"]
    roles = dict(
        get_user_model().objects.filter(username__in=people).values_list("username", "groups__name")
    )
    assert roles == {
        "rita": "responder",
        "rob": "reviewer",
        "erin": "editor",
        "maya": "manager",
        "ada": "admin",
        "oscar": "responder",
    }
    assert Team.objects.count() == 4
    assert Service.objects.count() == 10
    for username in roles:
        assert f"  {username:<10} kbsite-demo" in out
    assert get_user_model().objects.get(username="rita").check_password("kbsite-demo")


def test_seed_demo_twice_changes_nothing():
    seed()
    first = snapshot()
    seed()
    assert snapshot() == first


def test_create_api_token_prints_a_key_that_authenticates(client):
    get_user_model().objects.create_user("script", password="x" * 20)
    out = StringIO()
    call_command("create_api_token", "script", stdout=out)
    key = out.getvalue().strip()
    assert len(key) >= 40
    token = ApiToken.objects.get()
    assert token.key_hash == ApiToken.hash_key(key)
    assert key not in token.key_hash
    response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_create_api_token_for_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")
    assert ApiToken.objects.count() == 0


def test_create_api_token_refuses_a_past_expiry():
    get_user_model().objects.create_user("script")
    with pytest.raises(CommandError, match="--expires-in-days must be 1 or more"):
        call_command("create_api_token", "script", "--expires-in-days", "0")
    assert ApiToken.objects.count() == 0
