"""Search: relevance on a realistic corpus, typo tolerance, syntax, filters, permissions, gaps,
snippets, hostile input and query counts. Unmarked tests run on whichever database the pass
uses (SQLite, then PostgreSQL); `postgres` tests pin what only PostgreSQL has."""

from __future__ import annotations

import math

import pytest
from django.db import connection

from knowledge import search
from knowledge.models import ArticleState, KnowledgeType, SearchGap
from knowledge.search import (
    MAX_QUERY_LENGTH,
    SearchFilters,
    article_search,
    index_articles,
    parse_query,
    record_search_gap,
)
from tests.knowledge.factories import ArticleFactory, ServiceFactory, TeamFactory

# key: (title, symptoms, cause, resolution, body, tags, service)
CORPUS = {
    "tls": (
        "TLS certificate expired on the api-gateway",
        "Browsers show NET::ERR_CERT_DATE_INVALID and clients fail the TLS handshake; the "
        "uptime check reports that the certificate is no longer valid.",
        "The renewal cron job had been failing silently for weeks, so the certificate ran out.",
        "Issue a new certificate with certbot and reload the gateway.",
        "Check `openssl s_client -connect` for the notAfter date.",
        ["tls", "certificates"],
        "api-gateway",
    ),
    "checkout503": (
        "Checkout answers 503 right after a deploy",
        "Checkout returns HTTP 503 Service Unavailable for a few minutes after each deploy; "
        "the error rate alert fires and recovers on its own.",
        "New pods received traffic before their readiness probe passed.",
        "Roll back the release, then make the readiness probe check the database.",
        "Seen on every rolling update of the checkout deployment.",
        ["deploy", "kubernetes"],
        "checkout",
    ),
    "dbpool": (
        "Database connection pool exhausted on payments-api",
        "Requests hang and then fail with 'sorry, too many clients already'; latency spikes "
        "on payments-api while the connection pool is exhausted.",
        "A slow report query held connections open; the pool of 10 per pod ran dry.",
        "Kill the long query, raise the pool size and add a statement timeout.",
        "PgBouncer in transaction mode keeps the connection count flat.",
        ["database", "postgres"],
        "payments-api",
    ),
    "redis": (
        "Redis timeouts in the session store",
        "Sign-in is slow and sometimes fails; the auth service logs redis timeouts.",
        "The Redis primary was swapping after maxmemory was raised past the host's RAM.",
        "Lower maxmemory, fail over to the replica and restart the old primary.",
        "The client's connection pool to Redis also needs a socket timeout.",
        ["cache"],
        "auth",
    ),
    "dns": (
        "DNS misconfiguration sends traffic to the old load balancer",
        "Some customers reach the old site while others see NXDOMAIN for the api subdomain.",
        "A CNAME still pointed at the decommissioned load balancer; the TTL was a day long.",
        "Fix the record, lower the TTL before any migration, flush resolver caches.",
        "",
        ["dns", "networking"],
        "api-gateway",
    ),
    "disk": (
        "Postgres disk full stops writes",
        "Writes fail with 'could not extend file: No space left on device'; reads still work.",
        "WAL files piled up because a replication slot of a deleted replica was never dropped.",
        "Drop the stale replication slot, then let checkpoints recycle WAL.",
        "",
        ["database", "disk"],
        "postgres-main",
    ),
    "kafka": (
        "Kafka consumer lag grows on the indexer",
        "Search results are stale by hours; the consumer lag alert fires for the indexer.",
        "A poison message made the consumer crash and restart in a loop at the same offset.",
        "Skip the bad offset, add a dead-letter topic.",
        "",
        ["queue"],
        "indexer",
    ),
    "oom": (
        "Pods killed with OOMKilled after a memory leak",
        "Containers restart with exit code 137; kubectl describe shows OOMKilled.",
        "An unbounded in-process cache grew with every request.",
        "Bound the cache, set memory requests equal to limits.",
        "",
        ["memory", "kubernetes"],
        "search-api",
    ),
    "rollback": (
        "How to roll back a bad release",
        "A release misbehaves in production and has to be undone quickly.",
        "",
        "Run the pipeline's rollback job with the previous version; confirm the canary.",
        "Prefer rolling back to fixing forward while customers are affected.",
        ["rollback", "deploy"],
        "deploy-pipeline",
    ),
    "ratelimit": (
        "API gateway answers 429 Too Many Requests",
        "Partners get 429 responses; the gateway logs rate limit exceeded for their key.",
        "A partner's retry loop without backoff multiplied their traffic.",
        "Raise their quota temporarily and ask them to add exponential backoff.",
        "",
        ["capacity"],
        "api-gateway",
    ),
    "jwt": (
        "Sign-in fails with token not yet valid after clock skew",
        "Users are logged out at once; the auth logs say the JWT is not valid yet (nbf).",
        "NTP was blocked on new nodes, so their clocks drifted by minutes.",
        "Open NTP in the firewall and allow 60 seconds of leeway when validating tokens.",
        "",
        ["security"],
        "auth",
    ),
    "webhook": (
        "Duplicate webhooks after payment provider retries",
        "Some customers were charged twice; the provider delivered the same webhook again.",
        "Our handler answered after the provider's 10 second timeout, so it retried.",
        "Make the webhook handler idempotent on the event id and answer before processing.",
        "",
        ["payments"],
        "checkout",
    ),
    "replica": (
        "Read replica lag shows stale balances",
        "The account page shows an old balance right after a payment.",
        "Reads went to a replica that lagged behind the primary during a vacuum.",
        "Read your own writes from the primary for a few seconds after a write.",
        "",
        ["database"],
        "ledger",
    ),
    "flamegraph": (
        "Reading a flame graph to find CPU hot spots",
        "High CPU on search-api and a growing p99 latency with no change in traffic.",
        "",
        "Profile with py-spy, read the widest frames first.",
        "Captured from the search team's on-call know-how.",
        ["latency"],
        "search-api",
    ),
}

