"""The demo catalogue, and plans and some usage on the demo customer's lines."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import User
from plans.models import GB, MB, Bucket, DailyUsage, Line, Plan, Price, UsageRecord, usage_day
from plans.services import bucket_grant
from plans.validators import luhn_check_digit

EUROPE = ["AT", "BE", "CH", "CZ", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "IE", "IT", "NL", "NO", "PL", "PT", "SE"]

# code, kind, add-on, names, data MB, minutes, SMS, days, countries, {currency: minor units}
CATALOGUE: list[dict[str, Any]] = [
    {
        "code": "basic-10",
        "kind": Plan.Kind.BASIC,
        "name_en": "Basic 10 GB",
        "name_zh": "基础套餐 10GB",
        "description_en": "10 GB of data, 100 minutes and 50 SMS for 30 days.",
        "description_zh": "30 天内 10GB 流量、100 分钟通话、50 条短信。",
        "data_mb": 10 * 1024,
        "minutes": 100,
        "sms": 50,
        "validity_days": 30,
        "prices": {"CNY": 3800, "HKD": 4200, "USD": 550},
    },
    {
        "code": "basic-30",
        "kind": Plan.Kind.BASIC,
        "name_en": "Basic 30 GB",
        "name_zh": "基础套餐 30GB",
        "description_en": "30 GB of data, 300 minutes and 100 SMS for 30 days.",
        "description_zh": "30 天内 30GB 流量、300 分钟通话、100 条短信。",
        "data_mb": 30 * 1024,
        "minutes": 300,
        "sms": 100,
        "validity_days": 30,
        "prices": {"CNY": 6800, "HKD": 7500, "USD": 950},
    },
    {
        "code": "bigdata-100",
        "kind": Plan.Kind.BIG_DATA,
        "name_en": "Big Data 100 GB",
        "name_zh": "大流量套餐 100GB",
        "description_en": "100 GB of data, 500 minutes and 100 SMS for 30 days.",
        "description_zh": "30 天内 100GB 流量、500 分钟通话、100 条短信。",
        "data_mb": 100 * 1024,
        "minutes": 500,
        "sms": 100,
        "validity_days": 30,
        "prices": {"CNY": 12800, "HKD": 14000, "USD": 1800},
    },
    {
        "code": "flex",
        "kind": Plan.Kind.FLEXIBLE,
        "name_en": "Flexible plan",
        "name_zh": "自选套餐",
        "description_en": "Pick your own data (1 to 100 GB) and minutes (0 to 1,000) for 30 days.",
        "description_zh": "30 天内自选流量（1–100GB）和通话分钟数（0–1000 分钟）。",
        "validity_days": 30,
        "sms": 50,
        "flex_data_gb_min": 1,
        "flex_data_gb_max": 100,
        "flex_minutes_min": 0,
        "flex_minutes_max": 1000,
        "prices": {"CNY": (500, 250, 500), "HKD": (600, 280, 550), "USD": (80, 35, 70)},
    },
    {
        "code": "topup-5",
        "kind": Plan.Kind.BASIC,
        "is_addon": True,
        "name_en": "Data top-up 5 GB",
        "name_zh": "流量加油包 5GB",
        "description_en": "5 GB more at home, for 30 days. Your expiry date stays the same.",
        "description_zh": "国内流量加 5GB，30 天有效，不改变号码到期日。",
        "data_mb": 5 * 1024,
        "validity_days": 30,
        "prices": {"CNY": 1500, "HKD": 1700, "USD": 220},
    },
    {
        "code": "roam-hkmo-7",
        "kind": Plan.Kind.ROAMING,
        "is_addon": True,
        "name_en": "Hong Kong & Macau 3 GB, 7 days",
        "name_zh": "港澳漫游 3GB（7 天）",
        "description_en": "3 GB of data in Hong Kong and Macau for 7 days.",
        "description_zh": "7 天内在香港、澳门使用 3GB 流量。",
        "data_mb": 3 * 1024,
        "minutes": 30,
        "validity_days": 7,
        "countries": ["HK", "MO"],
        "prices": {"CNY": 2500, "HKD": 2800, "USD": 350},
    },
    {
        "code": "roam-jpkr-7",
        "kind": Plan.Kind.ROAMING,
        "is_addon": True,
        "name_en": "Japan & Korea 5 GB, 7 days",
        "name_zh": "日韩漫游 5GB（7 天）",
        "description_en": "5 GB of data in Japan and South Korea for 7 days.",
        "description_zh": "7 天内在日本、韩国使用 5GB 流量。",
        "data_mb": 5 * 1024,
        "minutes": 30,
        "validity_days": 7,
        "countries": ["JP", "KR"],
        "prices": {"CNY": 4500, "HKD": 5000, "USD": 650},
    },
    {
        "code": "roam-eu-15",
        "kind": Plan.Kind.ROAMING,
        "is_addon": True,
        "name_en": "Europe 10 GB, 15 days",
        "name_zh": "欧洲漫游 10GB（15 天）",
        "description_en": "10 GB of data in 18 European countries for 15 days.",
        "description_zh": "15 天内在欧洲 18 国使用 10GB 流量。",
        "data_mb": 10 * 1024,
        "minutes": 60,
        "validity_days": 15,
        "countries": EUROPE,
        "prices": {"CNY": 9800, "HKD": 10800, "USD": 1400},
    },
]


DEMO_LINES = [
    # msisdn, ICCID without its check digit, nickname
    ("+8617012345678", "898601700001234567", "我的手机"),
    ("+8617012345679", "898601700001234568", "出差用"),
]
DEMO_SMDP = "smdp.boom.example"


def demo_iccid(payload: str) -> str:
    return payload + luhn_check_digit(payload)


@transaction.atomic
def seed_lines(customer: User) -> None:
    """The demo customer's lines, restored as they were."""
    now = timezone.now()
    for msisdn, iccid_payload, nickname in DEMO_LINES:
        iccid = demo_iccid(iccid_payload)
        Line.objects.update_or_create(
            iccid=iccid,
            defaults={
                "msisdn": PhoneNumber.from_string(msisdn),
                "smdp_address": DEMO_SMDP,
                "matching_id": f"BOOM-{iccid[-8:]}",
                "owner": customer,
                "status": Line.Status.ACTIVE,
                "nickname": nickname,
                "added_at": now,
            },
        )


