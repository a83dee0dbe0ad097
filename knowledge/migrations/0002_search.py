"""Search indexes, different per database vendor (see the knowledge/search/ package).

PostgreSQL: pg_trgm, a GIN index on `Article.search_vector`, a GIN expression index on the
compact "head" vector (title, symptoms, tags) with the function that reads it, and a vocabulary
table of the words in articles with a trigram index (typo correction).

SQLite: an FTS5 table keyed by article id (rowid) and an fts5vocab table over it.

Both are filled by `knowledge.search.index_articles`; this migration indexes existing rows.
"""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS knowledge_article_search_gin ON knowledge_article USING gin (search_vector)",
    # The compact "head" vector (title, symptoms, tags), read by knowledge_search_head below.
    "CREATE INDEX IF NOT EXISTS knowledge_article_search_head ON knowledge_article USING gin ("
    "to_tsvector('english'::regconfig, COALESCE(substr(title, 1, 2000), '') || ' ' || "
    "COALESCE(substr(symptoms, 1, 2000), '') || ' ' || COALESCE(substr(tags_text, 1, 2000), '')))",
    # Up to `size` ids whose head vector matches. The function's own setting keeps the planner
    # on the index: with a LIMIT it otherwise gambles on a sequential scan that computes the
    # vector for every row (76 ms for a phrase at 100k rows, against 2 ms through the index).
    "CREATE OR REPLACE FUNCTION knowledge_search_head(query tsquery, size integer) "
    "RETURNS SETOF bigint LANGUAGE sql STABLE SET enable_seqscan = off AS $$ "
    "SELECT id FROM knowledge_article WHERE to_tsvector('english'::regconfig, "
    "COALESCE(substr(title, 1, 2000), '') || ' ' || COALESCE(substr(symptoms, 1, 2000), '') "
    "|| ' ' || COALESCE(substr(tags_text, 1, 2000), '')) @@ query LIMIT size $$",
    "CREATE TABLE IF NOT EXISTS knowledge_search_term (word text PRIMARY KEY)",
    "CREATE INDEX IF NOT EXISTS knowledge_search_term_trgm ON knowledge_search_term USING gin (word gin_trgm_ops)",
]
PG_BACKWARD = [
    "DROP TABLE IF EXISTS knowledge_search_term",
    "DROP FUNCTION IF EXISTS knowledge_search_head(tsquery, integer)",
    "DROP INDEX IF EXISTS knowledge_article_search_head",
    "DROP INDEX IF EXISTS knowledge_article_search_gin",
]

SQLITE_FORWARD = [
    # One FTS5 row per article, rowid = article id; columns in weight order (see knowledge/search/sqlite.py).
    "CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_article_fts USING fts5("
    "title, symptoms, details, body, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_article_fts_vocab USING fts5vocab(knowledge_article_fts, 'row')",
]
SQLITE_BACKWARD = [
    "DROP TABLE IF EXISTS knowledge_article_fts_vocab",
    "DROP TABLE IF EXISTS knowledge_article_fts",
]


def _index_existing(apps, schema_editor):
    from knowledge.search import index_articles

    Article = apps.get_model("knowledge", "Article")
    ids = list(Article.objects.using(schema_editor.connection.alias).values_list("id", flat=True))
    for start in range(0, len(ids), 2000):
        index_articles(article_ids=ids[start : start + 2000], using=schema_editor.connection.alias)


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in PG_FORWARD:
            schema_editor.execute(statement)
    elif connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    else:
        return
    _index_existing(apps, schema_editor)


def backward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in PG_BACKWARD:
            schema_editor.execute(statement)
    elif connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
