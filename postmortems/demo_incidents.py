"""The demo's incidents: hand-written failure modes, and the forty times they happened.

Each failure mode (`Scenario`) is written once, the way a team would write it up; `OCCURRENCES`
says when each recurred, how bad it was, how long it took, whether knowledge helped, and how far
its postmortem got. Recurring modes (same category and service) give the repeat and time-saved
KPIs their trends: early occurrences resolve slowly without help, later ones faster with an
article marked helpful.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Finding outcomes: ("link", article slug), ("spawn",), ("none", reason), or None (undecided).
Outcome = tuple[str, ...] | None


@dataclass(frozen=True)
class DemoFinding:
    text: str
    kind: str
    outcome: Outcome


@dataclass(frozen=True)
class Scenario:
    title: str
    team: str
    services: tuple[str, ...]
    tags: tuple[str, ...]
    category: str
    detect_minutes: int
    summary: str
    sections: dict[str, str]
    findings: tuple[DemoFinding, ...]
    actions: tuple[tuple[str, str], ...]  # (title, priority)
    timeline: tuple[tuple[float, str, str], ...]  # (fraction of time to resolve, kind, text)
    used_article: str = ""  # slug of the article responders reach for


@dataclass(frozen=True)
class Occurrence:
    number: int
    scenario: str
    days_ago: int
    severity: str
    minutes_to_resolve: int | None  # None: still open
    state: str | None  # postmortem state, None: no postmortem yet
    helped: bool | None = None  # an article use recorded, and whether it helped
    minutes_saved: int | None = None
    status: str = "resolved"
    review_comment: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # section overrides


SCENARIOS: dict[str, Scenario] = {
    "deploy-503": Scenario(
        title="Checkout returns 503 after a deploy",
        team="payments",
        services=("checkout", "deploy-pipeline"),
        tags=("deploy", "rollback"),
        category="binary-push",
        detect_minutes=4,
        summary="Checkout answered 503 to part of the traffic right after a routine deploy, "
        "until the release was rolled back.",
        sections={
            "summary": "A checkout release moved traffic to new pods before they could serve. "
            "Checkout answered 503 until the deploy was rolled back.",
            "impact": "Between 2% and 11% of checkout attempts failed. Customers could retry; "
            "no payment was taken twice.",
            "root_causes": "The readiness probe checked the process, not the downstream "
            "connection pool, so pods were marked ready while still warming up. The rollout "
            "had no canary step that would have caught the error rate.",
            "detection": "The checkout 5xx alert fired a few minutes after the rollout began.",
            "response": "The on-call rolled back with the pipeline's one-click rollback; the "
            "error rate returned to baseline within two minutes.",
            "went_well": "Rollback was fast and well understood.",
            "went_wrong": "The alert did not link the deploy that had just happened, so the "
            "first minutes went into looking at the database.",
            "lucky": "The deploy went out outside the lunchtime peak.",
            "lessons": "Readiness must reflect the ability to serve real requests; progressive "
            "rollouts need an automatic error-rate gate.",
        },
        findings=(
            DemoFinding(
                "Readiness probe reported ready before the connection pool was warm.",
                "root_cause",
                ("link", "checkout-returns-503-right-after-a-deploy"),
            ),
            DemoFinding(
                "Rollback by the pipeline took under two minutes and needed no approval.",
                "what_worked",
                ("link", "rolling-back-a-production-deploy"),
            ),
        ),
        actions=(
            ("Make the checkout readiness probe exercise the connection pool", "p1"),
            ("Add a 5% canary step with an automatic error-rate gate", "p2"),
        ),
        timeline=(
            (0.0, "action", "Release rolled out to production by the pipeline."),
            (0.05, "detection", "Checkout 5xx alert fired; on-call acknowledged."),
            (
                0.3,
                "escalation",
                "Payments on-call paged the Platform on-call to check the pipeline.",
            ),
            (0.7, "action", "Rollback started from the pipeline."),
            (1.0, "resolution", "Error rate back to baseline; incident resolved."),
        ),
        used_article="checkout-returns-503-right-after-a-deploy",
    ),
    "tls-expiry": Scenario(
        title="Expired TLS certificate on the api-gateway",
        team="platform",
        services=("api-gateway",),
        tags=("tls", "certificate"),
        category="certificate-credential-expiry",
        detect_minutes=9,
        summary="The wildcard certificate on the api-gateway expired; clients failed the TLS "
        "handshake until a renewed certificate was deployed.",
        sections={
            "summary": "The api-gateway served an expired certificate. Every HTTPS client "
            "failed the handshake until the renewed certificate was installed.",
            "impact": "All public API and web traffic failed for the duration. Mobile apps "
            "showed a generic network error.",
            "root_causes": "Renewal was automated, but the renewed certificate was written to a "
            "secret the gateway did not reload. Expiry monitoring watched the secret, not the "
            "certificate actually served.",
            "detection": "Customer support reported failures before any alert fired.",
            "response": "The renewed certificate was copied into the gateway's secret and the "
            "gateway pods were restarted one zone at a time.",
            "went_well": "The renewed certificate already existed, so no CA round trip was needed.",
            "went_wrong": "No synthetic check looked at the served certificate's expiry.",
            "lucky": "It expired on a weekday morning with the whole team online.",
            "lessons": "Monitor what clients see, not what the automation believes it did.",
        },
        findings=(
            DemoFinding(
                "Expiry monitoring checked the secret, not the certificate served on port 443.",
                "detection_gap",
                ("link", "expired-tls-certificate-on-the-api-gateway"),
            ),
            DemoFinding(
                "The gateway does not hot-reload certificates from its secret.",
                "root_cause",
                ("link", "expired-tls-certificate-on-the-api-gateway"),
            ),
        ),
        actions=(
            ("Synthetic probe alerting 14 days before the served certificate expires", "p1"),
            ("Enable certificate hot reload on the gateway", "p2"),
        ),
        timeline=(
            (0.0, "detection", "Support reported that the mobile app cannot connect."),
            (0.1, "escalation", "Incident declared; Platform on-call took command."),
            (0.4, "action", "Confirmed the served certificate expired at 00:00 UTC."),
            (0.8, "action", "Renewed certificate installed; rolling restart of gateway pods."),
            (1.0, "resolution", "Handshakes succeed in every zone."),
        ),
        used_article="expired-tls-certificate-on-the-api-gateway",
    ),
    "pg-pool": Scenario(
        title="PostgreSQL connection pool exhausted",
        team="platform",
        services=("postgres-main", "payments-api"),
        tags=("database", "timeout"),
        category="capacity-load",
        detect_minutes=6,
        summary="The payments API ran out of database connections during a traffic peak; "
        "requests timed out until the pool was resized and idle transactions were killed.",
        sections={
            "summary": "During the evening peak every connection in the payments API's pool "
            "was held, and new requests timed out waiting for one.",
            "impact": "About a third of card authorisations timed out for the duration.",
            "root_causes": "A reporting job held long transactions on the primary, and the pool "
            "had no timeout for idle-in-transaction sessions.",
            "detection": "The payments latency alert fired; the pool saturation dashboard "
            "confirmed it.",
            "response": "Idle-in-transaction sessions were terminated and the reporting job was "
            "moved to a replica.",
            "went_well": "The saturation dashboard made the cause visible within minutes.",
            "went_wrong": "The pool size was a hard-coded value nobody had revisited in a year.",
            "lucky": "The reporting job could be paused without business impact.",
            "lessons": "Long transactions on the primary are a shared-capacity risk; cap them.",
        },
        findings=(
            DemoFinding(
                "No idle_in_transaction_session_timeout on the primary.",
                "root_cause",
                ("link", "postgresql-connection-pool-exhaustion"),
            ),
            DemoFinding(
                "Reporting queries ran on the primary instead of a replica.",
                "contributing_factor",
                ("none", "Covered by the action item to move reporting to a replica."),
            ),
        ),
        actions=(
            ("Set idle_in_transaction_session_timeout to 60 s on the primary", "p1"),
            ("Move the reporting job to a read replica", "p2"),
        ),
        timeline=(
            (0.0, "detection", "Payments p99 latency alert fired."),
            (0.2, "action", "Pool saturation at 100%; long transactions found from reporting."),
            (0.6, "action", "Idle-in-transaction sessions terminated; reporting paused."),
            (1.0, "resolution", "Latency back to normal."),
        ),
        used_article="postgresql-connection-pool-exhaustion",
    ),
    "oom": Scenario(
        title="Pods OOMKilled under node memory pressure",
        team="platform",
        services=("kubernetes",),
        tags=("memory", "capacity"),
        category="capacity-load",
        detect_minutes=5,
        summary="A node pool ran out of memory; the kubelet evicted and OOMKilled pods of "
        "several services until the pool was scaled out.",
        sections={
            "summary": "Memory requests on one node pool were set far below real usage, so the "
            "scheduler over-packed nodes and the kernel killed pods under pressure.",
            "impact": "Restarts of search and checkout pods caused short bursts of errors.",
            "root_causes": "Memory requests did not match usage after a library upgrade "
            "doubled the heap.",
            "detection": "The pod restart alert fired for several namespaces at once.",
            "response": "The node pool was scaled out and the affected deployments' requests "
            "raised.",
            "went_well": "The restart alert grouped namespaces, pointing at the node pool.",
            "went_wrong": "Requests were copied from an old manifest and never measured.",
            "lucky": "The cluster autoscaler had headroom in the region.",
            "lessons": "Requests must come from measured usage, reviewed after upgrades.",
        },
        findings=(
            DemoFinding(
                "Memory requests set from an old manifest, not measured usage.",
                "root_cause",
                ("link", "kubernetes-node-memory-pressure-and-oomkilled-pods"),
            ),
        ),
        actions=(
            ("Alert when a namespace's memory usage exceeds its requests by 30%", "p2"),
            ("Review memory requests after every runtime upgrade", "p3"),
        ),
        timeline=(
            (0.0, "detection", "Pod restart alert fired for three namespaces."),
            (0.3, "action", "Node memory pressure confirmed on pool general-2."),
            (0.7, "action", "Node pool scaled from 6 to 9 nodes."),
            (1.0, "resolution", "No more evictions for 15 minutes."),
        ),
        used_article="kubernetes-node-memory-pressure-and-oomkilled-pods",
    ),
    "cache-stampede": Scenario(
        title="Cache stampede after a Redis flush",
        team="payments",
        services=("checkout", "payments-api"),
        tags=("cache", "latency"),
        category="process-procedure",
        detect_minutes=3,
        summary="A manual cache flush during maintenance sent every request to the database at "
        "once; checkout latency climbed until the cache warmed again.",
        sections={
            "summary": "The maintenance runbook flushed the whole Redis cache. The database "
            "took the full read load and checkout slowed to a crawl.",
            "impact": "Checkout p99 latency above 8 s; roughly 6% of checkouts abandoned.",
            "root_causes": "The runbook flushed all keys instead of the affected prefix, and "
            "cache misses had no request coalescing.",
            "detection": "The checkout latency alert fired three minutes after the flush.",
            "response": "Traffic to the catalog read path was rate-limited while the cache warmed.",
            "went_well": "Rate limiting bought time without a full outage.",
            "went_wrong": "The runbook step looked harmless and had no warning.",
            "lucky": "The flush happened at low traffic.",
            "lessons": "Flushes need a scoped command in the runbook and coalescing in code.",
        },
        findings=(
            DemoFinding(
                "The runbook's flush step cleared every key instead of one prefix.",
                "process_gap",
                ("link", "redis-cache-stampede-after-a-cache-flush"),
            ),
        ),
        actions=(
            ("Replace FLUSHALL in the runbook with a scoped delete script", "p1"),
            ("Add request coalescing to the catalog cache client", "p2"),
        ),
        timeline=(
            (0.0, "action", "Maintenance runbook step 4: cache flushed."),
            (0.1, "detection", "Checkout latency alert fired."),
            (0.5, "action", "Rate limit applied to catalog reads."),
            (1.0, "resolution", "Cache hit rate back above 95%; latency normal."),
        ),
        used_article="redis-cache-stampede-after-a-cache-flush",
    ),
    "dns": Scenario(
        title="DNS resolution failures inside the cluster",
        team="platform",
        services=("kubernetes", "api-gateway"),
        tags=("dns", "timeout"),
        category="network",
        detect_minutes=7,
        summary="CoreDNS pods were overloaded and dropped queries; services failed to resolve "
        "each other until CoreDNS was scaled and caching enabled.",
        sections={
            "summary": "Intermittent name resolution failures made calls between services time "
            "out across the cluster.",
            "impact": "Errors in every service that calls another by name, worst at the gateway.",
            "root_causes": "CoreDNS ran two replicas for a cluster that had tripled in size, and "
            "the ndots setting multiplied every lookup by five.",
            "detection": "Gateway upstream error alert, then many service alerts at once.",
            "response": "CoreDNS was scaled to six replicas and NodeLocal DNSCache enabled.",
            "went_well": "The DNS dashboard showed dropped queries immediately.",
            "went_wrong": "Many alerts at once made the common cause hard to spot.",
            "lucky": "A Platform engineer had seen the same pattern at a previous job.",
            "lessons": "Shared infrastructure must scale with the cluster, automatically.",
        },
        findings=(
            DemoFinding(
                "CoreDNS replica count was fixed while the cluster grew threefold.",
                "root_cause",
                ("link", "dns-resolution-failures-inside-the-cluster"),
            ),
        ),
        actions=(
            ("Autoscale CoreDNS with the cluster-proportional autoscaler", "p1"),
            ("Set ndots to 2 in the default pod DNS config", "p3"),
        ),
        timeline=(
            (0.0, "detection", "Gateway upstream errors alert fired."),
            (0.2, "escalation", "Several teams joined the incident channel with similar errors."),
            (0.5, "action", "Dropped DNS queries confirmed; CoreDNS scaled to six replicas."),
            (1.0, "resolution", "Resolution errors gone; services recovered."),
        ),
        used_article="dns-resolution-failures-inside-the-cluster",
    ),
    "card-declines": Scenario(
        title="Spike in card declines from the primary acquirer",
        team="payments",
        services=("payments-api",),
        tags=("timeout",),
        category="dependency-failure",
        detect_minutes=8,
        summary="The primary acquirer returned soft declines for a large share of "
        "authorisations; traffic was failed over to the secondary acquirer.",
        sections={
            "summary": "The primary acquirer degraded and declined valid cards with a generic "
            "code. Failing over to the secondary acquirer restored approvals.",
            "impact": "Approval rate fell from 94% to 71%; declined customers could retry.",
            "root_causes": "A provider-side incident at the acquirer. Our routing had no "
            "automatic failover on decline-rate anomalies.",
            "detection": "The approval-rate alert fired after eight minutes.",
            "response": "Routing switched to the secondary acquirer by feature flag.",
            "went_well": "The failover flag worked as designed.",
            "went_wrong": "The decision to fail over waited for the provider's status page.",
            "lucky": "The secondary acquirer had capacity for the full load.",
            "lessons": "Fail over on our own signal; the provider's status page lags.",
        },
        findings=(
            DemoFinding(
                "Decline spikes from one acquirer can be failed over without waiting for them.",
                "process_gap",
                ("link", "runbook-spike-in-card-declines"),
            ),
        ),
        actions=(
            ("Automatic acquirer failover when approvals drop 15 points in 5 minutes", "p2"),
            ("Agree an incident contact and SLA with the primary acquirer", "p3"),
        ),
        timeline=(
            (0.0, "detection", "Approval-rate alert fired."),
            (0.3, "communication", "Acquirer contacted; no status page update yet."),
            (0.6, "action", "Failover flag switched to the secondary acquirer."),
            (1.0, "resolution", "Approval rate back to 94%."),
        ),
        used_article="runbook-spike-in-card-declines",
    ),
    "indexer-lag": Scenario(
        title="Search results stale: indexer lag",
        team="search",
        services=("indexer", "search-api"),
        tags=("queue", "latency"),
        category="software-bug",
        detect_minutes=25,
        summary="The indexer's consumer group kept rebalancing and stopped making progress; "
        "search showed stale prices until the consumers were restarted with a longer poll "
        "interval.",
        sections={
            "summary": "A slow batch made consumers exceed the poll interval, triggering "
            "endless rebalances; the index fell hours behind.",
            "impact": "Search showed outdated prices and stock for up to three hours.",
            "root_causes": "Batch processing time grew with catalog size and crossed "
            "max.poll.interval.ms; rebalancing then restarted the slow batch.",
            "detection": "A merchant reported stale prices; the lag alert threshold was too high.",
            "response": "Consumers were restarted with a smaller batch and a longer poll interval.",
            "went_well": "The lag dashboard showed the exact start of the problem.",
            "went_wrong": "The lag alert only fired at six hours behind.",
            "lucky": "No price change that week was legally binding.",
            "lessons": "Alert on lag that customers would notice, in minutes, not hours.",
        },
        findings=(
            DemoFinding(
                "Consumer batches exceeded max.poll.interval.ms and rebalanced forever.",
                "root_cause",
                ("link", "search-indexer-lag"),
            ),
            DemoFinding(
                "The lag alert fired at six hours, long after customers noticed.",
                "detection_gap",
                ("none", "The alert threshold change is tracked as an action item."),
            ),
        ),
        actions=(
            ("Lower the indexer lag alert to 15 minutes", "p1"),
            ("Bound indexer batch size by processing time", "p2"),
        ),
        timeline=(
            (0.0, "detection", "Merchant support ticket: prices stale in search."),
            (0.2, "action", "Consumer group found rebalancing every 5 minutes."),
            (0.7, "action", "Consumers restarted with max.poll.records=100."),
            (1.0, "resolution", "Lag back under one minute."),
        ),
        used_article="search-indexer-lag",
    ),
    "rate-limit": Scenario(
        title="Partners throttled by a rate-limit change",
        team="platform",
        services=("api-gateway",),
        tags=("rate-limit", "config"),
        category="configuration-push",
        detect_minutes=12,
        summary="A gateway configuration change applied the anonymous rate limit to "
        "authenticated partners; their requests got 429 until the change was reverted.",
        sections={
            "summary": "A config change reordered rate-limit rules; partner traffic matched the "
            "anonymous rule first and was throttled.",
            "impact": "Three partners received 429 for a large share of their requests.",
            "root_causes": "Rate-limit rules are evaluated in order, and the config had no test "
            "covering partner traffic.",
            "detection": "A partner's integration team reported the 429 responses.",
            "response": "The config change was reverted through the config pipeline.",
            "went_well": "Reverting configuration took one command.",
            "went_wrong": "The change was reviewed as a harmless reordering.",
            "lucky": "It was the partners' quiet hour.",
            "lessons": "Configuration is code: test it against representative traffic.",
        },
        findings=(
            DemoFinding(
                "Rule order decides which limit applies, and nothing tested it.",
                "root_cause",
                ("link", "rate-limits-misconfigured-on-the-api-gateway"),
            ),
        ),
        actions=(
            ("Add partner traffic fixtures to the gateway config tests", "p2"),
            ("Alert on 429 rate per authenticated client", "p2"),
        ),
        timeline=(
            (0.0, "action", "Gateway config change deployed."),
            (0.2, "detection", "Partner reported 429 responses."),
            (0.6, "action", "Config change reverted."),
            (1.0, "resolution", "Partner traffic back to normal."),
        ),
        used_article="rate-limits-misconfigured-on-the-api-gateway",
    ),
    "oauth-key": Scenario(
        title="Sign-in fails after signing key rotation",
        team="identity",
        services=("auth",),
        tags=("certificate",),
        category="certificate-credential-expiry",
        detect_minutes=5,
        summary="After the scheduled rotation of the OAuth signing key, services still "
        "validating with the old key rejected new tokens; sign-in failed until the key set "
        "was republished.",
        sections={
            "summary": "The new signing key was used before the services had fetched it, so "
            "fresh tokens failed validation everywhere.",
            "impact": "New sign-ins failed; existing sessions kept working.",
            "root_causes": "Rotation started signing with the new key at the same moment it was "
            "published, with no overlap period for caches to refresh.",
            "detection": "The sign-in success-rate alert fired within five minutes.",
            "response": "Signing switched back to the previous key; the key set was "
            "republished with both keys.",
            "went_well": "The previous key was still valid and available.",
            "went_wrong": "The rotation job had no staging rehearsal.",
            "lucky": "Existing sessions were unaffected.",
            "lessons": "Publish first, sign later: rotations need an overlap window.",
        },
        findings=(
            DemoFinding(
                "Key rotation signed with the new key before it was fetched by validators.",
                "root_cause",
                ("link", "sign-in-fails-after-an-oauth-signing-key-rotation"),
            ),
        ),
        actions=(
            ("Publish new keys 24 hours before signing with them", "p1"),
            ("Rehearse key rotation in staging every quarter", "p3"),
        ),
        timeline=(
            (0.0, "action", "Scheduled rotation job ran."),
            (0.1, "detection", "Sign-in success rate alert fired."),
            (0.5, "action", "Signing switched back to the previous key."),
            (1.0, "resolution", "Sign-in success rate back to 99.8%."),
        ),
        used_article="sign-in-fails-after-an-oauth-signing-key-rotation",
    ),
    "ledger": Scenario(
        title="Ledger imbalance after a partial batch write",
        team="payments",
        services=("ledger",),
        tags=("database",),
        category="data-corruption",
        detect_minutes=40,
        summary="A settlement batch was half written when its worker restarted; the ledger "
        "showed an imbalance until the batch was replayed idempotently.",
        sections={
            "summary": "A worker restart interrupted a settlement batch between its debit and "
            "credit legs, leaving the ledger out of balance.",
            "impact": "Finance reports were wrong for the day; no customer money moved wrongly.",
            "root_causes": "The batch wrote each leg in its own transaction, so a restart "
            "between them left half an entry.",
            "detection": "The nightly imbalance check alerted the next morning.",
            "response": "The batch was replayed with its idempotency keys and the half entry "
            "completed.",
            "went_well": "Idempotency keys made the replay safe.",
            "went_wrong": "The imbalance was only checked nightly.",
            "lucky": "No month-end close was running.",
            "lessons": "Both legs of an entry belong in one transaction.",
        },
        findings=(
            DemoFinding(
                "Debit and credit legs were written in separate transactions.",
                "root_cause",
                ("link", "reading-a-ledger-imbalance-alert"),
            ),
        ),
        actions=(
            ("Write both legs of a ledger entry in one transaction", "p1"),
            ("Run the imbalance check hourly", "p2"),
        ),
        timeline=(
            (0.0, "detection", "Nightly imbalance check alerted."),
            (0.3, "action", "Half-written batch identified from the batch log."),
            (0.8, "action", "Batch replayed with idempotency keys."),
            (1.0, "resolution", "Ledger balanced."),
        ),
        used_article="reading-a-ledger-imbalance-alert",
    ),
    "wal-disk": Scenario(
        title="PostgreSQL WAL volume full",
        team="platform",
        services=("postgres-main",),
        tags=("database", "capacity"),
        category="capacity-load",
        detect_minutes=10,
        summary="A stuck replication slot kept WAL from being recycled; the WAL volume filled "
        "and the primary stopped accepting writes until the slot was dropped.",
        sections={
            "summary": "An abandoned logical replication slot retained WAL until its volume was "
            "full, and the primary refused writes.",
            "impact": "All writes failed across payments and checkout for the duration.",
            "root_causes": "A decommissioned analytics consumer left its replication slot "
            "behind; nothing alerted on retained WAL.",
            "detection": "Write errors from every service; the disk alert fired at the same "
            "time, too late.",
            "response": "The abandoned slot was dropped and WAL recycled; the volume was grown "
            "as a precaution.",
            "went_well": "The database team found the slot within minutes.",
            "went_wrong": "Decommissioning the consumer had no step to drop its slot.",
            "lucky": "Replicas were unaffected and reads kept working.",
            "lessons": "Retained WAL per slot needs an alert; decommissioning needs a checklist.",
        },
        findings=(
            DemoFinding(
                "Abandoned replication slot retained WAL until the volume filled.",
                "root_cause",
                ("spawn",),
            ),
        ),
        actions=(
            ("Alert when a replication slot retains more than 10 GB of WAL", "p1"),
            ("Add 'drop replication slot' to the consumer decommissioning checklist", "p2"),
        ),
        timeline=(
            (0.0, "detection", "Write errors from payments-api and checkout."),
            (0.3, "action", "WAL volume at 100%; stuck slot analytics_cdc found."),
            (0.6, "action", "Slot dropped; WAL recycled."),
            (1.0, "resolution", "Writes succeed; volume at 40%."),
        ),
    ),
    "hardware": Scenario(
        title="Node lost its network interface",
        team="platform",
        services=("kubernetes",),
        tags=(),
        category="hardware",
        detect_minutes=3,
        summary="A node's NIC failed; pods on it became unreachable until the node was "
        "cordoned and its pods rescheduled.",
        sections={
            "summary": "A hardware fault took a node's network down while the kubelet kept "
            "reporting it as ready for several minutes.",
            "impact": "Requests routed to pods on that node timed out.",
            "root_causes": "A failing network card; node health checks did not test the data path.",
            "detection": "Upstream timeout alerts from the gateway.",
            "response": "The node was cordoned and drained; the provider replaced it.",
            "went_well": "Draining one node moved its pods within a minute.",
            "went_wrong": "The node stayed ready for eight minutes.",
            "lucky": "Only one node was affected.",
            "lessons": "Node health must include the data path.",
        },
        findings=(
            DemoFinding(
                "A failed NIC on one node.",
                "root_cause",
                ("none", "A one-off hardware failure; the provider replaced the machine."),
            ),
        ),
        actions=(("Add a data-path check to node problem detector", "p3"),),
        timeline=(
            (0.0, "detection", "Gateway upstream timeout alert fired."),
            (0.4, "action", "Node ip-10-2-3-4 cordoned and drained."),
            (1.0, "resolution", "Timeouts stopped."),
        ),
    ),
    "card-logs": Scenario(
        title="Card numbers written to application logs",
        team="payments",
        services=("payments-api",),
        tags=(),
        category="software-bug",
        detect_minutes=90,
        summary="A debug log statement wrote unmasked card numbers to the payments API's logs; "
        "logging was stopped, the affected logs purged and the exposure assessed.",
        sections={
            "summary": "A debug statement left in a release logged full card numbers for "
            "failed authorisations.",
            "impact": "Card numbers of about 1,200 failed authorisations reached the log store, "
            "readable by the payments team only. No evidence of access beyond that.",
            "root_causes": "The log masking filter applied to structured fields only; the debug "
            "statement formatted the request into the message text.",
            "detection": "A scheduled PAN scanner over the log store found matches.",
            "response": "Release rolled back, affected log indices purged, access logs "
            "reviewed with security.",
            "went_well": "The PAN scanner caught it within two hours.",
            "went_wrong": "Code review did not flag the formatted log message.",
            "lucky": "Log access was already limited to the payments team.",
            "lessons": "Mask at the sink, not only in structured fields.",
        },
        findings=(
            DemoFinding(
                "Masking only covered structured log fields, not message text.",
                "root_cause",
                ("spawn",),
            ),
        ),
        actions=(
            ("Mask card numbers in the log shipper for every field", "p1"),
            ("Add a lint rule against logging request objects in payments-api", "p2"),
        ),
        timeline=(
            (0.0, "action", "Release with the debug statement deployed."),
            (0.4, "detection", "PAN scanner matched card numbers in payments-api logs."),
            (0.6, "action", "Release rolled back; security informed."),
            (1.0, "resolution", "Affected indices purged and access reviewed."),
        ),
    ),
}

# When each failure mode happened. Days are counted back from today, so the demo always covers
# the last twelve months. Later occurrences of a mode tend to use its article and resolve faster.
OCCURRENCES: tuple[Occurrence, ...] = (
    Occurrence(1, "deploy-503", 350, "sev2", 95, "published"),
    Occurrence(2, "tls-expiry", 340, "sev1", 180, "published"),
    Occurrence(3, "pg-pool", 330, "sev2", 120, "published"),
    Occurrence(4, "deploy-503", 318, "sev2", 88, "published"),
    Occurrence(5, "oom", 305, "sev3", 70, "published"),
    Occurrence(6, "dns", 296, "sev2", 110, "published"),
    Occurrence(7, "deploy-503", 287, "sev1", 100, "published"),
    Occurrence(8, "card-declines", 275, "sev2", 140, "published", helped=False),
    Occurrence(9, "pg-pool", 262, "sev2", 105, "published"),
    Occurrence(10, "cache-stampede", 250, "sev2", 75, "published"),
    Occurrence(11, "rate-limit", 240, "sev3", 60, "published"),
    Occurrence(12, "deploy-503", 228, "sev2", 80, "published"),
    Occurrence(13, "indexer-lag", 216, "sev3", 150, "published"),
    Occurrence(14, "tls-expiry", 205, "sev1", 160, "published", helped=True),
    Occurrence(15, "oauth-key", 196, "sev2", 90, "published"),
    Occurrence(16, "oom", 185, "sev3", 65, "published"),
    Occurrence(17, "pg-pool", 174, "sev2", 60, "published", helped=True, minutes_saved=30),
    Occurrence(18, "deploy-503", 163, "sev2", 35, "published", helped=True, minutes_saved=45),
    Occurrence(19, "ledger", 152, "sev2", 200, "published"),
    Occurrence(20, "hardware", 141, "sev3", 90, "published"),
    Occurrence(21, "dns", 130, "sev2", 55, "published", helped=True, minutes_saved=20),
    Occurrence(22, "card-declines", 120, "sev2", 50, "published", helped=True),
    Occurrence(23, "cache-stampede", 110, "sev3", 40, "published", helped=True, minutes_saved=25),
    Occurrence(24, "wal-disk", 100, "sev2", 130, "published"),
    Occurrence(25, "rate-limit", 92, "sev3", 30, "published", helped=True, minutes_saved=15),
    Occurrence(26, "indexer-lag", 84, "sev3", 70, "published", helped=False),
    Occurrence(27, "deploy-503", 75, "sev2", 30, "published", helped=True, minutes_saved=50),
    Occurrence(28, "card-logs", 68, "sev1", 240, "published"),
    Occurrence(29, "oauth-key", 60, "sev2", 45, "published", helped=None),
    Occurrence(30, "oom", 52, "sev3", 35, "approved", helped=True, minutes_saved=10),
    Occurrence(31, "pg-pool", 45, "sev2", 40, "in_review", helped=True),
    Occurrence(32, "tls-expiry", 38, "sev2", 25, "published", helped=True, minutes_saved=60),
    Occurrence(
        33,
        "ledger",
        31,
        "sev3",
        80,
        "changes_requested",
        review_comment="Please reword the lessons without naming who ran the batch, and add "
        "how many entries were affected to the impact.",
        extra={"lessons": "Dana should have checked the batch log before restarting the worker."},
    ),
    Occurrence(34, "card-declines", 26, "sev2", 45, "in_review", helped=True),
    Occurrence(35, "hardware", 20, "sev4", 60, None),
    Occurrence(
        36,
        "deploy-503",
        15,
        "sev2",
        28,
        "draft",
        helped=True,
        minutes_saved=40,
        extra={"went_wrong": "The engineer forgot to watch the canary dashboard."},
    ),
    Occurrence(37, "cache-stampede", 10, "sev3", 35, "draft"),
    Occurrence(38, "dns", 6, "sev2", None, None, status="mitigated"),
    Occurrence(39, "indexer-lag", 3, "sev3", None, None, status="open"),
    Occurrence(40, "rate-limit", 2, "sev4", 20, None),
)

RESTRICTED = frozenset({28})  # the card-number exposure: Payments team and named people only
