from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_role_groups(**kwargs: Any) -> None:
    """Roles come from a data migration; a flush (as between transactional tests) empties the
    table but runs post_migrate again, so the groups are made sure of here as well."""
    from django.contrib.auth.models import Group

    from kbsite.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role.value)


class KbsiteConfig(AppConfig):
    """The catalog (teams, services, tags, membership), access helpers and API tokens."""

    name = "kbsite"
    verbose_name = "Catalog and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import kbsite.api.schema  # noqa: F401 - registers the token scheme with the schema
        from kbsite.demo import register_seeder
        from kbsite.demo_catalog import seed_catalog
        from kbsite.webhooks import subscriptions as webhook_subscriptions

        register_seeder(name="catalog", order=0, run=seed_catalog)
        post_migrate.connect(ensure_role_groups, sender=self)
        webhook_subscriptions.connect()
