"""Keeping the search index in step with the article rows, on either database."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections

from knowledge.search.postgres import CONFIG
from knowledge.search.query import MAX_TERM_LENGTH

INDEX_FIELD_CHARS = 200_000  # text indexed per field (keeps a tsvector well under 1 MB)

# The weighted vector of one article row (alias "a"); kept in one place for index_articles,
# seed_synthetic and the migration.
PG_VECTOR_SQL = f"""
    setweight(to_tsvector('{CONFIG}', left(coalesce(a.title, ''), 500)), 'A')
 || setweight(to_tsvector('{CONFIG}',
        left(a.symptoms || ' ' || a.tags_text, {INDEX_FIELD_CHARS})), 'B')
 || setweight(to_tsvector('{CONFIG}',
        left(a.cause || ' ' || a.resolution || ' ' || a.prevention, {INDEX_FIELD_CHARS})), 'C')
 || setweight(to_tsvector('{CONFIG}',
        left(a.body || ' ' || a.environment, {INDEX_FIELD_CHARS})), 'D')
"""
# Words of the fields a responder is most likely to misspell, unstemmed, for typo correction.
PG_VOCABULARY_SQL = f"""
    INSERT INTO knowledge_search_term (word)
    SELECT DISTINCT w.word FROM knowledge_article a,
        unnest(tsvector_to_array(to_tsvector('simple', left(
            a.title || ' ' || a.tags_text || ' ' || a.symptoms || ' ' || a.cause || ' '
            || a.resolution || ' ' || a.prevention, {INDEX_FIELD_CHARS})))) AS w(word)
    WHERE a.id = ANY(%s) AND length(w.word) BETWEEN 3 AND {MAX_TERM_LENGTH}
        AND w.word ~ '^[[:alpha:]]'
    ORDER BY w.word
    ON CONFLICT (word) DO NOTHING
"""  # noqa: S608 - constants only


def index_articles(*, article_ids: Iterable[int], using: str = "default") -> None:
    """Bring the search index of these articles in step with their rows (absent ids: removed)."""
    ids = sorted({int(pk) for pk in article_ids})
    if not ids:
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE knowledge_article AS a SET search_vector = {PG_VECTOR_SQL} "  # noqa: S608
                "WHERE a.id = ANY(%s)",
                [ids],
            )
            cursor.execute(PG_VOCABULARY_SQL, [ids])
        elif connection.vendor == "sqlite":
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"DELETE FROM knowledge_article_fts WHERE rowid IN ({marks})",  # noqa: S608
                    chunk,
                )
                cursor.execute(
                    "INSERT INTO knowledge_article_fts (rowid, title, symptoms, details, body) "  # noqa: S608
                    "SELECT id, title, symptoms || ' ' || tags_text, "
                    "cause || ' ' || resolution || ' ' || prevention, body || ' ' || environment "
                    f"FROM knowledge_article WHERE id IN ({marks})",
                    chunk,
                )
