"""One parser per alerting tool: `parse(payload) -> Delivery`, raising UnexpectedPayload that
names the place in the payload to fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from postmortems.ingest.notices import Delivery
from postmortems.ingest.sources import alertmanager, grafana, opsgenie, pagerduty
from postmortems.models import AlertSource

Parser = Callable[[Any], Delivery]

PARSERS: dict[str, Parser] = {
    AlertSource.ALERTMANAGER: alertmanager.parse,
    AlertSource.GRAFANA: grafana.parse,
    AlertSource.PAGERDUTY: pagerduty.parse,
    AlertSource.OPSGENIE: opsgenie.parse,
}
