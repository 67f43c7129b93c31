"""The usage API as the network calls it: its address and key, signed requests, and the batches'
tasks queued at commit (``conftest.queued``) run by hand (``apply_queued``)."""

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from plans import tasks
from plans.models import MB, Line
from plans.signing import usage_signature

URL = reverse("plans:api_usage")
KEY = "current-usage-key"


def apply_queued(queued: list[int]) -> list[str]:
    """Run the queued batches' tasks, as the usage worker would."""
    outcomes = [tasks.usage_batch_apply_task(batch_id) for batch_id in queued]
    queued.clear()
    return outcomes


def signed_headers(
    body: bytes, *, key: str = KEY, timestamp: int | None = None, method: str = "POST", path: str = URL
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = usage_signature(key=key, timestamp=stamp, method=method, path=path, body=body)
    return {"X-Boom-Timestamp": stamp, "X-Boom-Signature": signature}


def post(
    client: Client,
    payload: Any = None,
    *,
    body: bytes | None = None,
    key: str = KEY,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    """POST to the usage API as the network does, signing the body unless told otherwise; the
    batch's task is queued when its transaction commits, as in production."""
    if body is None:
        body = json.dumps(payload).encode()
    headers = signed_headers(body, key=key, timestamp=timestamp)
    if signature is not None:
        headers["X-Boom-Signature"] = signature
    # The test's transaction never commits: run the hooks the request left for its commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, body, content_type="application/json", headers=headers)


def status(client: Client, batch_id: int | str, *, key: str = KEY, body: bytes = b"") -> Any:
    """GET a batch's status, signed over the empty body (or ``body``, to sign something else)."""
    path = f"{URL}batches/{batch_id}/"
    # Signed over the path as the server reads it: percent-decoded.
    return client.get(path, headers=signed_headers(body, key=key, method="GET", path=unquote(path)))


def record(line: Line, record_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id,
        "msisdn": line.msisdn.as_e164,
        "kind": "data",
        "amount": MB,
        "country": "HK",
        "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        **fields,
    }
