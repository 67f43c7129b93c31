"""Data for the bench, made in bulk: rows come from ``INSERT ... SELECT generate_series`` in
PostgreSQL wherever they are many, through the ORM only where they are few.

Every phone number, ICCID and record id is unique across the whole run: each kind of line has
its own range of numbers (see ``Range``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Notice, User
from billing.models import Order, OrderItem
from plans.models import Bucket, Line, Plan
from plans.services import bucket_grant
from plans.validators import luhn_check_digit, luhn_valid

PASSWORD = "bench-Password-2026!"  # noqa: S105 (the bench customer's, in a database the bench drops)
ICCID_PREFIX = "8985203"  # 7 digits, then an 11-digit serial, then the Luhn check digit
SERIAL_DIGITS = 11


@dataclass(frozen=True)
class Range:
    """Where one kind of bench line takes its numbers: ``msisdn_prefix`` + a serial padded to
    ``msisdn_digits`` (HK mobile numbers are +852 and 8 digits starting 5, 6 or 9), and ICCID
    serials from ``iccid_base``."""

    msisdn_prefix: str
    msisdn_digits: int
    iccid_base: int

    def msisdn(self, serial: int) -> str:
        return f"{self.msisdn_prefix}{serial:0{self.msisdn_digits}d}"


PAGE_LINES = Range("+8525100", 4, 1_000_000)
USAGE_LINES = Range("+852520", 5, 2_000_000)
WEBHOOK_LINES = Range("+852530", 5, 3_000_000)
SWEEP_LINES = Range("+8526", 7, 10_000_000)


def iccid(serial: int) -> str:
    payload = f"{ICCID_PREFIX}{serial:0{SERIAL_DIGITS}d}"
    return payload + luhn_check_digit(payload)


def _iccid_sql(serial: str) -> str:
    """An SQL expression for ``iccid(serial)``: the prefix, the serial, and the Luhn digit of
    both computed digit by digit in integer arithmetic (no function call per row). Its ``%``
    are doubled, for a query run with parameters."""
    prefix_sum = 0
    for offset, char in enumerate(reversed(ICCID_PREFIX), start=SERIAL_DIGITS):
        value = int(char) * (2 if offset % 2 == 0 else 1)
        prefix_sum += value - 9 if value > 9 else value
    terms = [str(prefix_sum)]
    for offset in range(SERIAL_DIGITS):
        digit = f"(({serial}) / {10**offset} %% 10)"
        # Offsets 0, 2, 4 ... from the payload's right are doubled (the check digit comes after).
        terms.append(f"(2 * {digit} - 9 * ({digit} >= 5)::int)" if offset % 2 == 0 else digit)
    total = " + ".join(terms)
    check = f"((10 - ({total}) %% 10) %% 10)::text"
    return f"'{ICCID_PREFIX}' || lpad(({serial})::text, {SERIAL_DIGITS}, '0') || {check}"


def users_insert(*, first: int, count: int, email: bool = True) -> list[int]:
    """``count`` verified customers (passwords unusable), numbered from ``first``; their ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, phone, email, email_pending, language, time_zone,
                phone_verified_at, is_active, is_staff, date_joined)
            SELECT '!bench', false, '+86138' || lpad(n::text, 8, '0'),
                   CASE WHEN %s THEN 'bench' || n || '@bench.example' ELSE '' END, '',
                   'zh-hans', 'Asia/Shanghai', now(), true, false, now()
            FROM generate_series(%s::bigint, %s::bigint) AS n
            ORDER BY n
            RETURNING id
            """,
            [email, first, first + count - 1],
        )
        return sorted(row[0] for row in cursor.fetchall())


def lines_insert(
    *,
    numbers: Range,
    first: int,
    count: int,
    owner_ids: list[int] | None,
    plan: Plan | None,
    expires_at_sql: str,
    auto_renew_sql: str = "false",
    unowned_every: int = 0,
) -> None:
    """``count`` lines with serials ``first ...`` of ``numbers``. Owners go round ``owner_ids``;
    with ``unowned_every`` N, each Nth line is an unimported stock line (no owner, no expiry).
    ``expires_at_sql`` and ``auto_renew_sql`` are SQL expressions of the serial ``n`` and of
    ``now``."""
    owners = owner_ids or []
    owned = f"(n %% {unowned_every} <> 0)" if unowned_every else "true"
    if not owners:
        owned = "false"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO plans_line (msisdn, iccid, eid, smdp_address, matching_id, status, nickname,
                created_at, added_at, owner_id, expires_at, plan_id, auto_renew)
            SELECT %(prefix)s || lpad(n::text, %(digits)s, '0'),
                   {_iccid_sql(f"n + {numbers.iccid_base}")},
                   '', 'smdp.boom.example', 'BENCH-' || (n + {numbers.iccid_base}),
                   CASE WHEN owned THEN 'active' ELSE 'available' END, '', now,
                   CASE WHEN owned THEN now END,
                   CASE WHEN owned THEN (%(owners)s::bigint[])[1 + n %% %(owner_count)s] END,
                   CASE WHEN owned THEN {expires_at_sql} END,
                   CASE WHEN owned THEN %(plan)s::bigint END,
                   owned AND {auto_renew_sql}
            FROM (
                SELECT n, {owned} AS owned, now() AS now FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
            ) AS serials
            ORDER BY n
            """,  # noqa: S608 (expressions written in this module, never input)
            {
                "prefix": numbers.msisdn_prefix,
                "digits": numbers.msisdn_digits,
                "owners": owners or [0],
                "owner_count": max(len(owners), 1),
                "plan": plan.pk if plan else None,
                "first": first,
                "last": first + count - 1,
            },
        )