@transaction.atomic
def seed_catalogue() -> dict[str, Plan]:
    plans = {}
    for order, entry in enumerate(CATALOGUE):
        fields = {key: value for key, value in entry.items() if key not in {"code", "prices"}}
        plan, _ = Plan.objects.update_or_create(code=entry["code"], defaults={**fields, "sort_order": order})
        for currency, value in entry["prices"].items():
            base, per_gb, per_100 = value if isinstance(value, tuple) else (value, 0, 0)
            Price.objects.update_or_create(
                plan=plan,
                currency=currency,
                defaults={"amount_minor": base, "per_gb_minor": per_gb, "per_100_minutes_minor": per_100},
            )
        plans[plan.code] = plan
    return plans


# line nickname's position, plan, days until expiry, share of data used, extra packs, and how
# long ago the network last reported its use (the freshness stamp)
DEMO_USE = [
    ("basic-30", 19, 0.62, [], timedelta(minutes=12)),
    ("basic-10", 5, 0.81, ["roam-jpkr-7"], timedelta(hours=3)),
]


@transaction.atomic
def seed_line_plans(customer: User, plans: dict[str, Plan]) -> None:
    """Give each demo line a plan and a month of usage, once (a line with buckets is left alone)."""
    now = timezone.now()
    lines = list(Line.objects.filter(owner=customer).order_by("added_at", "id"))
    for line, (code, days_left, used_share, packs, reported) in zip(lines, DEMO_USE, strict=False):
        if Bucket.objects.filter(line=line).exists():
            continue
        plan = plans[code]
        started = now - timedelta(days=plan.validity_days - days_left)
        bucket = bucket_grant(line=line, plan=plan, now=started)
        bucket.data_used = int(bucket.data_total * used_share)
        bucket.voice_used = int(bucket.voice_total * used_share * 0.4)
        bucket.sms_used = int(bucket.sms_total * used_share * 0.2)
        bucket.save(update_fields=["data_used", "voice_used", "sms_used"])
        for pack in packs:
            roaming = bucket_grant(line=line, plan=plans[pack], now=now - timedelta(days=2))
            roaming.data_used = int(1.4 * GB)
            roaming.save(update_fields=["data_used"])
        _spread_daily_usage(line, bucket.data_used, started, now)
        record = UsageRecord.objects.create(
            record_id=f"demo-{line.pk}-{now:%Y%m%d%H%M%S}",
            line=line,
            kind=UsageRecord.Kind.DATA,
            amount=20 * MB,
            country="CN",
            at=now - reported,
        )
        # As applying it would have: the line's last usage, on its day's totals.
        DailyUsage.objects.update_or_create(
            line=line,
            day=usage_day(record.at),
            defaults={"last_at": record.at, "last_kind": "data", "last_amount": record.amount, "last_country": "CN"},
        )


def _spread_daily_usage(line: Line, total: int, start: datetime, end: datetime) -> None:
    days = max((end - start).days, 1)
    pattern = [0.6, 1.4, 0.9, 1.1, 0.7, 1.6, 1.2]  # a plausible week: more at weekends
    weights = [pattern[i % len(pattern)] for i in range(days)]
    scale = total / sum(weights)
    rows = []
    for i, weight in enumerate(weights):
        day = usage_day(start + timedelta(days=i))
        rows.append(DailyUsage(line=line, day=day, data=int(weight * scale) // MB * MB, voice=int(weight * 600)))
    DailyUsage.objects.bulk_create(rows, ignore_conflicts=True)
