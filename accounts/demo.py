"""The demo data that ``manage.py seed_demo`` writes. Running it again gives the same state.

The accounts it creates are marked (``DemoAccount``); it resets only those.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import DemoAccount, User

DEMO_PHONE = "+8613800138000"
DEMO_EMAIL = "demo@boom.example"
DEMO_PASSWORD = "boom-demo-2026"  # noqa: S105 (a published demo log-in)
ADMIN_USERNAME = "admin"
ADMIN_PHONE = "+8613800138999"
ADMIN_PASSWORD = "boom-admin-2026"  # noqa: S105


@dataclass(frozen=True)
class DemoAccounts:
    customer: User
    admin: User


class DemoAccountTaken(Exception):
    """A demo log-in belongs to an account that seed_demo did not create: it is left alone."""


def _demo_user(matches: QuerySet[User], password: str) -> User | None:
    """The demo account among ``matches`` (the accounts holding a demo log-in), or None if there
    is none yet. Any other account there stops the seeding, so that it never resets a password
    or grants staff rights to an account that is not the demo's. One whose password already is
    the demo one (made by seed_demo before it marked its accounts) is taken as the demo's.
    """
    users = list(matches.select_related("demo_account").order_by("pk"))
    for user in users:
        if not hasattr(user, "demo_account") and not user.check_password(password):
            raise DemoAccountTaken(
                f"The account {user} holds a demo log-in but was not made by seed_demo: "
                "seed_demo leaves it alone and stops. Use a fresh database for the demo."
            )
    if len(users) > 1:
        raise DemoAccountTaken(f"The demo log-ins are split over the accounts {', '.join(map(str, users))}.")
    return users[0] if users else None


def _demo_save(user: User, password: str, **fields: Any) -> User:
    for name, value in fields.items():
        setattr(user, name, value)
    user.set_password(password)
    user.save()
    DemoAccount.objects.get_or_create(user=user)
    return user


@transaction.atomic
def seed_accounts() -> DemoAccounts:
    """The demo customer and staff member, created or restored; DemoAccountTaken (nothing
    written) if another account holds one of their log-ins."""
    now = timezone.now()
    customer_phone = PhoneNumber.from_string(DEMO_PHONE)
    customer = _demo_save(
        _demo_user(User.objects.filter(Q(phone=customer_phone) | Q(email__iexact=DEMO_EMAIL)), DEMO_PASSWORD)
        or User(phone=customer_phone),
        DEMO_PASSWORD,
        email=DEMO_EMAIL,
        language="zh-hans",
        time_zone="Asia/Shanghai",
        phone_verified_at=now,
        is_active=True,
    )
    admin_phone = PhoneNumber.from_string(ADMIN_PHONE)
    admin = _demo_save(
        _demo_user(User.objects.filter(Q(username=ADMIN_USERNAME) | Q(phone=admin_phone)), ADMIN_PASSWORD)
        or User(username=ADMIN_USERNAME),
        ADMIN_PASSWORD,
        phone=admin_phone,
        is_staff=True,
        is_superuser=True,
        is_active=True,
        phone_verified_at=now,
        language="en",
    )

    return DemoAccounts(customer=customer, admin=admin)
