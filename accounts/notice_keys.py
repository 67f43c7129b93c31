"""The key of each kind of notice (and staff alert): one function per kind, so that the same event
always builds the same key. ``Notice.key`` and ``StaffAlert.key`` are unique, and a notice or alert
is written once per key: a key's text must never change, or the rows already stored stop
deduplicating the events they stand for.

The functions take plain ids and values, so that plans and billing build their keys here.
"""

from __future__ import annotations

import uuid


def support_received_key(*, support_request_id: int) -> str:
    return f"support-received:{support_request_id}"


def support_replied_key(*, support_message_id: int) -> str:
    """Once per staff reply."""
    return f"support-replied:{support_message_id}"


def low_balance_key(*, bucket_id: int, threshold: int) -> str:
    """Once per bucket and threshold crossed."""
    return f"low-balance:{bucket_id}:{threshold}"


def order_fulfilled_key(*, order_id: int) -> str:
    return f"order-fulfilled:{order_id}"


def order_refunded_key(*, order_id: int) -> str:
    return f"order-refunded:{order_id}"


def refund_succeeded_key(*, refund_id: int) -> str:
    """A part of an order given back (a partial refund): one notice per refund."""
    return f"refund-succeeded:{refund_id}"


def order_payment_needed_key(*, order_id: int) -> str:
    return f"order-payment-needed:{order_id}"


def goodwill_key(*, audit_entry_id: int) -> str:
    """Once per goodwill staff gave: each is its own audit-trail entry."""
    return f"goodwill:{audit_entry_id}"


def renewal_reminder_key(*, line_id: int, expires_at: str, days: int) -> str:
    """Once per line, expiry (ISO text) and stage: a renewed line is reminded again."""
    return f"reminder:{line_id}:{expires_at}:{days}"


def data_runout_key(*, line_id: int, expires_at: str) -> str:
    """Once per line and expiry (ISO text): the forecast's alert that the data ends early."""
    return f"data-runout:{line_id}:{expires_at}"


def auto_renew_upcoming_key(*, line_id: int, expires_at: str) -> str:
    """Once per line and expiry (ISO text): the notice 24 hours before an automatic charge."""
    return f"auto-renew-upcoming:{line_id}:{expires_at}"


def security_notice_key(*, user_id: int, kind: str) -> str:
    """Each change is its own event: a fresh key every time (unlike a reminder's, once per date)."""
    return f"{kind}:{user_id}:{uuid.uuid4().hex}"


def dispute_alert_key(*, stripe_dispute_id: str) -> str:
    """The staff alert for a dispute, once per dispute (the column holds 120 characters)."""
    return f"dispute:{stripe_dispute_id}"[:120]