# What responders type (symptoms, not titles), and the article that must come first.
QUERIES = [
    ("checkout returns 503 after deploy", "checkout503"),
    ("certficate expired", "tls"),
    ('"connection pool"', "dbpool"),
    ("pool -redis", "dbpool"),
    ("browser says the certificate is invalid", "tls"),
    ("tls handshake failing for clients", "tls"),
    ("too many clients already", "dbpool"),
    ("requests hang database connections", "dbpool"),
    ("503 service unavailable after release", "checkout503"),
    ("pods get traffic before readiness probe", "checkout503"),
    ("customers reach the old site", "dns"),
    ("nxdomain", "dns"),
    ("no space left on device", "disk"),
    ("database writes fail disk full", "disk"),
    ("search results are stale", "kafka"),
    ("consumer lag alert", "kafka"),
    ("exit code 137", "oom"),
    ("container keeps restarting oomkilled", "oom"),
    ("how do I roll back a bad release", "rollback"),
    ("partners getting 429", "ratelimit"),
    ("rate limit exceeded", "ratelimit"),
    ("users logged out token not valid yet", "jwt"),
    ("clock drift ntp", "jwt"),
    ("customer charged twice", "webhook"),
    ("duplicate webhook", "webhook"),
    ("balance shows old value after payment", "replica"),
    ("replica lag", "replica"),
    ("high cpu p99 latency", "flamegraph"),
    ("redis timeouts sign-in slow", "redis"),
    ("kafak consumer lag", "kafka"),
    ("databse connection pool exhausted", "dbpool"),
    ("wal files replication slot", "disk"),
]
NDCG_FLOOR = 0.9  # measured 1.0 on both backends; a drop below 0.9 is a real regression


@pytest.fixture
def corpus(db, responder):
    articles = {}
    for key, (title, symptoms, cause, resolution, body, tags, service) in CORPUS.items():
        articles[key] = ArticleFactory(
            title=title,
            symptoms=symptoms,
            cause=cause,
            resolution=resolution,
            body=body,
            prevention="",
            environment="Production.",
            state=ArticleState.PUBLISHED,
            tags=tags,
            services=[ServiceFactory(name=service, slug=service)],
            author=responder,
            revision=False,
        )
    index_articles(article_ids=[a.pk for a in articles.values()])
    return articles


def _keys(page, corpus):
    by_id = {article.pk: key for key, article in corpus.items()}
    return [by_id.get(hit.article.pk, "?") for hit in page.hits]


