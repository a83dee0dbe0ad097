"""PostgreSQL only: a GIN index on incidents' words, for similar-incident suggestions."""

from django.db import migrations

INDEX = "postmortems_incident_text_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON postmortems_incident "
        "USING gin (to_tsvector('english', title || ' ' || summary))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0002_seed_taxonomy_and_templates")]

    operations = [migrations.RunPython(create_index, drop_index)]
