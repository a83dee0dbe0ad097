"""Idempotent POSTs: a request retried with the same `Idempotency-Key` gets the first answer again
instead of doing the work twice.

A client that lost the answer to a POST (a timeout, a dropped connection) cannot know whether
the incident or article was created. Sending the same request again with the same key is safe:

- the first request with a key claims it by inserting its record before it runs; the unique
  (user, key) pair decides which of two concurrent requests runs, and the other is told to wait
  (409 with Retry-After);
- when the first one ends with an answer about the request itself (2xx, or a 4xx other than
  401, 408 and 429) that answer is kept, and the same request again is answered with it, marked
  `Idempotent-Replayed: true`;
- a server error, or an answer that shows a secret once (`Cache-Control: no-store`: new tokens
  and webhooks), is not kept: the claim is released and a retry runs again;
- the same key with another method, path or body is a client bug and is refused (422);
- a record lives IDEMPOTENCY_KEY_TTL_HOURS; after that the key may be used afresh.

Keys belong to the person, whichever token or session they use. A request whose process died
after its claim leaves a record without an answer; after CLAIM_TIMEOUT another request may take
it over.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kbsite.errors import DomainError, InvalidInput, StateConflict
from kbsite.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# A claim whose request has not answered after this long is presumed lost with its process.
CLAIM_TIMEOUT = timedelta(minutes=1)
# Seconds a client is asked to wait before retrying while the first request still runs.
RETRY_AFTER_SECONDS = 1
# Answers that say nothing about what the request would do (credentials, time-outs, rate limits):
# a retry must run again rather than be told the same.
TRANSIENT_STATUSES = frozenset({401, 408, 429})
# Creating answers are small; a larger one is not worth keeping.
MAX_KEPT_BODY_BYTES = 1024 * 1024
# Headers of the first answer that a replay repeats (the new object's address and version).
KEPT_HEADERS = ("Location", "ETag")


class IdempotencyKeyInvalid(InvalidInput):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(DomainError):
    """The key was already used for a different request (422)."""

    status_code = 422
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(StateConflict):
    """The first request with this key is still running (409); retry after a moment."""

    code = "idempotency_key_in_progress"


def idempotency_key_parse(raw: str) -> str:
    """The key of an `Idempotency-Key` header: 1 to 255 printable ASCII characters.

    Both forms in use are accepted: a bare token (`Idempotency-Key: 4f1c…`) and the quoted
    string of the IETF draft (`Idempotency-Key: "4f1c…"`), which mean the same key.
    """
    key = raw.strip()
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not key:
        raise IdempotencyKeyInvalid(
            f"The {HEADER} header is empty: send a unique value, such as a UUID, or leave the "
            "header out."
        )
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            f"The {HEADER} header is {len(key)} characters long; it may have at most "
            f"{MAX_KEY_LENGTH}: a UUID is enough."
        )
    if not all(" " <= character <= "~" for character in key):
        raise IdempotencyKeyInvalid(
            f"The {HEADER} header may contain only printable ASCII characters (no control "
            "characters, no accented letters): a UUID is a good key."
        )
    return key


def _canonical_body(body: bytes, content_type: str) -> bytes:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        # The same JSON sent again with other spacing or key order is the same request.
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return body
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return body


def request_fingerprint(*, body: bytes, content_type: str, query_string: str = "") -> str:
    """SHA-256 of what a request asks for beyond its method and path: query string and body."""
    digest = hashlib.sha256()
    digest.update(query_string.encode())
    digest.update(b"\n")
    digest.update(_canonical_body(body, content_type))
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: run the request (`replay` False) or answer with `record`."""

    record: IdempotencyRecord
    replay: bool


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _take_over(record: IdempotencyRecord, condition: Q, fields: dict[str, Any]) -> bool:
    """Hand `record` to this request when `condition` still holds: one conditional UPDATE, so of
    two requests taking over the same record only one succeeds."""
    changed = IdempotencyRecord.objects.filter(condition, pk=record.pk).update(**fields)
    if changed:
        record.refresh_from_db()
    return bool(changed)


def idempotency_claim(
    *,
    user: Any,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    now: datetime | None = None,
) -> Claim:
    """Claim `key` of `user` for this request, or say which earlier answer to give instead.

    Raises IdempotencyKeyReused when the key belongs to another request, and
    IdempotencyKeyInProgress while the request that holds it still runs. The claim is committed
    at once, on its own, so that concurrent requests see it.
    """
    moment = now or timezone.now()
    path = path[: IdempotencyRecord._meta.get_field("path").max_length or 500]
    fresh: dict[str, Any] = {
        "method": method,
        "path": path,
        "fingerprint": fingerprint,
        "claim": secrets.token_hex(16),
        "status_code": None,
        "response_body": b"",
        "content_type": "",
        "response_headers": {},
        "created_at": moment,
    }
    for _ in range(3):
        # Looking first keeps a replay to one read; the insert's unique constraint still
        # decides between two requests that both found nothing.
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(user=user, key=key, **fresh)
                return Claim(record=record, replay=False)
            except IntegrityError:
                continue  # another request claimed it first: look at its record
        expired = Q(created_at__lt=_expired_before(moment))
        if existing.created_at < _expired_before(moment) and _take_over(existing, expired, fresh):
            return Claim(record=existing, replay=False)
        if (existing.method, existing.path, existing.fingerprint) != (method, path, fingerprint):
            raise IdempotencyKeyReused(
                f"This {HEADER} was already used for another request ({existing.method} "
                f"{existing.path} with a different body or address): send a new key with each "
                "new request, and the same key only to retry the very same one."
            )
        if not existing.is_pending:
            return Claim(record=existing, replay=True)
        lost = Q(status_code__isnull=True, created_at__lt=moment - CLAIM_TIMEOUT)
        if existing.created_at < moment - CLAIM_TIMEOUT and _take_over(existing, lost, fresh):
            return Claim(record=existing, replay=False)
        raise IdempotencyKeyInProgress(
            f"A request with this {HEADER} is still being processed: retry in a moment, with "
            "the same key, to get its answer."
        )
    raise IdempotencyKeyInProgress(
        f"A request with this {HEADER} is changing state right now: retry in a moment."
    )


def answer_is_kept(*, status_code: int, cache_control: str, size: int) -> bool:
    """Whether an answer is kept for replay (see the module's docstring for why not)."""
    is_outcome = 200 <= status_code < 300 or 400 <= status_code < 500
    if not is_outcome or status_code in TRANSIENT_STATUSES:
        return False
    if "no-store" in cache_control.lower():
        return False
    return size <= MAX_KEPT_BODY_BYTES


def idempotency_complete(
    *,
    record: IdempotencyRecord,
    status_code: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
) -> bool:
    """Keep the answer of the request that holds `record`; False when it lost the claim
    (another request took the record over after CLAIM_TIMEOUT)."""
    changed = IdempotencyRecord.objects.filter(
        pk=record.pk, claim=record.claim, status_code__isnull=True
    ).update(
        status_code=status_code,
        response_body=body,
        content_type=content_type[:200],
        response_headers=headers,
    )
    return changed == 1


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Give the key up (the answer is not kept): a retry with it runs the request again."""
    IdempotencyRecord.objects.filter(
        pk=record.pk, claim=record.claim, status_code__isnull=True
    ).delete()


def idempotency_records_prune(*, now: datetime | None = None) -> int:
    """Delete records older than IDEMPOTENCY_KEY_TTL_HOURS; returns how many went."""
    cutoff = _expired_before(now or timezone.now())
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
