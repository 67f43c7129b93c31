"""The demo data that ``manage.py seed_demo`` writes. Running it again gives the same state."""

from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import Line, User
from accounts.validators import luhn_check_digit

DEMO_PHONE = "+8613800138000"
DEMO_PASSWORD = "boom-demo-2026"  # noqa: S105 (a published demo log-in)
ADMIN_USERNAME = "admin"
ADMIN_PHONE = "+8613800138999"
ADMIN_PASSWORD = "boom-admin-2026"  # noqa: S105

DEMO_LINES = [
    # msisdn, ICCID without its check digit, nickname
    ("+8617012345678", "898601700001234567", "我的手机"),
    ("+8617012345679", "898601700001234568", "出差用"),
]
DEMO_SMDP = "smdp.boom.example"


def demo_iccid(payload: str) -> str:
    return payload + luhn_check_digit(payload)


@transaction.atomic
def seed_accounts() -> User:
    now = timezone.now()
    customer, _ = User.objects.update_or_create(
        phone=PhoneNumber.from_string(DEMO_PHONE),
        defaults={
            "email": "demo@boom.example",
            "language": "zh-hans",
            "time_zone": "Asia/Shanghai",
            "phone_verified_at": now,
            "is_active": True,
        },
    )
    customer.set_password(DEMO_PASSWORD)
    customer.save(update_fields=["password"])

    admin, _ = User.objects.update_or_create(
        username=ADMIN_USERNAME,
        defaults={
            "phone": PhoneNumber.from_string(ADMIN_PHONE),
            "is_staff": True,
            "is_superuser": True,
            "is_active": True,
            "phone_verified_at": now,
            "language": "en",
        },
    )
    admin.set_password(ADMIN_PASSWORD)
    admin.save(update_fields=["password"])

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
    return customer
