from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Articles, revisions, feedback, search and markdown rendering. Imports: kbsite."""

    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"
