"""The catalog part of the demo: teams, services, tags and one person per role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from kbsite.roles import Role
from kbsite.services import (
    service_get_or_create,
    tags_get_or_create,
    team_add_member,
    team_get_or_create,
    user_grant_role,
)

DEMO_PASSWORD = "kbsite-demo"  # noqa: S105 - printed on purpose; demo instances only


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role | None
    team: str


TEAMS = {
    "Payments": "Checkout, payment authorisation and the ledger.",
    "Platform": "Kubernetes, the API gateway, databases and the delivery pipeline.",
    "Identity": "Sign-in, sessions, tokens and certificates.",
    "Search": "Product search and the indexing pipeline.",
}

SERVICES = [
    ("checkout", "Payments", "The web checkout flow and its API."),
    ("payments-api", "Payments", "Card authorisation and capture against the acquirers."),
    ("ledger", "Payments", "Double-entry ledger of every money movement."),
    ("api-gateway", "Platform", "Edge proxy: TLS termination, routing, rate limits."),
    ("kubernetes", "Platform", "The production clusters and their node pools."),
    ("postgres-main", "Platform", "The primary PostgreSQL cluster and its replicas."),
    ("deploy-pipeline", "Platform", "Build, test and progressive rollout of every service."),
    ("auth", "Identity", "Sign-in, sessions and OAuth tokens."),
    ("search-api", "Search", "Product search queries."),
    ("indexer", "Search", "Streams catalog changes into the search index."),
]

TAGS = [
    "tls",
    "dns",
    "deploy",
    "config",
    "capacity",
    "database",
    "cache",
    "timeout",
    "memory",
    "rate-limit",
    "certificate",
    "rollback",
    "queue",
    "latency",
]

USERS = [
    DemoUser("rita", "Rita Responder", Role.RESPONDER, "Payments"),
    DemoUser("rob", "Rob Reviewer", Role.REVIEWER, "Payments"),
    DemoUser("erin", "Erin Editor", Role.EDITOR, "Platform"),
    DemoUser("maya", "Maya Manager", Role.MANAGER, "Platform"),
    DemoUser("ada", "Ada Admin", Role.ADMIN, "Platform"),
    DemoUser("oscar", "Oscar Outsider", Role.RESPONDER, "Search"),
]


@transaction.atomic
def seed_catalog(say: Callable[[str], None]) -> None:
    teams = {name: team_get_or_create(name=name, description=text) for name, text in TEAMS.items()}
    for slug, team_name, description in SERVICES:
        service_get_or_create(name=slug, team=teams[team_name], description=description)
    tags_get_or_create(names=TAGS)

    user_model = get_user_model()
    for demo in USERS:
        first, last = demo.full_name.split(" ", 1)
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{demo.username}@example.com",
                "is_staff": demo.role == Role.ADMIN,
                "is_superuser": demo.role == Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if demo.role is not None:
            user_grant_role(user=user, role=demo.role)
        team_add_member(team=teams[demo.team], user=user)
    say(
        f"catalog: {len(TEAMS)} teams, {len(SERVICES)} services, {len(TAGS)} tags, "
        f"{len(USERS)} people"
    )


def sign_in_lines() -> list[str]:
    lines = [f"  {'username':<10} {'password':<12} role (team)"]
    for demo in USERS:
        role = demo.role.value if demo.role else "-"
        note = (
            " — outside the Payments team, for restricted-incident checks"
            if demo.username == "oscar"
            else ""
        )
        lines.append(f"  {demo.username:<10} {DEMO_PASSWORD:<12} {role} ({demo.team}){note}")
    return lines
