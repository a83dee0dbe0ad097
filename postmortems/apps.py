from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    """Incidents, postmortems, findings, action items, timeline. Imports: kbsite, knowledge."""

    name = "postmortems"
    default_auto_field = "django.db.models.BigAutoField"
