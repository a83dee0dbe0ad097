from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Articles, revisions, feedback, search and markdown rendering. Imports: kbsite."""

    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kbsite.demo import register_seeder
        from knowledge.demo import seed_knowledge

        register_seeder(name="knowledge", order=10, run=seed_knowledge)
