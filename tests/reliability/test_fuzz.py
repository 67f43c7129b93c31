"""Hypothesis throws arbitrary input at every form, at the usage API and at Stripe's webhook:
no input makes a 500 (the test client raises a view's exception, so one shows here as the
exception itself, shrunk to the smallest input that causes it).

Values mix what the forms expect (numbers in every writing, plan codes, real line numbers,
card ids) with what they do not (any text, NUL characters, huge and negative numbers, several
values for one field, fields left out). The API and webhook bodies are signed correctly unless
the target is about signatures, so the code behind the signature check is what gets fuzzed.

The examples are derandomised: the same inputs every run, so that ``make test`` is repeatable.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from axes.utils import reset as axes_reset
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from phonenumber_field.phonenumber import PhoneNumber

from accounts import registration as registrations
from accounts import sms
from accounts.models import SmsCode, SupportRequest, User
from accounts.password_reset import password_reset_request
from accounts.support import support_request_create
from accounts.views.password_reset import RESET_PHONE_KEY
from accounts.views.registration import VERIFY_REGISTRATION_KEY
from billing import services as billing
from billing.models import Order
from plans import lines as plan_lines
from plans.line_views import ADD_LINE_KEY
from plans.models import Line, Plan
from plans.services import bucket_grant
from plans.signing import usage_signature
from tests.billing.test_webhooks import events_process, stripe_signature
from tests.card_payments import CARDS
from tests.factories import LineFactory, UserFactory
from tests.reliability.conftest import CARD_OK, stripe_api, stripe_card

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_API = hypothesis_settings(FUZZ, max_examples=75)
CARD_DECLINED, CARD_3DS = CARDS["declined"], CARDS["3ds"]

# --- Values ---------------------------------------------------------------------------------

# Any text a browser can send (UTF-8: no lone surrogates), NUL included.
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)
with_nul = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=10), st.text(max_size=10))
numberish = st.one_of(
    st.integers().map(str),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.sampled_from(["NaN", "inf", "-Infinity", "1e999", "-0", "0x10", "١٢٣", "１２３", "2.5", " 7 ", "1_000"]),
    st.just("9" * 400),
)
phones = st.one_of(
    st.sampled_from(
        ["+8613800138000", "13800138000", "+86 138 0013 8000", "+85251000001", "+1 202 555 0100", "00861380013800"]
    ),
    st.from_regex(r"\+?[0-9 ()\-]{0,25}", fullmatch=True),
)
# Stands for the code the form's step has just sent by SMS, put in when the request is made.
SENT_CODE = "<the code just sent>"
codes = st.one_of(
    st.just(SENT_CODE),
    st.from_regex(r"[0-9 ]{0,8}", fullmatch=True),
    st.sampled_from(["123456", "000000", "１２３４５６"]),
)
passwords = st.one_of(st.sampled_from(["correct-Horse-42!", "password", "12345678", ""]), text)
emails = st.one_of(st.emails(), st.sampled_from(["buyer@example.com", "a@b", "@", "x" * 300 + "@example.com"]))


def anything(*expected: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(*expected, text, numberish, with_nul, st.just(""))


def form(**fields: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of ``fields``, each one value or several (as a form with a repeated field sends)."""
    several = {name: st.one_of(values, st.lists(values, min_size=2, max_size=3)) for name, values in fields.items()}
    return st.fixed_dictionaries({}, optional=several)


# JSON can say what a form cannot: lone surrogates ("\ud800"), NaN, numbers of any size.
json_text = st.one_of(text, st.text(alphabet=st.characters(exclude_categories=()), max_size=20))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64) | st.floats() | json_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(json_text, children, max_size=5),
    max_leaves=25,
)
json_objects = st.dictionaries(json_text, json_values, max_size=8)
headers_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=120)


# --- The site's state the forms work on ---------------------------------------------------------


@dataclass
class Site:
    customer: User
    line: Line
    order_line: Line  # has an open order
    other_line: Line  # another customer's
    open_order: Order
    plans: dict[str, Plan]
    cards: list[str]  # paid, declined, 3-D Secure

    def order_to_pay(self) -> Order:
        """The order line's open order: the same one until it is paid, then a new one."""
        return billing.order_start(
            user=self.customer, line=self.order_line, plan=self.plans["basic-10"], currency="CNY"
        )


