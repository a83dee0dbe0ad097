"""The demo's knowledge articles, hand-written in the KCS structure (seeded by knowledge.demo)."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.models import ArticleState, KnowledgeType


@dataclass(frozen=True)
class DemoArticle:
    title: str
    knowledge_type: str
    author: str
    team: str
    services: tuple[str, ...]
    tags: tuple[str, ...]
    symptoms: str = ""
    environment: str = ""
    cause: str = ""
    resolution: str = ""
    prevention: str = ""
    body: str = ""
    state: str = ArticleState.PUBLISHED
    overdue: bool = False
    flag: str = ""  # an "outdated" comment left by oscar
    helpful_votes: tuple[str, ...] = field(default=())


T = KnowledgeType

ARTICLES = [
    DemoArticle(
        title="Checkout returns 503 right after a deploy",
        knowledge_type=T.TECHNICAL,
        author="rita",
        team="payments",
        services=("checkout", "deploy-pipeline"),
        tags=("deploy", "rollback", "latency"),
        symptoms=(
            "- Checkout answers **HTTP 503** for one to five minutes after a rollout starts.\n"
            "- The api-gateway logs `upstream connect error or disconnect/reset before headers`.\n"
            "- Error rate on the *Checkout* dashboard spikes, then recovers without action."
        ),
        environment="Production, checkout v4.x on Kubernetes behind the api-gateway.",
        cause=(
            "The readiness probe hits `/healthz`, which answers 200 before the connection pool "
            "to payments-api is warm. New pods receive traffic while old pods are already "
            "draining, so requests queue and time out."
        ),
        resolution=(
            "1. Pause the rollout: `kubectl -n checkout rollout pause deploy/checkout`.\n"
            "2. If errors stay above 2 %, roll back (see *Rolling back a production deploy*).\n"
            "3. Point the readiness probe at `/readyz`, which checks the pool, and redeploy."
        ),
        prevention=(
            "Readiness probes check dependencies; `maxUnavailable: 0` and `maxSurge: 25%` on "
            "every customer-facing deployment; the pipeline's canary step watches 5xx."
        ),
        helpful_votes=("rob", "erin", "maya"),
    ),
    DemoArticle(
        title="Expired TLS certificate on the api-gateway",
        knowledge_type=T.TECHNICAL,
        author="erin",
        team="platform",
        services=("api-gateway", "auth"),
        tags=("tls", "certificate"),
        symptoms=(
            "Clients fail with `certificate has expired` or `SSL_ERROR_EXPIRED_CERT_ALERT`; "
            "mobile apps show *Cannot connect*; synthetic checks fail on every region at once."
        ),
        environment="Edge proxies terminating TLS for `api.example.com` and `auth.example.com`.",
        cause=(
            "The certificate was renewed by cert-manager but the gateway kept serving the old "
            "one: the secret changed, and the proxy only reloads certificates on restart."
        ),
        resolution=(
            "1. Check what is served: `openssl s_client -connect api.example.com:443 "
            "-servername api.example.com | openssl x509 -noout -dates`.\n"
            "2. Confirm the secret holds the new certificate.\n"
            "3. Restart the gateway pods one zone at a time: "
            "`kubectl -n edge rollout restart deploy/gateway`."
        ),
        prevention=(
            "Alert 21 days before expiry on the certificate *served*, not the one stored; the "
            "gateway now watches its secret and reloads without a restart."
        ),
        helpful_votes=("rita", "maya"),
    ),
    DemoArticle(
        title="PostgreSQL connection pool exhaustion",
        knowledge_type=T.TECHNICAL,
        author="erin",
        team="platform",
        services=("postgres-main", "payments-api", "ledger"),
        tags=("database", "capacity", "timeout"),
        symptoms=(
            "- Services log `remaining connection slots are reserved` or pool timeouts.\n"
            "- p99 latency climbs on every service that uses postgres-main at once.\n"
            "- `pg_stat_activity` shows many sessions `idle in transaction`."
        ),
        environment="postgres-main primary (max_connections 400) behind PgBouncer.",
        cause=(
            "A batch job opened a transaction per row and held it while calling an external "
            "API, pinning server connections; PgBouncer in session mode could not reuse them."
        ),
        resolution=(
            "1. Find the holders: `SELECT pid, application_name, state, now() - xact_start "
            "FROM pg_stat_activity ORDER BY 4 DESC LIMIT 20;`\n"
            "2. Stop the offending job, then `SELECT pg_terminate_backend(pid)` for sessions "
            "idle in transaction for more than 5 minutes.\n"
            "3. Watch `cl_waiting` in `SHOW POOLS;` fall back to zero."
        ),
        prevention=(
            "`idle_in_transaction_session_timeout = 60s`; PgBouncer in transaction mode; batch "
            "jobs use their own pool with a hard limit."
        ),
        helpful_votes=("rita", "rob"),
    ),
    DemoArticle(
        title="Kubernetes node memory pressure and OOMKilled pods",
        knowledge_type=T.TECHNICAL,
        author="maya",
        team="platform",
        services=("kubernetes",),
        tags=("memory", "capacity"),
        symptoms=(
            "Pods restart with reason `OOMKilled`; nodes report `MemoryPressure=True` and "
            "evict pods; several unrelated services flap on the same nodes."
        ),
        environment="Production node pool `general`, 16 GiB nodes.",
        cause=(
            "Pods without memory limits were scheduled by their requests (256 MiB) but grew to "
            "3 GiB under load, overcommitting the node."
        ),
        resolution=(
            "1. `kubectl top pods -A --sort-by=memory | head` to find the growers.\n"
            "2. Cordon the worst node: `kubectl cordon <node>` and let evicted pods reschedule.\n"
            "3. Set requests near real usage and a limit on the offending deployment."
        ),
        prevention=(
            "A LimitRange gives every namespace default requests and limits; the capacity "
            "dashboard alerts when requested memory passes 85 % of allocatable."
        ),
        flag="Since the move to 32 GiB nodes the thresholds and node pool name are different.",
    ),
    DemoArticle(
        title="Redis cache stampede after a cache flush",
        knowledge_type=T.TECHNICAL,
        author="rita",
        team="payments",
        services=("checkout", "payments-api"),
        tags=("cache", "latency", "database"),
        symptoms=(
            "Right after a deploy or a Redis failover, database CPU jumps to 100 % and checkout "
            "latency goes from 200 ms to several seconds; the cache hit rate drops to near 0."
        ),
        environment="Redis 7 cache in front of the product and price lookups.",
        cause=(
            "Every key expired at once (same TTL, set during a warm-up) and thousands of "
            "requests recomputed the same values concurrently."
        ),
        resolution=(
            "1. Shed load: enable the `checkout.degraded_prices` flag to serve stale prices.\n"
            "2. Warm the hot keys with `manage.py warm_price_cache --top 5000`.\n"
            "3. Turn the flag off once the hit rate is above 90 %."
        ),
        prevention=(
            "TTLs carry random jitter (±10 %); recomputation takes a per-key lock "
            "(single flight); stale-while-revalidate for price lookups."
        ),
        overdue=True,
    ),
    DemoArticle(
        title="DNS resolution failures inside the cluster",
        knowledge_type=T.TECHNICAL,
        author="erin",
        team="platform",
        services=("kubernetes", "api-gateway"),
        tags=("dns", "timeout"),
        symptoms=(
            "Intermittent `getaddrinfo EAI_AGAIN` and 5 s stalls on outbound calls; failures "
            "cluster on a few nodes; CoreDNS pods show high CPU."
        ),
        environment="Production clusters using CoreDNS with the default `ndots:5`.",
        cause=(
            "`ndots:5` makes every external lookup try five search domains first, multiplying "
            "queries; conntrack races on UDP dropped some of them."
        ),
        resolution=(
            "1. Scale CoreDNS: `kubectl -n kube-system scale deploy/coredns --replicas=6`.\n"
            "2. For the affected workloads set `dnsConfig.options: ndots: 2`.\n"
            "3. Use fully qualified names (trailing dot) for external hosts in config."
        ),
        prevention="NodeLocal DNSCache on every node; CoreDNS autoscaled by cluster size.",
        helpful_votes=("maya",),
    ),
    DemoArticle(
        title="Rolling back a production deploy",
        knowledge_type=T.PROCESS,
        author="maya",
        team="platform",
        services=("deploy-pipeline", "kubernetes"),
        tags=("deploy", "rollback"),
        symptoms="Use when a release makes errors or latency worse and a fix is not minutes away.",
        environment="Every service released through the deploy pipeline.",
        resolution=(
            "1. Say in the incident channel that you are rolling back, and which version.\n"
            "2. In the pipeline, open the service and press **Roll back** on the previous "
            "green release; or run `deployctl rollback <service> --to previous`.\n"
            "3. Watch the error rate for 10 minutes.\n"
            "4. Block the bad release: `deployctl block <service> <version>`.\n"
            "5. Note the rollback in the incident timeline."
        ),
        prevention=(
            "Database migrations must be backward compatible for one release, so that a "
            "rollback never needs a schema change."
        ),
        body=(
            "## When not to roll back\n\n"
            "If the release ran a migration that dropped or rewrote data, roll **forward** "
            "with a fix instead, and page the database on-call."
        ),
        helpful_votes=("rita", "rob", "erin", "oscar"),
    ),
    DemoArticle(
        title="On-call escalation process",
        knowledge_type=T.PROCESS,
        author="maya",
        team="platform",
        services=(),
        tags=("queue",),
        symptoms="Use when you are paged and the problem is outside your service or your depth.",
        resolution=(
            "1. Acknowledge the page within 5 minutes.\n"
            "2. Declare a severity: SEV1 customer-facing outage, SEV2 degraded, SEV3 internal.\n"
            "3. SEV1/SEV2: open an incident channel and name an incident commander.\n"
            "4. Escalate to the owning team's on-call through the paging tool; if nobody "
            "answers in 10 minutes, page their engineering manager.\n"
            "5. Post an update every 30 minutes until mitigated."
        ),
        body=(
            "| Severity | Who is paged | Update interval |\n"
            "|---|---|---|\n"
            "| SEV1 | owning team, incident commander, comms | 30 min |\n"
            "| SEV2 | owning team, incident commander | 60 min |\n"
            "| SEV3 | owning team (business hours) | daily |"
        ),
    ),
    DemoArticle(
        title="Runbook: spike in card declines",
        knowledge_type=T.PROCESS,
        author="rob",
        team="payments",
        services=("payments-api",),
        tags=("rate-limit", "latency"),
        symptoms=(
            "The decline rate on the *Authorisation* dashboard goes above 15 % (normal 4–6 %) "
            "for more than 5 minutes."
        ),
        environment="payments-api routing to two acquirers.",
        cause=(
            "Usually one of: an acquirer outage, expired acquirer credentials, a fraud rule "
            "deployed too strict, or an issuer outage in one country."
        ),
        resolution=(
            "1. Split declines by acquirer and by decline code.\n"
            "2. One acquirer with `91`/`96` codes: switch its traffic with "
            "`paymentsctl route --acquirer b --share 100`.\n"
            "3. Code `59` (suspected fraud) everywhere: roll back the latest fraud rule.\n"
            "4. One issuer country only: nothing to fix here; post a status note."
        ),
        helpful_votes=("rita",),
    ),
    DemoArticle(
        title="Search indexer lag",
        knowledge_type=T.TECHNICAL,
        author="oscar",
        team="search",
        services=("indexer", "search-api"),
        tags=("queue", "latency"),
        symptoms=(
            "New or changed products take more than 10 minutes to appear in search; the "
            "`indexer_consumer_lag` metric climbs steadily."
        ),
        environment="Indexer consuming the catalog change stream, 12 partitions.",
        cause=(
            "A bulk price import produced 2 million change events in minutes; the indexer "
            "processed them one by one, with a refresh after each write."
        ),
        resolution=(
            "1. Switch the indexer to bulk mode: `indexerctl mode bulk`.\n"
            "2. Raise the index refresh interval to 30 s until the lag is gone.\n"
            "3. Return to normal mode and a 1 s refresh."
        ),
        prevention="Bulk imports go through the bulk topic, which the indexer batches.",
        helpful_votes=("erin",),
    ),
    DemoArticle(
        title="Rate limits misconfigured on the api-gateway",
        knowledge_type=T.TECHNICAL,
        author="erin",
        team="platform",
        services=("api-gateway",),
        tags=("rate-limit", "config"),
        symptoms=(
            "Legitimate partners receive **429 Too Many Requests** far below their contract "
            "limits; the gateway's `ratelimit_rejected_total` jumps after a config release."
        ),
        cause=(
            "The limit was written per second instead of per minute (`rate: 100/s` became "
            "`100/m`), and the config test checked syntax only."
        ),
        resolution=(
            "1. Revert the gateway config release: `gatewayctl config rollback`.\n"
            "2. Confirm 429s fall on the partner dashboard.\n"
            "3. Tell affected partners with the incident reference."
        ),
        prevention="Config tests replay a day of partner traffic against the new limits.",
    ),
    DemoArticle(
        title="Sign-in fails after an OAuth signing key rotation",
        knowledge_type=T.TECHNICAL,
        author="rob",
        team="identity",
        services=("auth",),
        tags=("certificate", "config"),
        symptoms="Users are signed out and cannot sign in; services log `invalid token signature`.",
        cause=(
            "The new signing key was used before every service had fetched the new JWKS; "
            "services cache the key set for 24 hours."
        ),
        resolution=(
            "1. Switch signing back to the previous key (`authctl keys activate <previous>`).\n"
            "2. Publish both keys in the JWKS and wait for the cache time before switching."
        ),
        prevention="Rotation publishes the new key 48 hours before it signs anything.",
    ),
    DemoArticle(
        title="Reading a ledger imbalance alert",
        knowledge_type=T.REFERENCE,
        author="rita",
        team="payments",
        services=("ledger",),
        tags=("database",),
        symptoms="The nightly ledger check reports `imbalance != 0` for one or more accounts.",
        body=(
            "## What the numbers mean\n\n"
            "- **imbalance**: sum of debits minus credits for the account and day, in cents.\n"
            "- **orphans**: entries without their counterpart, usually a failed capture.\n\n"
            "## First checks\n\n"
            "1. Orphans only: re-run `ledgerctl reconcile --day <day>`.\n"
            "2. Imbalance without orphans: stop and call the ledger owner; never edit entries."
        ),
    ),
    DemoArticle(
        title="Kafka consumer group stuck rebalancing",
        knowledge_type=T.EXPERTISE,
        author="oscar",
        team="search",
        services=("indexer",),
        tags=("queue",),
        symptoms="Consumer lag grows while consumers log endless `Rebalance in progress`.",
        cause=(
            "Processing a batch takes longer than `max.poll.interval.ms`, so the broker "
            "evicts the consumer, which rejoins and triggers another rebalance."
        ),
        resolution="Lower `max.poll.records` or raise `max.poll.interval.ms`; then restart.",
        state=ArticleState.IN_REVIEW,
    ),
    DemoArticle(
        title="Disk full on the PostgreSQL WAL volume",
        knowledge_type=T.TECHNICAL,
        author="erin",
        team="platform",
        services=("postgres-main",),
        tags=("database", "capacity"),
        symptoms="Writes fail with `could not write to file pg_wal/...: No space left on device`.",
        cause="An abandoned replication slot kept WAL from being recycled.",
        resolution=(
            "Drop the unused slot: `SELECT pg_drop_replication_slot('<name>');` (check with "
            "the owner of the slot first)."
        ),
        state=ArticleState.DRAFT,
    ),
]
