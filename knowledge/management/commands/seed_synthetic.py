"""Bulk-load realistic synthetic articles for search benchmarks.

Text is drawn from a Zipf-like vocabulary of operations words (plus a long tail of rarer
identifiers), so some words appear in most articles, as in real text. Three words are placed at
known rates for the benchmark's query classes: COMMON_TERM in ~70% of articles, MEDIUM_TERM in
~30%, RARE_TERM in ~0.2%. Articles are slugged `syn-<n>-…`, so a later run adds to them.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import timedelta
from itertools import accumulate
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify

from kbsite.models import Service, Tag, Team
from knowledge.models import REVIEW_CADENCE, Article, ArticleState, KnowledgeType
from knowledge.search import index_articles

COMMON_TERM = "upstream"  # ~70% of articles
MEDIUM_TERM = "throttling"  # ~30%
RARE_TERM = "zookeeper"  # ~0.2%
SLUG_PREFIX = "syn-"
SEARCH_INDEXES = ["knowledge_article_search_gin", "knowledge_article_search_head"]
ANALYZED_TABLES = ("knowledge_article", "knowledge_article_tags", "knowledge_article_services")
BULK_REBUILD_FROM = 5000  # articles

SERVICES = {
    "checkout": "Payments",
    "payments-api": "Payments",
    "ledger": "Payments",
    "api-gateway": "Platform",
    "kubernetes": "Platform",
    "postgres-main": "Platform",
    "deploy-pipeline": "Platform",
    "auth": "Identity",
    "search-api": "Search",
    "indexer": "Search",
    "notifications": "Platform",
    "billing": "Payments",
}
TAGS = [
    "tls", "dns", "database", "deploy", "rollback", "kubernetes", "networking", "cache",
    "queue", "latency", "memory", "disk", "certificates", "config", "capacity", "security",
]  # fmt: skip
COMPONENTS = [
    "connection pool", "load balancer", "TLS certificate", "DNS resolver", "Redis cache",
    "Kafka consumer", "readiness probe", "node pool", "primary database", "read replica",
    "message queue", "CDN edge", "cron job", "ingress controller", "service mesh sidecar",
]  # fmt: skip
FAILURES = [
    "runs out of connections", "expired overnight", "stops responding", "fills its disk",
    "drops messages", "rejects writes", "loses its leader", "leaks memory",
    "returns stale data", "times out under load",
]  # fmt: skip
TRIGGERS = [
    "deploy", "config change", "failover", "traffic spike", "certificate rotation",
    "schema migration", "node drain", "autoscaling event", "dependency upgrade", "DNS change",
]  # fmt: skip
CODES = ["500", "502", "503", "504", "429", "401", "403"]
TITLES = [
    "{service} returns {code} after {trigger}",
    "{component} {failure} on {service}",
    "Timeouts calling the {component} from {service}",
    "{service} error rate climbs during {trigger}",
    "How to recover {service} when the {component} {failure}",
    "Runbook: {trigger} for {service}",
]
# Frequent words first: rank r is drawn with weight 1 / r^1.07.
CORE_WORDS = [
    "request",
    "service",
    "error",
    "latency",
    "deploy",
    "pod",
    "database",
    "connection",
    "timeout",
    "cluster",
    "node",
    "config",
    "traffic",
    "client",
    "server",
    "response",
    "retry",
    "cache",
    "queue",
    "worker",
    "memory",
    "disk",
    "cpu",
    "metric",
    "alert",
    "dashboard",
    "log",
    "trace",
    "replica",
    "primary",
    "query",
    "index",
    "lock",
    "transaction",
    "session",
    "token",
    "certificate",
    "dns",
    "network",
    "packet",
    "proxy",
    "gateway",
    "route",
    "release",
    "version",
    "rollback",
    "canary",
    "probe",
    "health",
    "check",
    "job",
    "schedule",
    "batch",
    "consumer",
    "producer",
    "topic",
    "partition",
    "offset",
    "lag",
    "throughput",
    "capacity",
    "limit",
    "quota",
    "pool",
    "thread",
    "heap",
    "garbage",
    "collection",
    "restart",
    "crash",
    "loop",
    "backoff",
    "scale",
    "replica",
    "shard",
    "migration",
    "schema",
    "table",
    "row",
    "column",
    "backup",
    "restore",
    "snapshot",
    "volume",
    "mount",
    "permission",
    "role",
    "secret",
    "key",
    "rotation",
    "expiry",
    "renewal",
    "handshake",
    "cipher",
    "protocol",
    "header",
    "payload",
    "body",
    "status",
    "code",
    "failure",
    "incident",
    "outage",
    "degradation",
    "recovery",
    "mitigation",
    "escalation",
    "runbook",
    "oncall",
    "pager",
    "customer",
    "user",
    "order",
    "payment",
    "checkout",
    "cart",
    "invoice",
    "ledger",
    "account",
    "balance",
    "refund",
    "webhook",
    "callback",
    "endpoint",
    "api",
    "version",
    "contract",
    "timeout",
    "budget",
    "objective",
    "availability",
    "saturation",
    "error",
    "budget",
    "burn",
    "rate",
]


def _tail_words(count: int, rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "dre", "sto", "vin", "qua", "rel", "zen", "pol", "tur", "bex"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        vocabulary = CORE_WORDS + _tail_words(20_000, self.rng)
        self.vocabulary = vocabulary
        self.cumulative = list(
            accumulate(1 / (rank**1.07) for rank in range(1, len(vocabulary) + 1))
        )

    def words(self, count: int) -> str:
        return " ".join(self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count))

    def paragraph(self, sentences: int) -> str:
        out = []
        for _ in range(sentences):
            text = self.words(self.rng.randint(8, 16))
            out.append(text[0].upper() + text[1:] + ".")
        return " ".join(out)

    def article(self, n: int) -> dict[str, Any]:
        rng = self.rng
        service = rng.choice(list(SERVICES))
        slots = {
            "service": service,
            "component": rng.choice(COMPONENTS),
            "failure": rng.choice(FAILURES),
            "trigger": rng.choice(TRIGGERS),
            "code": rng.choice(CODES),
        }
        title = rng.choice(TITLES).format(**slots)
        title = title[0].upper() + title[1:]
        symptoms = (
            f"{service} answers {slots['code']} for some requests; the {slots['component']} "
            f"{slots['failure']}. " + self.paragraph(2)
        )
        body_parts = [self.paragraph(rng.randint(4, 8)) for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.70:
            body_parts.insert(rng.randrange(len(body_parts) + 1), f"The {COMMON_TERM} call failed.")
        if rng.random() < 0.30:
            body_parts.append(f"We saw {MEDIUM_TERM} from the provider.")
        if rng.random() < 0.002:
            body_parts.append(f"The {RARE_TERM} ensemble lost quorum.")
        return {
            "title": title[:200],
            "symptoms": symptoms,
            "environment": f"Production, {service} in region eu-{rng.randint(1, 3)}.",
            "cause": f"The {slots['component']} {slots['failure']} after the {slots['trigger']}. "
            + self.paragraph(2),
            "resolution": self.paragraph(3),
            "prevention": self.paragraph(2),
            "body": "\n\n".join(body_parts),
            "service": service,
            "tags": rng.sample(TAGS, rng.randint(1, 3)),
            "knowledge_type": rng.choices(KnowledgeType.values, weights=[70, 15, 10, 5], k=1)[0],
            "state": rng.choices(ArticleState.values, weights=[5, 3, 88, 4], k=1)[
                0
            ],  # draft, in_review, published, archived
        }


def _search_index_definitions() -> list[tuple[str, str]]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [SEARCH_INDEXES]
        )
        return list(cursor.fetchall())


def _progress(done: int, total: int, started: float, stream: Any) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    stream.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} articles "
        f"{rate:,.0f}/s {elapsed:,.0f}s"
    )
    stream.flush()


class Command(BaseCommand):
    help = "Bulk-load N synthetic articles (Zipf-like text) and index them for search."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--articles", type=int, required=True, help="How many to add.")
        parser.add_argument("--batch", type=int, default=2000, help="Rows per insert.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed.")
        parser.add_argument(
            "--total", action="store_true", help="Add only what brings the synthetic total to N."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted, batch = options["articles"], options["batch"]
        if wanted < 0 or batch < 1:
            raise CommandError("--articles must be >= 0 and --batch >= 1.")
        existing = Article.objects.filter(slug__startswith=SLUG_PREFIX).count()
        count = max(0, wanted - existing) if options["total"] else wanted
        if count == 0:
            self.stdout.write(f"seed_synthetic: {existing} synthetic articles already; none added.")
            return
        author, services, tags = self._catalog()
        generator = Generator(options["seed"] + existing)
        show = sys.stderr.isatty() or options.get("verbosity", 1) > 1
        started = time.monotonic()
        # GIN indexes slow a bulk load down as they grow (~400 rows/s falling to ~250 at 100k):
        # for a large load, drop them and build each once at the end.
        rebuild = _search_index_definitions() if count >= BULK_REBUILD_FROM else []
        with connection.cursor() as cursor:
            for name, _ in rebuild:
                cursor.execute(f"DROP INDEX {name}")
        try:
            done = 0
            while done < count:
                size = min(batch, count - done)
                self._insert_batch(generator, existing + done, size, author, services, tags)
                done += size
                if show:
                    _progress(done, count, started, sys.stderr)
            if show:
                sys.stderr.write("\n")
        finally:
            with connection.cursor() as cursor:
                for name, definition in rebuild:
                    self.stdout.write(f"seed_synthetic: building {name}…")
                    cursor.execute("SET maintenance_work_mem = '256MB'")
                    cursor.execute(definition)
                if connection.vendor == "postgresql":
                    # Fresh statistics, or the planner misjudges the new rows (and the M2M
                    # prefetches of a search page go parallel: +10 ms).
                    for table in ANALYZED_TABLES:
                        cursor.execute(f"ANALYZE {table}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"seed_synthetic: added {count} articles in {elapsed:.1f}s "
            f"({existing + count} synthetic in total)."
        )

    def _catalog(self) -> tuple[Any, dict[str, Service], dict[str, Tag]]:
        user_model = get_user_model()
        author, _ = user_model.objects.get_or_create(
            username="synthetic-author", defaults={"first_name": "Synthetic", "is_active": False}
        )
        teams = {
            name: Team.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
            for name in sorted(set(SERVICES.values()))
        }
        services = {
            slug: Service.objects.get_or_create(
                slug=slug, defaults={"name": slug, "team": teams[team]}
            )[0]
            for slug, team in SERVICES.items()
        }
        tags = {
            name: Tag.objects.filter(slug=slugify(name)).first()
            or Tag.objects.create(name=name, slug=slugify(name))
            for name in TAGS
        }
        return author, services, tags

    def _insert_batch(
        self,
        generator: Generator,
        start: int,
        size: int,
        author: Any,
        services: dict[str, Service],
        tags: dict[str, Tag],
    ) -> None:
        now = timezone.now()
        rows = [generator.article(start + i) for i in range(size)]
        articles = []
        for i, row in enumerate(rows):
            updated = now - generator.rng.random() * timedelta(days=730)
            published = row["state"] in (ArticleState.PUBLISHED, ArticleState.ARCHIVED)
            content = {
                k: row[k]
                for k in ("symptoms", "environment", "cause", "resolution", "prevention", "body")
            }
            articles.append(
                Article(
                    title=row["title"],
                    slug=f"{SLUG_PREFIX}{start + i}-{slugify(row['title'])[:150]}",
                    knowledge_type=row["knowledge_type"],
                    state=row["state"],
                    team=services[row["service"]].team,
                    tags_text=" ".join(row["tags"]),
                    author=author,
                    rendered={k: f"<p>{escape(v)}</p>" for k, v in content.items()},
                    published_at=updated if published else None,
                    last_reviewed_at=updated if published else None,
                    review_due=(
                        updated + REVIEW_CADENCE[KnowledgeType(row["knowledge_type"])]
                    ).date()
                    if row["state"] == ArticleState.PUBLISHED
                    else None,
                    helpful_count=int(generator.rng.paretovariate(1.5)) - 1,
                    created_at=updated,
                    updated_at=updated,
                    **content,
                )
            )
        with transaction.atomic():
            created = Article.objects.bulk_create(articles)
            service_links = Article.services.through
            tag_links = Article.tags.through
            service_links.objects.bulk_create(
                [
                    service_links(article_id=a.pk, service_id=services[row["service"]].pk)
                    for a, row in zip(created, rows, strict=True)
                ]
            )
            tag_links.objects.bulk_create(
                [
                    tag_links(article_id=a.pk, tag_id=tags[name].pk)
                    for a, row in zip(created, rows, strict=True)
                    for name in row["tags"]
                ]
            )
            index_articles(article_ids=[a.pk for a in created])