@pytest.fixture
def site(plans: dict[str, Plan], localstripe: str, settings: Any) -> Site:
    # A cache of this test's own: examples clear it, and Redis's is shared with other runs.
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    customer = UserFactory.create(email="fuzz@example.com")
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    order_line = LineFactory.create(owner=customer)
    bucket_grant(line=order_line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    open_order = billing.order_start(user=customer, line=order_line, plan=plans["basic-10"], currency="CNY")
    LineFactory.create()  # an unowned line, which "add a line" can claim
    other_line = LineFactory.create(owner=UserFactory.create())
    api = stripe_api(localstripe)
    return Site(
        customer=customer,
        line=line,
        order_line=order_line,
        other_line=other_line,
        open_order=open_order,
        plans=plans,
        cards=[stripe_card(api, localstripe, number) for number in (CARD_OK, CARD_DECLINED, CARD_3DS)],
    )


def browser(user: User | None = None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def with_session(client: Client, **values: Any) -> Client:
    session = client.session
    session.update(values)
    session.save()
    return client


def no_server_error(response: Any) -> None:
    assert response.status_code != 500, response.content[:500]
    # A 5xx the app gives on purpose is a JSON answer naming the payment service, never a crash.
    if response.status_code >= 500:
        assert response.status_code in (502, 503), response.status_code
        assert "error" in response.json()


# --- Forms ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A form: where it is, who opens it (and with what in their session), and its fields."""

    url: Callable[[Site], str]
    fields: Callable[[Site], st.SearchStrategy[dict[str, Any]]]
    client: Callable[[Site], Client]
    method: str = "post"


def _line_values(site: Site) -> st.SearchStrategy[str]:
    return anything(st.sampled_from([str(site.line.pk), str(site.other_line.pk), "0", "-1"]))


def _plan_codes(site: Site) -> st.SearchStrategy[str]:
    return anything(st.sampled_from([*site.plans, "no-such-plan", "../basic-10", "BASIC-10"]))


def _new_user_client(site: Site) -> Client:
    return browser()


def _own_support_request(site: Site) -> int:
    """One of the customer's support requests, for the page that takes their replies."""
    own = SupportRequest.objects.filter(user=site.customer).first()
    if own is None:
        own = support_request_create(user=site.customer, topic="other", message="A request to reply to.")
    return own.pk


def _customer_client(site: Site) -> Client:
    return browser(site.customer)


def _verify_client(site: Site) -> Client:
    """A registration waiting for its code (the account an example made by getting the code
    right is removed first), a code sent."""
    User.objects.filter(phone="+8613700009999").delete()
    registration = registrations.registration_start(
        phone=PhoneNumber.from_string("+8613700009999"), password="blue-River-1987!"
    )
    return with_session(browser(), **{VERIFY_REGISTRATION_KEY: registration.pk})


def _reset_client(site: Site) -> Client:
    password_reset_request(phone=site.customer.phone)
    return with_session(browser(), **{RESET_PHONE_KEY: str(site.customer.phone.as_e164)})


def _add_line_client(site: Site) -> Client:
    """A line to add (a new one, if an example got the code right and added the last), a code sent."""
    unowned = Line.objects.filter(owner__isnull=True).first() or LineFactory.create()
    plan_lines.line_claim_start(user=site.customer, msisdn=unowned.msisdn)
    return with_session(browser(site.customer), **{ADD_LINE_KEY: str(unowned.msisdn.as_e164)})


def _with_sent_code(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``SENT_CODE`` replaced by the code in the last SMS sent."""
    found = re.search(r"\b([0-9]{6})\b", sms.outbox[-1].body) if sms.outbox else None
    code = found.group(1) if found else "000000"

    def real(value: Any) -> Any:
        return [real(item) for item in value] if isinstance(value, list) else code if value == SENT_CODE else value

    return {name: real(value) for name, value in data.items()}


def _renew_fields(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly a plan on sale (the flexible one with amounts in and out of range), else anything."""
    amounts = st.one_of(st.integers(min_value=-10, max_value=200_000).map(str), anything(numberish))
    good = st.fixed_dictionaries(
        {"plan": st.sampled_from(list(site.plans))}, optional={"data_gb": amounts, "minutes": amounts}
    )
    return st.one_of(good, form(plan=_plan_codes(site), data_gb=anything(numberish), minutes=anything(numberish)))


def _recommend_fields(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    countries = anything(st.sampled_from(["JP", "KR", "TH", "US", "jp", "XX", ""]))
    days = anything(numberish)
    return form(
        data_gb=anything(numberish),
        minutes=anything(numberish),
        sms=anything(numberish),
        line=_line_values(site),
        currency=anything(st.sampled_from(["CNY", "HKD", "USD", "EUR", "cny"])),
        trip1_country=countries,
        trip1_days=days,
        trip2_country=countries,
        trip2_days=days,
        trip3_country=countries,
        trip3_days=days,
    )


def _card_ids(site: Site) -> st.SearchStrategy[str]:
    return anything(st.sampled_from([*site.cards, "pm_card_visa", "pm_" + "x" * 250, "pm_", "src_x"]))


FORMS: dict[str, Target] = {
    "register": Target(
        url=lambda site: reverse("accounts:register"),
        fields=lambda site: form(
            phone=anything(phones), email=anything(emails), password1=passwords, password2=passwords
        ),
        client=_new_user_client,
    ),
    "verify code": Target(
        url=lambda site: reverse("accounts:verify"),
        fields=lambda site: form(code=anything(codes)),
        client=_verify_client,
    ),
    "login": Target(
        url=lambda site: reverse("accounts:login"),
        fields=lambda site: form(
            username=anything(phones, emails, st.just(str(site.customer.phone))), password=passwords
        ),
        client=_new_user_client,
    ),
    "password reset request": Target(
        url=lambda site: reverse("accounts:password_reset"),
        fields=lambda site: form(phone=anything(phones, st.just(str(site.customer.phone)))),
        client=_new_user_client,
    ),
    "password reset confirm": Target(
        url=lambda site: reverse("accounts:password_reset_confirm"),
        fields=lambda site: form(code=anything(codes), password1=passwords, password2=passwords),
        client=_reset_client,
    ),
    "preferences": Target(
        url=lambda site: reverse("accounts:preferences"),
        fields=lambda site: form(
            email=anything(emails),
            language=anything(st.sampled_from(["en", "zh-hans", "fr", "EN"])),
            time_zone=anything(st.sampled_from(["Asia/Shanghai", "UTC", "Mars/Olympus", "Etc/GMT+14"])),
        ),
        client=_customer_client,
    ),
    "add line": Target(
        url=lambda site: reverse("plans:line_add"),
        fields=lambda site: form(msisdn=anything(phones, st.just(str(site.other_line.msisdn)))),
        client=_customer_client,
    ),
    "add line confirm": Target(
        url=lambda site: reverse("plans:line_add_confirm"),
        fields=lambda site: form(code=anything(codes), nickname=anything()),
        client=_add_line_client,
    ),
    "support": Target(
        url=lambda site: reverse("accounts:support"),
        fields=lambda site: form(
            topic=anything(st.sampled_from([*SupportRequest.Topic.values, "RENEWING"])),
            line=_line_values(site),
            message=anything(st.text(min_size=10, max_size=4100)),
        ),
        client=_customer_client,
    ),
    "support reply": Target(
        url=lambda site: reverse("accounts:support_thread", args=[_own_support_request(site)]),
        fields=lambda site: form(
            body=anything(st.text(min_size=2, max_size=4100)), token=anything(st.uuids().map(str))
        ),
        client=_customer_client,
    ),
    "renew": Target(
        url=lambda site: reverse("billing:renew", args=[site.line.pk]), fields=_renew_fields, client=_customer_client
    ),
    "recommend": Target(
        url=lambda site: reverse("plans:recommend"), fields=_recommend_fields, client=_customer_client, method="get"
    ),
    "recommend, logged out": Target(
        url=lambda site: reverse("plans:recommend"), fields=_recommend_fields, client=_new_user_client, method="get"
    ),
    "auto-renew": Target(
        url=lambda site: reverse("billing:auto_renew", args=[site.line.pk]),
        fields=lambda site: form(
            enabled=anything(st.sampled_from(["on", "true", "false", "1", "0"])), payment_method=_card_ids(site)
        ),
        client=_customer_client,
    ),
    "pay by card": Target(
        url=lambda site: reverse("billing:pay_card", args=[site.order_to_pay().public_id]),
        # Only "save this card" (the card goes to Stripe); a page from before sends a card id too.
        fields=lambda site: st.one_of(
            st.fixed_dictionaries({}, optional={"save_card": text}),
            form(save_card=anything(st.sampled_from(["on", "true", "false"])), payment_method=_card_ids(site)),
        ),
        client=_customer_client,
    ),
}


@pytest.mark.parametrize("name", FORMS)
def test_no_form_input_gives_a_server_error(site: Site, name: str) -> None:
    target = FORMS[name]

    @FUZZ
    @given(data=target.fields(site))
    def submit(data: dict[str, Any]) -> None:
        # Failed log-ins lock the form out after five tries, forms have rate limits (counted in
        # the cache), and SMS codes a rate of their own: each example starts afresh.
        axes_reset()
        cache.clear()
        SmsCode.objects.all().delete()
        client = target.client(site)
        url = target.url(site)
        data = _with_sent_code(data)
        response = client.get(url, data) if target.method == "get" else client.post(url, data)
        no_server_error(response)

    submit()


# --- The usage API ------------------------------------------------------------------------------


def _usage_post(body: bytes, headers: dict[str, str] | None = None) -> Any:
    if headers is None:
        timestamp = str(int(time.time()))
        key = django_settings.USAGE_API_KEYS[0]
        signature = usage_signature(
            key=key, timestamp=timestamp, method="POST", path=reverse("plans:api_usage"), body=body
        )
        headers = {"X-Boom-Timestamp": timestamp, "X-Boom-Signature": signature}
    return Client().post(reverse("plans:api_usage"), data=body, content_type="application/json", headers=headers)


def _records(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    """Batches shaped like the network's, with any value in any field."""
    times = st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda at: at.isoformat()),
        st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-01-01", "yesterday"]),
    )
    value = st.one_of(json_values, st.integers(min_value=-(2**70), max_value=2**70))
    record = st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=70), st.integers(), value),
            "msisdn": st.one_of(st.sampled_from([str(site.line.msisdn), str(site.other_line.msisdn)]), phones, value),
            "iccid": st.one_of(st.just(site.line.iccid), st.from_regex(r"[0-9]{18,21}", fullmatch=True), value),
            "kind": st.one_of(st.sampled_from(["data", "voice", "sms", "DATA"]), value),
            "amount": st.one_of(st.integers(min_value=-(10**15), max_value=10**15), value),
            "country": st.one_of(st.sampled_from(["CN", "hk", "JP", "XK", "ZZ", "ＣＮ"]), value),
            "at": st.one_of(times, value),
        },
    )
    return st.fixed_dictionaries({"records": st.lists(st.one_of(record, value), max_size=8)})


