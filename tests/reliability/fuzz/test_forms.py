"""No input to any form gives a server error."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from axes.utils import reset as axes_reset
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from phonenumber_field.phonenumber import PhoneNumber

from accounts import registration as registrations
from accounts import sms
from accounts.models import SmsCode, SupportRequest, User
from accounts.password_reset import password_reset_request
from accounts.support import support_request_create
from accounts.views.password_reset import RESET_PHONE_KEY
from accounts.views.registration import VERIFY_REGISTRATION_KEY
from plans import lines as plan_lines
from plans.line_views import ADD_LINE_KEY
from plans.models import Line
from tests.factories import LineFactory
from tests.reliability.fuzz.site import Site, browser, no_server_error, with_session
from tests.reliability.fuzz.values import (
    FUZZ,
    SENT_CODE,
    anything,
    codes,
    emails,
    form,
    numberish,
    passwords,
    phones,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


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