def _ndcg_at_10(position: int | None) -> float:
    """One relevant article: DCG = 1 / log2(position + 1), ideal DCG = 1."""
    if position is None or position > 10:
        return 0.0
    return 1 / math.log2(position + 1)


def _relevance_report(corpus, user):
    misses, total = [], 0.0
    for query, expected in QUERIES:
        keys = _keys(article_search(query=query, user=user, limit=10), corpus)
        position = keys.index(expected) + 1 if expected in keys else None
        total += _ndcg_at_10(position)
        if position != 1:
            misses.append((query, expected, keys[:3]))
    return total / len(QUERIES), misses


def test_responder_queries_rank_the_right_article_first(corpus, responder):
    ndcg, misses = _relevance_report(corpus, responder)
    print(f"\nnDCG@10 over {len(QUERIES)} queries on {connection.vendor}: {ndcg:.3f}")
    assert misses == []
    assert ndcg >= NDCG_FLOOR


@pytest.mark.postgres
def test_postgres_has_the_search_indexes(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'knowledge_article' "
            "AND indexname LIKE 'knowledge_article_search%%'"
        )
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'knowledge_search_head'")
        functions = cursor.fetchone()[0]
    assert names == {"knowledge_article_search_gin", "knowledge_article_search_head"}
    assert functions == 1


@pytest.mark.postgres
def test_candidate_tiers_keep_the_best_article_when_matches_are_many(db, responder, monkeypatch):
    """With tiers smaller than the matches, a title match still beats body-only matches."""
    monkeypatch.setattr(search.postgres, "CANDIDATES", 3)
    filler = [
        ArticleFactory(
            title=f"Routine note {n}",
            symptoms="",
            body="The upstream was fine.",
            state=ArticleState.PUBLISHED,
            revision=False,
        )
        for n in range(12)
    ]
    best = ArticleFactory(
        title="Upstream resets connections",
        symptoms="Every upstream call fails.",
        state=ArticleState.PUBLISHED,
        revision=False,
    )
    index_articles(article_ids=[a.pk for a in [*filler, best]])
    page = article_search(query="upstream", user=responder, limit=2)
    assert page.hits[0].article.pk == best.pk
    assert page.has_more is True


@pytest.mark.postgres
def test_partial_matches_follow_every_full_match_across_pages(db, responder, monkeypatch):
    """When full-coverage articles fill the candidate window, the any-word tiers are skipped;
    a page reaching past them brings the partial matches back, after every full match."""
    monkeypatch.setattr(search.postgres, "CANDIDATES", 3)
    full = [
        ArticleFactory(
            title=f"Broker failover number {n}",
            symptoms="Consumers stop after a broker failover.",
            state=ArticleState.PUBLISHED,
            revision=False,
        )
        for n in range(3)
    ]
    partial = ArticleFactory(
        title="Broker disk alarms",
        symptoms="The broker refuses publishes.",
        state=ArticleState.PUBLISHED,
        revision=False,
    )
    index_articles(article_ids=[a.pk for a in [*full, partial]])

    first = article_search(query="broker failover", user=responder, limit=2)
    second = article_search(query="broker failover", user=responder, limit=2, offset=2)

    assert {hit.article.pk for hit in first.hits} < {a.pk for a in full}
    assert first.has_more is True
    assert [hit.article.pk for hit in second.hits][1] == partial.pk
    assert {hit.article.pk for hit in first.hits + second.hits} == {a.pk for a in [*full, partial]}


def test_one_missing_word_does_not_empty_a_long_query(corpus, responder):
    page = article_search(query="checkout returns 503 after deploy zebra", user=responder)
    assert _keys(page, corpus)[0] == "checkout503"


def test_typo_is_corrected_and_said(corpus, responder):
    page = article_search(query="certficate", user=responder)
    assert _keys(page, corpus)[0] == "tls"
    assert "certificate" in page.message


def test_quoted_phrase_is_required(corpus, responder):
    page = article_search(query='"readiness probe"', user=responder)
    assert _keys(page, corpus) == ["checkout503"]


def test_minus_excludes(corpus, responder):
    keys = _keys(article_search(query="timeout -redis", user=responder), corpus)
    assert "redis" not in keys
    assert "dbpool" in keys


