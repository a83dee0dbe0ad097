from django.apps import AppConfig


class KbsiteConfig(AppConfig):
    """The catalog (teams, services, tags, membership), access helpers and API tokens."""

    name = "kbsite"
    verbose_name = "Catalog and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import kbsite.api.schema  # noqa: F401 - registers the token scheme with the schema
        from kbsite.demo import register_seeder
        from kbsite.demo_catalog import seed_catalog

        register_seeder(name="catalog", order=0, run=seed_catalog)
