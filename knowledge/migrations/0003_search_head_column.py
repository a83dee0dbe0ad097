"""PostgreSQL only: the compact "head" vector (title, symptoms, tags) becomes a stored,
generated column with its own GIN index, in place of 0002's expression index.

With the expression index, every phrase match had to be checked by computing the vector from
the text again (10 ms for a common phrase at 100k articles); a stored vector is read instead.
PostgreSQL generates the column, so no code writes it and the model does not declare it.
"""

from django.db import migrations

HEAD_TEXT = (
    "COALESCE(substr(title, 1, 2000), '') || ' ' || COALESCE(substr(symptoms, 1, 2000), '') "
    "|| ' ' || COALESCE(substr(tags_text, 1, 2000), '')"
)
HEAD_VECTOR = f"to_tsvector('english'::regconfig, {HEAD_TEXT})"


def _head_function(condition: str) -> str:
    # The function's own setting keeps the planner on the index: with a LIMIT it otherwise
    # gambles on a sequential scan.
    return (
        "CREATE OR REPLACE FUNCTION knowledge_search_head(query tsquery, size integer) "
        "RETURNS SETOF bigint LANGUAGE sql STABLE SET enable_seqscan = off AS $$ "
        f"SELECT id FROM knowledge_article WHERE {condition} @@ query LIMIT size $$"
    )


def to_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS knowledge_article_search_head")
    schema_editor.execute(
        "ALTER TABLE knowledge_article ADD COLUMN IF NOT EXISTS search_head tsvector "
        f"GENERATED ALWAYS AS ({HEAD_VECTOR}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS knowledge_article_search_head "
        "ON knowledge_article USING gin (search_head)"
    )
    schema_editor.execute(_head_function("search_head"))


def to_expression(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_head_function(HEAD_VECTOR))
    schema_editor.execute("DROP INDEX IF EXISTS knowledge_article_search_head")
    schema_editor.execute("ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_head")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS knowledge_article_search_head "
        f"ON knowledge_article USING gin ({HEAD_VECTOR})"
    )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search")]

    operations = [migrations.RunPython(to_column, to_expression)]
