"""The customer's own settings: language and time zone. Each function is one transaction."""

from __future__ import annotations

from accounts.models import User
from boomcard.page_cache import customers_changed


def user_preferences_update(*, user: User, language: str, time_zone: str) -> User:
    """Language and time zone; the email changes through accounts.email_change."""
    user.language = language
    user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


def user_language_set(*, user: User, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)
    customers_changed([user.pk])
