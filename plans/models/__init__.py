"""The plans app's models, split by subject: ``catalogue`` (Plan, Price), ``lines`` (Line, an eSIM
number), ``buckets`` (Bucket, the allowance a line holds) and ``usage`` (what a line used)."""

from plans.models.catalogue import CURRENCIES, GB, MB, Plan, Price
from plans.models.lines import Line

from plans.models.buckets import Bucket  # isort: skip  (after the line and plan it joins)
from plans.models.usage import DailyUsage, UsageBatch, UsageBatchKey, UsageRecord, usage_day  # isort: skip

__all__ = [
    "CURRENCIES",
    "GB",
    "MB",
    "Bucket",
    "DailyUsage",
    "Line",
    "Plan",
    "Price",
    "UsageBatch",
    "UsageBatchKey",
    "UsageRecord",
    "usage_day",
]