def test_snippet_highlights_matches_after_escaping(db, responder):
    article = ArticleFactory(
        title="Hostile snippet",
        symptoms='The gateway <script>alert("x")</script> logs a tripwire error.',
        state=ArticleState.PUBLISHED,
        revision=False,
    )
    index_articles(article_ids=[article.pk])
    page = article_search(query="tripwire", user=responder)
    assert [hit.article.pk for hit in page.hits] == [article.pk]
    snippet = page.hits[0].snippet
    assert "<script" not in snippet
    assert "alert(&quot;x&quot;)" in snippet
    assert "<mark>tripwire</mark>" in snippet


def test_filters_narrow_the_results(corpus, responder):
    def keys(**filters):
        page = article_search(query="database", user=responder, filters=SearchFilters(**filters))
        return sorted(_keys(page, corpus))

    assert keys() == ["checkout503", "dbpool", "disk", "replica"]
    assert keys(service="postgres-main") == ["disk"]
    assert keys(tag="postgres") == ["dbpool"]
    assert keys(knowledge_type=KnowledgeType.PROCESS) == []
    assert keys(state=ArticleState.DRAFT) == []


def test_team_filter(db, responder):
    team = TeamFactory(name="Storage", slug="storage")
    ours = ArticleFactory(title="Volume full", team=team, state=ArticleState.PUBLISHED)
    other = ArticleFactory(title="Volume slow", state=ArticleState.PUBLISHED)
    index_articles(article_ids=[ours.pk, other.pk])
    page = article_search(query="volume", user=responder, filters=SearchFilters(team="storage"))
    assert [hit.article.pk for hit in page.hits] == [ours.pk]


def test_archived_articles_only_when_asked(db, responder):
    archived = ArticleFactory(title="Legacy quasar outage", state=ArticleState.ARCHIVED)
    index_articles(article_ids=[archived.pk])
    assert article_search(query="quasar", user=responder, record_gap=False).hits == []
    page = article_search(
        query="quasar", user=responder, filters=SearchFilters(state=ArticleState.ARCHIVED)
    )
    assert [hit.article.pk for hit in page.hits] == [archived.pk]


def test_drafts_are_found_only_by_those_who_may_see_them(db, responder, outsider, editor):
    draft = ArticleFactory(
        title="Quasar draft", state=ArticleState.DRAFT, author=responder, revision=False
    )
    index_articles(article_ids=[draft.pk])
    assert [h.article.pk for h in article_search(query="quasar", user=responder).hits] == [draft.pk]
    assert [h.article.pk for h in article_search(query="quasar", user=editor).hits] == [draft.pk]
    assert article_search(query="quasar", user=outsider, record_gap=False).hits == []


def test_sorts_and_paging(corpus, responder):
    page = article_search(query="database", user=responder, sort="title", limit=2)
    assert _keys(page, corpus) == ["checkout503", "dbpool"]
    assert page.has_more is True
    rest = article_search(query="database", user=responder, sort="title", limit=2, offset=2)
    assert _keys(rest, corpus) == ["disk", "replica"]
    assert rest.has_more is False


def test_unknown_sort_falls_back_to_relevance(corpus, responder):
    page = article_search(query="nxdomain", user=responder, sort="'; drop table")
    assert _keys(page, corpus) == ["dns"]
    assert "sorted by relevance" in page.message


def test_empty_query_lists_by_update(corpus, responder):
    page = article_search(query="   ", user=responder, limit=50)
    assert len(page.hits) == len(CORPUS)
    assert page.message == ""


def test_index_follows_edits_and_deletes(db, responder):
    article = ArticleFactory(title="Quasar outage", state=ArticleState.PUBLISHED)
    index_articles(article_ids=[article.pk])
    type(article).objects.filter(pk=article.pk).update(title="Pulsar outage")
    index_articles(article_ids=[article.pk])
    assert article_search(query="quasar", user=responder, record_gap=False).hits == []
    assert len(article_search(query="pulsar", user=responder).hits) == 1
    pk = article.pk
    article.delete()
    index_articles(article_ids=[pk])
    assert article_search(query="pulsar", user=responder, record_gap=False).hits == []


