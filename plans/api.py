"""The usage API the mobile network posts batches of usage records to.

A request is signed: ``X-Boom-Timestamp`` (unix seconds) and ``X-Boom-Signature: sha256=<hex>``,
the HMAC-SHA256 of ``"<timestamp>.<raw body>"`` with any key in ``settings.USAGE_API_KEYS``
(several, so that a key can be rotated). Answers are JSON, meant for machines, in English.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from boomcard.ratelimit import client_address, rate_limit_hit
from plans import usage

SIGNATURE_MAX_AGE = 300  # seconds either side of our clock
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def _error(status: int, message: str, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JsonResponse(body, status=status)


def _too_many(wait: int) -> JsonResponse:
    response = _error(429, f"too many requests; try again in {wait} seconds")
    response["Retry-After"] = str(wait)
    return response


def _signature_check(
    *, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> tuple[str | None, str]:
    """Why the request's signature is refused (or None when it is good), and the key that
    signed it ("" when none did)."""
    if not timestamp or not signature:
        return "X-Boom-Timestamp and X-Boom-Signature headers are required", ""
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Boom-Timestamp must be unix seconds", ""
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return f"X-Boom-Timestamp is more than {SIGNATURE_MAX_AGE} seconds from the server's clock", ""
    match = _SIGNATURE.fullmatch(signature)
    if match is None:
        return "X-Boom-Signature must be sha256=<hex HMAC-SHA256>", ""
    sent = match.group(1).lower().encode()
    signed = timestamp.encode() + b"." + body
    signer = ""
    for key in settings.USAGE_API_KEYS:
        expected = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest().encode()
        # Every key is tried, so the time taken does not tell which one matched.
        if hmac.compare_digest(expected, sent) and key:
            signer = key
    return (None, signer) if signer else ("signature does not match", "")


@csrf_exempt
def usage_ingest(request: HttpRequest) -> JsonResponse:
    """``POST /api/usage/``: ``{"records": [...]}``, at most ``usage.MAX_BATCH`` records.

    200 with what became of each record (accepted, duplicate, rejected with reasons); 400 for a
    body that is not such an object; 401 for a missing, stale or wrong signature; 429 (with
    Retry-After) past the ``usage_api`` rate limit, counted per client address before the
    signature is checked and per signing key after.
    """
    if request.method != "POST":
        response = _error(405, "use POST")
        response["Allow"] = "POST"
        return response
    if wait := rate_limit_hit(name="usage_api", key=client_address(request)):
        return _too_many(wait)
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "request body is too large", "body")
    problem, signer = _signature_check(
        timestamp=request.headers.get("X-Boom-Timestamp"),
        signature=request.headers.get("X-Boom-Signature"),
        body=body,
        now=time.time(),
    )
    if problem is not None:
        return _error(401, problem)
    if wait := rate_limit_hit(name="usage_api", key=f"usage-key:{signer}"):
        return _too_many(wait)

    try:
        payload = json.loads(body)
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
    report = usage.usage_ingest(records=records)
    return JsonResponse(report.as_dict())
