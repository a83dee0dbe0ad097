from __future__ import annotations

import socket

from celery import shared_task

from kbsite.idempotency import idempotency_records_prune
from kbsite.services import heartbeat_record


@shared_task(acks_late=True, ignore_result=True)
def record_heartbeat(*, source: str = "worker") -> int:
    """Record that a worker ran; safe to run twice (each run is its own beat)."""
    return heartbeat_record(source=source, worker=socket.gethostname()).pk


@shared_task(acks_late=True, ignore_result=True)
def prune_idempotency_records() -> int:
    """Forget kept API answers past IDEMPOTENCY_KEY_TTL_HOURS; safe to run any time."""
    return idempotency_records_prune()
