"""The usage API the mobile network posts batches of usage records to, and asks what became of
each batch.

A request is signed (``plans.signing``): ``X-Boom-Timestamp`` (unix seconds) and
``X-Boom-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<METHOD>.<path>.<body>"``
with any key in ``settings.USAGE_API_KEYS``; a GET signs the empty body. A post sent again (same
``Idempotency-Key``, or the same signed request) answers the first batch (``plans.usage_keys``).
Answers are JSON, meant for machines, in English.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from boomcard.ratelimit import client_address, rate_limit_check
from plans import usage, usage_keys
from plans.models import UsageBatch
from plans.signing import usage_signature_check

_BATCH_ID = re.compile(r"[1-9][0-9]{0,17}")


def _error(status: int, message: str, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JsonResponse(body, status=status)


def _signer_refused(request: HttpRequest, body: bytes) -> tuple[JsonResponse | None, str]:
    """The refusal for a request without a good signature of its method, path and ``body``
    (401), else None; and the request's signature. Raises ``RateLimited`` past the ``usage_api``
    limit of its signing key. (The limit per client address is counted before, even for
    requests that are not signed.)"""
    checked = usage_signature_check(
        timestamp=request.headers.get("X-Boom-Timestamp"),
        signature=request.headers.get("X-Boom-Signature"),
        method=request.method or "",
        path=request.path,
        body=body,
        now=time.time(),
    )
    if checked.problem is not None:
        return _error(401, checked.problem), ""
    # Past the limit of its signing key: RateLimited, answered 429 by the middleware.
    rate_limit_check(name="usage_api", key=f"usage-key:{checked.signer}")
    return None, checked.signature


def _only(method: str) -> JsonResponse:
    response = _error(405, f"use {method}")
    response["Allow"] = method
    return response


def _parsed(body: bytes) -> Any:
    """The body as JSON. orjson reads a 5,000-record batch several times faster than the standard
    library; what it refuses and the standard library reads (NaN, integers past 64 bits, lone
    surrogates) goes to the standard library, so that every body is read as before."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


@csrf_exempt
def usage_ingest(request: HttpRequest) -> JsonResponse:
    """``POST /api/usage/``: ``{"records": [...]}``, at most ``usage.MAX_BATCH`` records.

    The records are checked at once and the good ones stored as one batch, applied to the
    balances soon after by a task on the ``usage`` queue. 202 with the batch's id, how many
    records it queued, the records rejected (index, id, field, reason) and the address of its
    status (``usage_batch_status``); 200 with the same and no batch when no record passed (nothing
    was stored). The same post again (same ``Idempotency-Key`` header, or else the same
    signature) answers the first batch again and stores nothing; the key with another body is
    409. 400 for a body that is not such an object, or a malformed key; 401 for a missing, stale
    or wrong signature; 413 for a body over the upload limit; 429 (with Retry-After) past the
    rate limit.
    """
    if request.method != "POST":
        return _only("POST")
    rate_limit_check(name="usage_api", key=client_address(request))
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "request body is too large", "body")
    refused, signature = _signer_refused(request, body)
    if refused is not None:
        return refused
    field = usage_keys.IDEMPOTENCY_KEY_HEADER
    try:
        key = usage_keys.usage_post_key(header=request.headers.get(field), signature=signature)
        if (replayed := usage_keys.usage_post_replay(key=key, body=body)) is not None:
            return _posted(replayed)
    except usage_keys.IdempotencyKeyInvalid as invalid:
        return _error(400, str(invalid), field)
    except usage_keys.IdempotencyKeyReused as reused:
        return _error(409, str(reused), field)
    try:
        payload = _parsed(body)
    except (ValueError, RecursionError):
        return _error(400, "body is not JSON", "body")
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        return _error(400, 'body must be an object with a "records" list', "records")
    records = payload["records"]
    if len(records) > usage.MAX_BATCH:
        return _error(400, f"at most {usage.MAX_BATCH} records a request, not {len(records)}", "records")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            return _error(400, "each record must be an object", f"records[{index}]")
    try:
        posted = usage_keys.usage_post_accept(key=key, body=body, records=records)
    except usage_keys.IdempotencyKeyReused as reused:  # a race with another body under the key
        return _error(409, str(reused), field)
    return _posted(posted)


def _posted(posted: usage_keys.BatchPosted) -> JsonResponse:
    """The answer to a post: 202 with its batch (the first one again, for a post sent twice), or
    200 with no batch when no record passed."""
    accepted = posted.accepted
    answer: dict[str, Any] = {
        "batch": accepted.batch_id,
        "queued": accepted.queued,
        "rejected": len(accepted.errors),
        "errors": [error.as_dict() for error in accepted.errors],
    }
    if accepted.batch_id is None:
        return JsonResponse(answer)
    answer["status"] = posted.status
    answer["status_url"] = reverse("plans:api_usage_batch", args=[accepted.batch_id])
    response = JsonResponse(answer, status=202)
    if posted.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@csrf_exempt  # so that a POST here is answered 405 in JSON, not refused by the CSRF check
def usage_batch_status(request: HttpRequest, batch_id: str) -> JsonResponse:
    """``GET /api/usage/batches/<id>/``, signed as a POST is, over the empty body.

    200 with the batch's status (``pending`` or ``applied``) and its report (accepted, duplicate,
    rejected with index, id, field and reason; accepted and duplicate are null until applied);
    404 for no such batch; 401, 429 as for posting.
    """
    if request.method != "GET":
        return _only("GET")
    rate_limit_check(name="usage_api", key=client_address(request))
    refused, _ = _signer_refused(request, b"")
    if refused is not None:
        return refused
    # Any text in the address gets a JSON answer; a batch id is a positive 64-bit integer.
    batch = UsageBatch.objects.filter(pk=int(batch_id)).first() if _BATCH_ID.fullmatch(batch_id) else None
    if batch is None:
        return _error(404, "no such batch", "batch")
    return JsonResponse(usage.usage_batch_report(batch=batch))
