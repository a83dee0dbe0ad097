"""Prometheus Alertmanager's webhook (payload version 4).

Each alert of a group is one incident: the group is how Alertmanager batches notifications, not
one failure (a group by `alertname` can hold the same alert for ten services). An alert is one
occurrence by its fingerprint (a hash of its labels) and the time it started firing, so a retry
or a repeat notification finds the same incident, and the same alert firing again after it was
resolved opens a new one. A resolved alert marks its incident mitigated: the symptom stopped,
and a person confirms the fix before it is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postmortems.ingest.notices import AlertNotice, Change, Delivery
from postmortems.ingest.sources.common import (
    MAX_ID_LENGTH,
    MAX_TITLE_LENGTH,
    as_object,
    code,
    items_of,
    link,
    refuse,
    severity_of,
    shorten,
    string_map,
    summary_lines,
    text,
    timestamp,
    where,
)

SOURCE = "alertmanager"
LABEL = "Alertmanager"
STATUSES = {"firing": Change.FIRING, "resolved": Change.MITIGATED}
FEWER_HINT = "Set max_alerts in the receiver's webhook_configs, or group by more labels."


def alert_notice(
    alert_data: Any, *, index: int, source: str, label: str, url_keys: tuple[str, ...]
) -> AlertNotice:
    """One alert of an Alertmanager-style group (Grafana sends the same shape)."""
    path = where("alerts", index)
    alert = as_object(alert_data, field=path, source=label)
    status = text(alert, "status", path=path, source=label)
    if status not in STATUSES:
        raise refuse(
            where(path, "status"),
            f"{where(path, 'status')} is {status!r}: expected firing or resolved.",
        )
    labels = string_map(alert, "labels", path=path, source=label)
    annotations = string_map(alert, "annotations", path=path, source=label, required=False)
    fingerprint = text(alert, "fingerprint", path=path, source=label, limit=MAX_ID_LENGTH)
    started_at = timestamp(alert, "startsAt", path=path, source=label)
    if started_at is None:
        raise refuse(where(path, "startsAt"), f"{where(path, 'startsAt')} is the zero time.")
    ended_at = timestamp(alert, "endsAt", path=path, source=label, required=False)

    alert_name = labels.get("alertname", "").strip()
    headline = annotations.get("summary", "").strip()
    if alert_name and headline:
        title = f"{alert_name}: {headline}"
    else:
        title = headline or alert_name or f"{label} alert {fingerprint}"
    urls = [str(alert.get(key) or "").strip() for key in url_keys]
    lead = annotations.get("description", "") or headline
    facts = [
        ("Alert", f"{code(alert_name or fingerprint)} from {label}"),
        ("Labels", ", ".join(code(f"{name}={value}") for name, value in sorted(labels.items()))),
        ("Runbook", code(annotations["runbook_url"]) if annotations.get("runbook_url") else ""),
        *[("Link", code(url)) for url in urls if url],
    ]
    return AlertNotice(
        key=f"{source}:{fingerprint}@{started_at:%Y%m%dT%H%M%SZ}",
        change=STATUSES[status],
        title=shorten(title, MAX_TITLE_LENGTH),
        summary=summary_lines(lead, facts),
        severity=severity_of(labels.get("severity"), labels.get("priority")),
        service_names=tuple(name for name in [labels.get("service", "").strip()] if name),
        started_at=started_at,
        ended_at=ended_at,
        url=next((found for found in map(link, urls) if found), ""),
    )


def group_delivery(
    body: Mapping[str, Any], *, source: str, label: str, url_keys: tuple[str, ...]
) -> Delivery:
    alerts = items_of(body, "alerts", path="", source=label, hint=FEWER_HINT)
    return Delivery(
        notices=tuple(
            alert_notice(alert, index=index, source=source, label=label, url_keys=url_keys)
            for index, alert in enumerate(alerts)
        )
    )


def parse(payload: Any) -> Delivery:
    body = as_object(payload, field="", source=LABEL)
    version = body.get("version")
    if version != "4":
        raise refuse(
            "version",
            f'version is {version!r}: kbsite reads Alertmanager\'s webhook payload version "4". '
            "Is this integration's source right?",
        )
    return group_delivery(body, source=SOURCE, label=LABEL, url_keys=("generatorURL",))
