"""How the network signs its requests to the usage API, and the check of that signature.

``X-Boom-Timestamp`` is unix seconds; ``X-Boom-Signature`` is ``sha256=<hex>``, the HMAC-SHA256
with any key in ``settings.USAGE_API_KEYS`` (several, so that a key can be rotated) of
``"<timestamp>.<METHOD>.<path>.<body>"``: the method in capitals, the path without the query
string (``/api/usage/batches/17/``), the raw body (empty for a GET). Covering the method and the
path means that a signed request is good only for the address it was made for: the status of
batch 1, replayed for batch 2, does not match.

The scheme before it signed ``"<timestamp>.<body>"`` only. It is still accepted before
``settings.USAGE_API_LEGACY_SIGNATURES_UNTIL`` (a date, UTC; unset: never), while the network
moves to the new one, and each request signed that way is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

logger = logging.getLogger(__name__)

SIGNATURE_MAX_AGE = 300  # seconds either side of our clock
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def usage_signed_text(*, timestamp: str, method: str, path: str, body: bytes) -> bytes:
    """What a request's signature is the HMAC of."""
    return f"{timestamp}.{method.upper()}.{path}.".encode() + body


def usage_signature(*, key: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The ``X-Boom-Signature`` header for a request (what the network, the tests and the
    benchmark send)."""
    signed = usage_signed_text(timestamp=timestamp, method=method, path=path, body=body)
    return "sha256=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def legacy_signatures_accepted(*, now: float) -> bool:
    """Whether ``"<timestamp>.<body>"`` signatures are still taken at ``now`` (unix seconds)."""
    until = settings.USAGE_API_LEGACY_SIGNATURES_UNTIL
    return until is not None and datetime.fromtimestamp(now, UTC).date() < until


@dataclass(frozen=True, slots=True)
class SignatureChecked:
    """Why a request's signature is refused (``problem``, None when good); the key that signed
    it ("" when none did); and the signature, lower-case, for use as an idempotency key."""

    problem: str | None
    signer: str = ""
    signature: str = ""


def usage_signature_check(
    *, timestamp: str | None, signature: str | None, method: str, path: str, body: bytes, now: float
) -> SignatureChecked:
    """Check a request's signature headers against every key, in the current scheme and (while
    the setting allows it) the old one."""
    if not timestamp or not signature:
        return SignatureChecked("X-Boom-Timestamp and X-Boom-Signature headers are required")
    if not _TIMESTAMP.fullmatch(timestamp):
        return SignatureChecked("X-Boom-Timestamp must be unix seconds")
    if abs(now - int(timestamp)) > SIGNATURE_MAX_AGE:
        return SignatureChecked(f"X-Boom-Timestamp is more than {SIGNATURE_MAX_AGE} seconds from the server's clock")
    match = _SIGNATURE.fullmatch(signature)
    if match is None:
        return SignatureChecked("X-Boom-Signature must be sha256=<hex HMAC-SHA256>")
    sent = match.group(1).lower()
    signed = usage_signed_text(timestamp=timestamp, method=method, path=path, body=body)
    legacy = timestamp.encode() + b"." + body if legacy_signatures_accepted(now=now) else None
    signer, signer_legacy = "", ""
    for key in settings.USAGE_API_KEYS:
        # Every key and scheme is tried, so the time taken does not tell which one matched.
        expected = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, sent) and key:
            signer = key
        if legacy is not None:
            expected = hmac.new(key.encode(), legacy, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, sent) and key:
                signer_legacy = key
    if signer:
        return SignatureChecked(None, signer, sent)
    if signer_legacy:
        logger.warning(
            "usage API: %s %s signed the old way (timestamp.body), accepted until %s",
            method,
            path,
            settings.USAGE_API_LEGACY_SIGNATURES_UNTIL,
        )
        return SignatureChecked(None, signer_legacy, sent)
    return SignatureChecked("signature does not match")
