"""Usage records and buckets as the usage service's tests make them."""

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from plans.models import MB, Bucket, Line
from tests.factories import BucketFactory, PlanFactory

_ids = count(1)


def record(line: Line, **fields: Any) -> dict[str, Any]:
    """A good data record for ``line``, a minute old, in Hong Kong, unless ``fields`` say otherwise."""
    at = fields.pop("at", timezone.now() - timedelta(minutes=1))
    return {
        "id": f"r-{next(_ids)}",
        "msisdn": line.msisdn.as_e164,
        "kind": "data",
        "amount": MB,
        "country": "HK",
        "at": at.isoformat() if isinstance(at, datetime) else at,
        **fields,
    }


def bucket(line: Line, *, data_mb: int = 100, roaming: list[str] | None = None, **fields: Any) -> Bucket:
    plan = PlanFactory.create(
        data_mb=data_mb, countries=roaming or [], is_addon=bool(roaming), kind="roaming" if roaming else "basic"
    )
    return BucketFactory.create(line=line, plan=plan, **fields)


def used(bucket: Bucket) -> Bucket:
    bucket.refresh_from_db()
    return bucket