# --- knowledge gaps ------------------------------------------------------------------------


def test_zero_result_search_is_recorded_as_a_gap(corpus, responder):
    article_search(query="Quasar  Nebula!", user=responder)
    article_search(query="quasar NEBULA", user=responder)
    gap = SearchGap.objects.get()
    assert (gap.normalized_query, gap.count) == ("quasar nebula", 2)
    assert gap.example_query == "Quasar Nebula!"


def test_filtered_or_unsearchable_misses_are_not_gaps(corpus, responder):
    article_search(query="quasar", user=responder, filters=SearchFilters(tag="dns"))
    article_search(query="the and of", user=responder)
    article_search(query="quasar", user=responder, record_gap=False)
    article_search(query="nxdomain", user=responder)
    assert SearchGap.objects.count() == 0


def test_record_search_gap_survives_a_concurrent_insert(db, monkeypatch):
    record_search_gap(query="pager storm")
    # Simulate losing the race: the first UPDATE finds nothing, the INSERT then collides.
    real_filter = SearchGap.objects.filter
    calls = {"n": 0}

    def racing_filter(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    monkeypatch.setattr(SearchGap.objects, "filter", racing_filter)
    record_search_gap(query="Pager storm")
    assert SearchGap.objects.get().count == 2


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message_part"),
    [
        ("the and of", "only very common words"),
        ("-redis", "a minus sign only excludes"),
        ("🔥🔥🔥", "Nothing to search for"),
        ('"""', "Nothing to search for"),
        ("a OR b AND NOT c", "only very common words"),
        ("foo:* & !bar | (baz", "No articles match"),
        ("\x00\x01 null bytes", "No articles match"),
        ("x" * 2000, "shortened"),
        ("Zürich café naïve", "No articles match"),
        ("连接池 耗尽", "No articles match"),
    ],
)
def test_hostile_queries_never_fail(corpus, responder, query, message_part):
    page = article_search(query=query, user=responder, record_gap=False)
    assert page.hits == []
    assert message_part in page.message
    assert len(page.query) <= MAX_QUERY_LENGTH


@pytest.mark.parametrize(
    "query",
    ["'; DROP TABLE knowledge_article; --", "NEAR(wal slot) title:disk ^x*", 'disk" OR "1"="1'],
)
def test_query_syntax_of_the_engines_is_only_text(corpus, responder, query):
    page = article_search(query=query, user=responder, record_gap=False)
    assert _keys(page, corpus)[0] == "disk"
    assert type(corpus["disk"]).objects.count() == len(CORPUS)


def test_long_query_is_cut_but_still_finds(corpus, responder):
    page = article_search(query="nxdomain " + "y" * 3000, user=responder)
    assert _keys(page, corpus) == ["dns"]
    assert "shortened" in page.message


def test_unknown_filter_values_explain(corpus, responder):
    page = article_search(query="dns", user=responder, filters=SearchFilters(state="bogus"))
    assert page.hits == []
    assert page.message == "Unknown state “bogus”."


def test_limit_and_offset_are_clamped(corpus, responder):
    page = article_search(query="database", user=responder, limit=-5, offset=-3)
    assert len(page.hits) == 1
    page = article_search(query="database", user=responder, limit=10_000, offset=10**9)
    assert page.hits == []


def test_parse_query_reads_phrases_exclusions_and_stop_words():
    parsed = parse_query('Checkout "connection pool" -redis -"read replica" after the deploy')
    assert parsed.words == ("checkout", "deploy")
    assert parsed.phrases == ("connection pool",)
    assert parsed.excluded == ("redis", "read replica")
    assert parse_query("the of and").only_stop_words is True


# --- query counts ----------------------------------------------------------------------------


def test_search_costs_a_constant_number_of_queries(corpus, responder, django_assert_num_queries):
    # Warm the per-request cache of the user's teams outside the count.
    article_search(query="database", user=responder)
    with django_assert_num_queries(5):  # vocabulary, ranked ids, articles, services, tags
        few = article_search(query="nxdomain", user=responder)
    with django_assert_num_queries(5):
        many = article_search(query="database latency customers", user=responder)
    assert len(few.hits) == 1
    assert len(many.hits) > 4
