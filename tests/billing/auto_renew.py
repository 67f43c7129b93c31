"""What the tests of the auto-renew controls share: auto-renew turned on with a saved card, the
line's notices before a charge, a signed-in browser and the controls' form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import Notice, User
from billing import services
from plans.models import Line

HOUR = timedelta(hours=1)


def turned_on(line: Line, card: Callable[[str], str]) -> datetime:
    """Auto-renew on for ``line`` with card 4242 saved; the line's expiry."""
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("ok"))
    line.refresh_from_db()
    assert line.expires_at is not None
    return line.expires_at


def upcoming(line: Line) -> list[Notice]:
    return list(Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.AUTO_RENEW_UPCOMING))


def signed_in(user: User, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def control(client: Client, line: Line, **data: str) -> Any:
    return client.post(reverse("billing:auto_renew", args=[line.pk]), data, follow=True)