def test_no_signed_usage_batch_gives_a_server_error(site: Site) -> None:
    @FUZZ_API
    @given(batch=st.one_of(_records(site), json_values))
    def post(batch: Any) -> None:
        no_server_error(_usage_post(json.dumps(batch).encode()))

    post()


def test_no_signed_usage_body_of_arbitrary_bytes_gives_a_server_error() -> None:
    @FUZZ_API
    @given(body=st.binary(max_size=2000))
    def post(body: bytes) -> None:
        no_server_error(_usage_post(body))

    post()


def test_no_unsigned_usage_request_gives_a_server_error() -> None:
    @FUZZ_API
    @given(
        body=st.binary(max_size=500),
        headers=st.fixed_dictionaries(
            {}, optional={"X-Boom-Timestamp": st.one_of(headers_text, numberish), "X-Boom-Signature": headers_text}
        ),
    )
    def post(body: bytes, headers: dict[str, str]) -> None:
        response = _usage_post(body, headers)
        no_server_error(response)
        assert response.status_code == 401

    post()


def _usage_status_get(batch_id: str, headers: dict[str, str] | None = None) -> Any:
    if headers is None:
        timestamp = str(int(time.time()))
        key = django_settings.USAGE_API_KEYS[0]
        # Signed over the path as the server reads it, percent-decoded.
        path = f"/api/usage/batches/{batch_id}/"
        signature = usage_signature(key=key, timestamp=timestamp, method="GET", path=path, body=b"")
        headers = {"X-Boom-Timestamp": timestamp, "X-Boom-Signature": signature}
    return Client().get(f"/api/usage/batches/{quote(batch_id, safe='')}/", headers=headers)


