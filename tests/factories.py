"""factory_boy factories for the test data."""

from datetime import datetime, timedelta
from functools import cache
from itertools import count
from typing import Any

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import User
from boomcard.formats import money
from plans.models import MB, Bucket, Line, Plan
from plans.validators import luhn_check_digit

PASSWORD = "correct-Horse-42!"
# The ``customer`` fixture's phone and email (tests/conftest.py).
CUSTOMER_PHONE = "+8613800138000"
CUSTOMER_EMAIL = "demo@example.com"


@cache
def _password_hash() -> str:
    # Argon2 is slow on purpose; hash the shared test password once per run.
    return make_password(PASSWORD)


_numbers = count(1)


def mobile_number() -> PhoneNumber:
    """A valid, unused mainland China mobile number."""
    return PhoneNumber.from_string(f"+86139{next(_numbers):08d}")


def line_number() -> PhoneNumber:
    """A valid, unused Hong Kong mobile number, as Boom's lines have."""
    return PhoneNumber.from_string(f"+85251{next(_numbers):06d}")


def iccid(n: int) -> str:
    payload = f"8985203{n:011d}"
    return payload + luhn_check_digit(payload)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.LazyFunction(mobile_number)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    language = "en"
    phone_verified_at = factory.LazyFunction(timezone.now)
    password = factory.LazyFunction(_password_hash)


class LineFactory(factory.django.DjangoModelFactory[Line]):
    class Meta:
        model = Line

    msisdn = factory.LazyFunction(line_number)
    iccid = factory.Sequence(lambda n: iccid(1_000_000 + n))
    smdp_address = "smdp.boom.example"
    matching_id = factory.Sequence(lambda n: f"MATCH-{n:06d}")
    status = Line.Status.AVAILABLE

    class Params:
        owned = factory.Trait(
            owner=factory.SubFactory(UserFactory),
            status=Line.Status.ACTIVE,
            added_at=factory.LazyFunction(timezone.now),
        )

    @classmethod
    def _create(cls, model_class: type[Line], *args: Any, **kwargs: Any) -> Line:
        if kwargs.get("owner") is not None and kwargs.get("status") == Line.Status.AVAILABLE:
            kwargs["status"] = Line.Status.ACTIVE
            kwargs.setdefault("added_at", timezone.now())
        return super()._create(model_class, *args, **kwargs)


class PlanFactory(factory.django.DjangoModelFactory[Plan]):
    """A home base plan; ``roaming=True`` makes an add-on pack for Japan and Korea."""

    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"plan-{n}")
    kind = Plan.Kind.BASIC
    name_en = factory.LazyAttribute(lambda plan: f"Plan {plan.code}")
    name_zh = factory.LazyAttribute(lambda plan: f"套餐 {plan.code}")
    data_mb = 1024
    minutes = 100
    sms = 50
    validity_days = 30
    countries = factory.LazyFunction(list)

    class Params:
        roaming = factory.Trait(kind=Plan.Kind.ROAMING, is_addon=True, countries=["JP", "KR"], validity_days=7)


class BucketFactory(factory.django.DjangoModelFactory[Bucket]):
    """A bucket of the plan's allowance, live from a day ago for the plan's validity."""

    class Meta:
        model = Bucket

    line = factory.SubFactory(LineFactory)
    plan = factory.SubFactory(PlanFactory)
    is_addon = factory.SelfAttribute("plan.is_addon")
    countries = factory.LazyAttribute(lambda bucket: list(bucket.plan.countries))
    data_total = factory.LazyAttribute(lambda bucket: bucket.plan.data_mb * MB)
    voice_total = factory.LazyAttribute(lambda bucket: bucket.plan.minutes * 60)
    sms_total = factory.SelfAttribute("plan.sms")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    expires_at = factory.LazyAttribute(lambda bucket: bucket.starts_at + timedelta(days=bucket.plan.validity_days))


def price_minor(plan: Plan, currency: str = "CNY") -> int:
    """The plan's price in ``currency``, in minor units, as the catalogue the test made has it."""
    return plan.prices.get(currency=currency).amount_minor


def price_shown(plan: Plan, currency: str = "CNY") -> str:
    """The plan's price as the pages show it: ``¥38.00``."""
    return money(price_minor(plan, currency), currency)


_usage_ids = count(1)


def usage_applied(line: Line, *, at: datetime, amount: int = MB, kind: str = "data", country: str = "CN") -> None:
    """One usage record for ``line`` applied as the network's would be (``plans.usage``): its
    buckets drawn on, its day's totals and its last usage kept."""
    from plans.usage import usage_ingest

    record = {"id": f"t-{next(_usage_ids)}", "msisdn": line.msisdn.as_e164, "kind": kind, "amount": amount}
    report = usage_ingest(records=[{**record, "country": country, "at": at.isoformat()}])
    assert report.accepted == 1, report.errors