def lines_of(numbers: Range, first: int, count: int) -> list[int]:
    """The ids of lines ``first ... first + count - 1`` of ``numbers``, in serial order."""
    msisdns = [numbers.msisdn(n) for n in range(first, first + count)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT msisdn, id FROM plans_line WHERE msisdn = ANY(%s)", [msisdns])
        ids = dict(cursor.fetchall())
    return [ids[m] for m in msisdns]


def iccids_check(sample: int = 200) -> None:
    """The ICCIDs made in SQL pass the app's own Luhn check."""
    for value in Line.objects.filter(smdp_address="smdp.boom.example").values_list("iccid", flat=True)[:sample]:
        if not (19 <= len(value) <= 20 and luhn_valid(value)):
            raise AssertionError(f"bench ICCID {value} fails the Luhn check")


def buckets_insert(*, line_ids_sql: str, plan: Plan, starts: str, expires: str, used_share: float = 0.0) -> None:
    """One bucket of ``plan`` for each line ``line_ids_sql`` selects (a query naming ``id``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO plans_bucket (line_id, plan_id, is_addon, countries, data_total, data_used,
                voice_total, voice_used, sms_total, sms_used, starts_at, expires_at, created_at)
            SELECT l.id, %(plan)s, %(addon)s, %(countries)s::jsonb,
                   %(data)s, (%(data)s * %(share)s)::bigint, %(voice)s, (%(voice)s * %(share)s)::bigint,
                   %(sms)s, (%(sms)s * %(share)s)::int, {starts}, {expires}, now()
            FROM ({line_ids_sql}) AS l
            """,  # noqa: S608 (expressions written in this module, never input)
            {
                "plan": plan.pk,
                "addon": plan.is_addon,
                "countries": "[]" if not plan.countries else str(plan.countries).replace("'", '"'),
                "data": plan.data_mb * 1024 * 1024,
                "voice": plan.minutes * 60,
                "sms": plan.sms,
                "share": used_share,
            },
        )


# --- The page customer ----------------------------------------------------------------------


@dataclass(frozen=True)
class PageCustomer:
    user: User
    line_ids: list[int]
    phone: str
    password: str


