from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    """Incidents, postmortems, findings, action items, timeline. Imports: kbsite, knowledge."""

    name = "postmortems"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kbsite.demo import register_seeder
        from postmortems import panels
        from postmortems.demo import seed_postmortems

        register_seeder(name="postmortems", order=20, run=seed_postmortems)
        panels.register()
