import importlib
from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def restore_seeded_rows(**kwargs: Any) -> None:
    """The taxonomy and the shipped templates come from data migration 0002. A flush (as
    between transactional tests) empties the tables without rerunning it, so an empty template
    table is seeded again here; a database that has templates is left alone."""
    from postmortems.models import PostmortemTemplate

    if PostmortemTemplate.objects.exists():
        return
    migration = importlib.import_module("postmortems.migrations.0002_seed_taxonomy_and_templates")
    migration.seed(apps, None)


def register_webhook_visibility() -> None:
    """Webhook payloads name incidents and postmortems by id: a subscriber who may not see a
    restricted incident is not told it exists."""
    from kbsite.webhooks.services import webhook_visibility_register
    from postmortems.models import Incident, Postmortem
    from postmortems.permissions import incidents_visible_q

    webhook_visibility_register(
        "incident_id",
        lambda user, pk: Incident.objects.filter(incidents_visible_q(user), pk=pk).exists(),
    )
    webhook_visibility_register(
        "postmortem_id",
        lambda user, pk: Postmortem.objects.filter(
            incidents_visible_q(user, prefix="incident__"), pk=pk
        ).exists(),
    )


class PostmortemsConfig(AppConfig):
    """Incidents, postmortems, findings, action items, timeline. Imports: kbsite, knowledge."""

    name = "postmortems"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kbsite.demo import register_seeder
        from postmortems import panels
        from postmortems.demo import seed_postmortems
        from postmortems.transfer import visibility as transfer_visibility

        register_seeder(name="postmortems", order=20, run=seed_postmortems)
        panels.register()
        post_migrate.connect(restore_seeded_rows, sender=self)
        register_webhook_visibility()
        transfer_visibility.register()