def test_no_batch_status_request_gives_a_server_error() -> None:
    batch_ids = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str), numberish, st.text(max_size=40).filter(bool)
    )

    @FUZZ_API
    @given(
        batch_id=batch_ids,
        headers=st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"X-Boom-Timestamp": st.one_of(headers_text, numberish), "X-Boom-Signature": headers_text}
            ),
        ),
    )
    def get(batch_id: str, headers: dict[str, str] | None) -> None:
        response = _usage_status_get(batch_id, headers)
        no_server_error(response)
        # 404 for an id the route does not take (a "/" in it): the site's page, not the API's.
        assert response.status_code in ({404} if headers is None else {401, 404}), response.content[:300]
        if response["Content-Type"] == "application/json":
            assert isinstance(response.json(), dict)

    get()


# --- Stripe's webhook ---------------------------------------------------------------------------


def _webhook_post(body: bytes, signature: str | None = None) -> Any:
    headers = {"Stripe-Signature": stripe_signature(body) if signature is None else signature}
    return Client().post(reverse("billing:stripe_webhook"), data=body, content_type="application/json", headers=headers)


def _events(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    """Events shaped like Stripe's, with any value in any field, some about a real order."""
    intent_id = str(site.open_order.payment_intent_id)
    ids = st.one_of(st.just(intent_id), st.text(max_size=300), json_values)
    obj = st.fixed_dictionaries(
        {"object": st.one_of(st.sampled_from(["payment_intent", "charge", "customer"]), json_values)},
        optional={
            "id": ids,
            "payment_intent": ids,
            "status": st.one_of(st.sampled_from(["succeeded", "canceled", "requires_action"]), json_values),
            "amount": st.one_of(st.integers(), json_values),
            "currency": st.one_of(st.sampled_from(["cny", "usd"]), json_values),
            "refunded": st.one_of(st.booleans(), json_values),
            "metadata": json_values,
            "last_payment_error": json_values,
        },
    )
    kinds = st.one_of(st.sampled_from([*sorted(billing.HANDLED_EVENTS), "customer.created", ""]), st.text(max_size=300))
    return st.fixed_dictionaries(
        {"id": st.one_of(st.text(max_size=300), json_values), "type": st.one_of(kinds, json_values)},
        optional={"object": st.just("event"), "data": st.one_of(st.fixed_dictionaries({"object": obj}), json_values)},
    )


def test_no_signed_webhook_event_gives_a_server_error_nor_fails_its_processing(site: Site) -> None:
    """The webhook answers without a 5xx, and whatever it stored, the worker's task processes
    without raising (run here, in-process, as the worker would)."""

    @FUZZ_API
    @given(event=st.one_of(_events(site), json_objects, json_values))
    def post(event: Any) -> None:
        no_server_error(_webhook_post(json.dumps(event).encode()))
        events_process()

    post()


def test_no_unsigned_webhook_body_gives_a_server_error() -> None:
    @FUZZ_API
    @given(body=st.binary(max_size=2000), signature=headers_text)
    def post(body: bytes, signature: str) -> None:
        response = _webhook_post(body, signature)
        no_server_error(response)
        assert response.status_code == 400

    post()


# --- Bodies no strategy above makes --------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000  # nested deeper than any parser's recursion limit


@pytest.mark.parametrize(
    "body", [DEEP, b'{"records": ' + DEEP + b"}", b"\xff\xfe{", b'{"id": "evt_1", "type": "x", "data": NaN}']
)
def test_signed_bodies_too_deep_or_not_utf8_give_no_server_error(body: bytes) -> None:
    no_server_error(_usage_post(body))
    no_server_error(_webhook_post(body))