def page_customer(plans: dict[str, Plan], *, orders: int = 200, usage_records: int = 100_000) -> PageCustomer:
    """A customer with 3 lines (one with a roaming pack), ``orders`` past orders (each paid one
    with its bucket, long spent), ``usage_records`` usage records over the last year spread over
    the lines, their daily totals, and some notices (a few unread)."""
    now = timezone.now()
    phone = "+8613800990001"
    user = User.objects.create_user(
        phone, PASSWORD, email="page-customer@bench.example", language="zh-hans", phone_verified_at=now
    )
    lines_insert(
        numbers=PAGE_LINES,
        first=1,
        count=3,
        owner_ids=[user.pk],
        plan=plans["basic-30"],
        expires_at_sql="now + interval '12 days'",
    )
    line_ids = lines_of(PAGE_LINES, 1, 3)
    lines = list(Line.objects.filter(pk__in=line_ids).order_by("pk"))
    Line.objects.filter(pk=line_ids[1]).update(nickname="工作号")
    base = [plans["basic-30"], plans["basic-10"], plans["bigdata-100"]]

    with transaction.atomic():
        # Past orders, newest first, going round the lines; each paid one made a bucket, now spent.
        kinds = (Order.Status.FULFILLED,) * 8 + (Order.Status.CANCELLED, Order.Status.REFUNDED)
        made = Order.objects.bulk_create(
            Order(
                user=user,
                line=lines[n % 3],
                plan=base[n % 3],
                kind=Order.Kind.RENEWAL,
                amount_minor=3800 + 1000 * (n % 3),
                currency="CNY",
                status=kinds[n % len(kinds)],
                payment_intent_id=f"pi_bench_page_{n:04d}",
                payment_method_type="card" if n % 4 else "alipay",
                card_brand="visa" if n % 4 else "",
                card_last4="4242" if n % 4 else "",
                created_at=now - timedelta(days=1 + 2 * n),
                paid_at=now - timedelta(days=1 + 2 * n),
                fulfilled_at=now - timedelta(days=1 + 2 * n),
            )
            for n in range(orders)
        )
        paid = [order for order in made if order.status != Order.Status.CANCELLED]
        buckets = Bucket.objects.bulk_create(
            Bucket(
                line_id=order.line_id,
                plan=order.plan,
                data_total=order.plan.data_mb * 1024 * 1024,
                data_used=order.plan.data_mb * 1024 * 1024,
                voice_total=order.plan.minutes * 60,
                sms_total=order.plan.sms,
                starts_at=order.created_at,
                expires_at=min(order.created_at + timedelta(days=30), now - timedelta(hours=1)),
            )
            for order in paid
        )
        bought = {order.pk: bucket for order, bucket in zip(paid, buckets, strict=True)}
        OrderItem.objects.bulk_create(
            OrderItem(order=o, position=0, plan=o.plan, amount_minor=o.amount_minor, bucket=bought.get(o.pk))
            for o in made
        )
    # What each line has now: a live base bucket part used, and a roaming pack on the second.
    for line, share in zip(lines, (0.3, 0.8, 0.5), strict=True):
        bucket = bucket_grant(line=line, plan=plans["basic-30"], now=now - timedelta(days=18))
        Bucket.objects.filter(pk=bucket.pk).update(
            data_used=int(bucket.data_total * share), voice_used=int(bucket.voice_total * share / 2)
        )
    bucket_grant(line=lines[1], plan=plans["roam-jpkr-7"], now=now - timedelta(days=2))

    with connection.cursor() as cursor:
        # One record every 5 minutes, going round the lines: 100,000 of them span most of a year.
        cursor.execute(
            """
            INSERT INTO plans_usagerecord (record_id, line_id, kind, amount, country, at, received_at, overage)
            SELECT 'page-' || lpad(n::text, 7, '0'), (%(lines)s::bigint[])[1 + n %% 3],
                   (ARRAY['data','data','data','data','data','data','data','voice','voice','sms'])[1 + n %% 10],
                   CASE n %% 10 WHEN 7 THEN 60 + n %% 600 WHEN 8 THEN 60 + n %% 600 WHEN 9 THEN 1
                        ELSE 100000 + (n * 7919) %% 20000000 END,
                   CASE WHEN n %% 50 = 0 THEN 'JP' ELSE 'HK' END,
                   now() - make_interval(mins => 5 * n), now() - make_interval(mins => 5 * n), 0
            FROM generate_series(1, %(count)s) AS n
            """,
            {"lines": line_ids, "count": usage_records},
        )
        cursor.execute(
            """
            INSERT INTO plans_dailyusage (line_id, day, data, voice, sms, data_overage, voice_overage, sms_overage,
                                          last_at, last_kind, last_amount, last_country)
            SELECT line_id, (at AT TIME ZONE 'Asia/Shanghai')::date,
                   coalesce(sum(amount) FILTER (WHERE kind = 'data'), 0),
                   coalesce(sum(amount) FILTER (WHERE kind = 'voice'), 0),
                   count(*) FILTER (WHERE kind = 'sms'), 0, 0, 0,
                   -- each day's newest record, as applying keeps it
                   max(at), (array_agg(kind ORDER BY at DESC))[1], (array_agg(amount ORDER BY at DESC))[1],
                   (array_agg(country ORDER BY at DESC))[1]
            FROM plans_usagerecord WHERE line_id = ANY(%(lines)s)
            GROUP BY 1, 2
            """,
            {"lines": line_ids},
        )
    Notice.objects.bulk_create(
        Notice(
            user=user,
            line_ref=lines[n % 3].pk,
            line_number=str(lines[n % 3].msisdn),
            kind=Notice.Kind.PAYMENT_CONFIRMED,
            key=f"bench-page-notice:{n}",
            params={"order": "BMBENCH", "plan_code": "basic-30", "amount_minor": 6800, "currency": "CNY"},
            created_at=now - timedelta(days=n),
            read_at=None if n < 5 else now,
        )
        for n in range(30)
    )
    return PageCustomer(user=user, line_ids=line_ids, phone=phone, password=PASSWORD)


def password_hash() -> str:
    return make_password(PASSWORD)


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def now_sql(at: datetime) -> str:
    """A literal for ``at`` in SQL (written here, never from input)."""
    return f"'{at.isoformat()}'::timestamptz"
