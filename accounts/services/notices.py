"""The customer's notices: marking them read."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Notice, User
from boomcard.page_cache import customers_changed


def notice_mark_read(*, user: User, notice_ids: list[int] | None = None) -> int:
    """Mark the customer's notices read (all of them when no ids are given)."""
    notices = Notice.objects.filter(user=user, read_at__isnull=True)
    if notice_ids is not None:
        notices = notices.filter(pk__in=notice_ids)
    marked = notices.update(read_at=timezone.now())
    customers_changed([user.pk])
    return marked
