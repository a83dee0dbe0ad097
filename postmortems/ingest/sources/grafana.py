"""Grafana's unified alerting webhook: an Alertmanager group plus Grafana's own fields (orgId,
title, state, message) and, on each alert, links to its dashboard and panel.

Handled as Alertmanager's (see alertmanager.py): one incident per alert occurrence, a resolved
alert marks it mitigated. The incident links to the panel, else the dashboard, else the rule.
"""

from __future__ import annotations

from typing import Any

from postmortems.ingest.notices import Delivery
from postmortems.ingest.sources.alertmanager import group_delivery
from postmortems.ingest.sources.common import as_object, refuse

SOURCE = "grafana"
LABEL = "Grafana"


def parse(payload: Any) -> Delivery:
    body = as_object(payload, field="", source=LABEL)
    if not isinstance(body.get("orgId"), int) or isinstance(body.get("orgId"), bool):
        raise refuse(
            "orgId",
            "orgId is missing: Grafana's alerting webhook carries the organisation's number. "
            "Is this integration's source right?",
        )
    return group_delivery(
        body,
        source=SOURCE,
        label=LABEL,
        url_keys=("panelURL", "dashboardURL", "generatorURL"),
    )
