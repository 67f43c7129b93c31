"""The orders, order, receipt, renewal, payment, notices and help pages are kept in the customer's
page cache (boomcard.page_cache, boomcard.page_shell): their query counts cold and
warm, whatever the number of orders; what a change shows at once; and the tokens a form carries,
which are never cached."""

import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice, SupportRequest, User
from accounts.support_desk import support_reply_send
from billing.models import Order, OrderItem, Refund
from boomcard.formats import money
from boomcard.page_cache import customers_changed, pages_changed
from boomcard.page_fragments import FORM_TOKEN_MARKER, TOKEN_MARKER
from plans.models import Line, Plan, Price
from tests.billing.test_order_pages import listed, make_orders
from tests.factories import LineFactory
from tests.helpers import capture_templates

pytestmark = pytest.mark.django_db


def open_order(line: Line, plan: Plan) -> Order:
    assert line.owner is not None
    order = Order.objects.create(
        user=line.owner,
        line=line,
        plan=plan,
        kind=Order.Kind.RENEWAL,
        amount_minor=3800,
        currency="CNY",
        payment_intent_id="pi_cached_pages",
        client_secret="pi_cached_pages_secret_test",
    )
    OrderItem.objects.create(order=order, position=0, plan=plan, amount_minor=3800)
    return order


def paths(line: Line, paid: Order, pending: Order) -> dict[str, str]:
    return {
        "orders": reverse("billing:orders"),
        "order": reverse("billing:order", args=[paid.public_id]),
        "receipt": reverse("billing:receipt", args=[paid.public_id]),
        "renew": reverse("billing:renew", args=[line.pk]),
        "pay": reverse("billing:pay", args=[pending.public_id]),
        "notices": reverse("accounts:notices"),
        "support": reverse("accounts:support"),
    }


# Cold: the session, the user with the bell's count (2), then what the body reads; warm: nothing.
COLD = {"orders": 3, "order": 5, "receipt": 4, "renew": 5, "pay": 4, "notices": 3, "support": 4}


@pytest.mark.parametrize("count", [3, 40])
def test_each_page_reads_a_fixed_number_of_queries_cold_and_none_warm(
    client, customer, line, plans, count, django_assert_num_queries
):
    other_line = LineFactory.create(owner=customer)
    make_orders(line, [plans["basic-10"], plans["basic-30"]], count)
    make_orders(other_line, [plans["topup-5"]], count)
    paid = Order.objects.filter(user=customer).order_by("-created_at").first()
    assert paid is not None
    pending = open_order(line, plans["basic-30"])
    for n in range(count):
        Notice.objects.create(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED, key=f"n{n}", read_at=timezone.now())
    client.force_login(customer)
    for name, path in paths(line, paid, pending).items():
        cache.clear()
        with django_assert_num_queries(COLD[name], info=name):
            assert client.get(path).status_code == 200, name
        with django_assert_num_queries(0, info=name):
            assert client.get(path).status_code == 200, name


def test_a_new_order_shows_on_the_orders_page_at_once(client, customer, line, plans):
    make_orders(line, [plans["basic-10"]], 2)
    client.force_login(customer)
    assert len(listed(client.get(reverse("billing:orders")).content.decode())) == 2
    newest = open_order(line, plans["basic-30"])
    shown = listed(client.get(reverse("billing:orders")).content.decode())
    assert shown[0] == newest.public_id
    assert len(shown) == 3


def test_an_order_changed_shows_at_once_on_its_pages(client, customer, line, plans):
    pending = open_order(line, plans["basic-30"])
    client.force_login(customer)
    assert client.get(reverse("billing:pay", args=[pending.public_id])).status_code == 200
    assert client.get(reverse("billing:receipt", args=[pending.public_id])).status_code == 302
    pending.status = Order.Status.CANCELLED
    pending.save()
    assert client.get(reverse("billing:pay", args=[pending.public_id])).status_code == 302
    assert "badge status-cancelled" in client.get(reverse("billing:order", args=[pending.public_id])).content.decode()


def test_a_refund_under_way_shows_on_the_order_page_at_once(client, customer, line, plans):
    (paid,) = make_orders(line, [plans["basic-10"]], 1)
    client.force_login(customer)
    path = reverse("billing:order", args=[paid.public_id])
    assert "refund of" not in client.get(path).content.decode()
    Refund.objects.create(order=paid, amount_minor=1000, currency="CNY", status=Refund.Status.PENDING)
    assert "refund of" in client.get(path).content.decode()


def test_another_customer_never_gets_these_pages(client, customer, line, plans, django_user_model):
    (paid,) = make_orders(line, [plans["basic-10"]], 1)
    client.force_login(customer)
    assert client.get(reverse("billing:receipt", args=[paid.public_id])).status_code == 200
    other = django_user_model.objects.create_user("+8613900000999", "another-password-9")
    client.force_login(other)
    assert client.get(reverse("billing:receipt", args=[paid.public_id])).status_code == 404
    assert client.get(reverse("billing:order", args=[paid.public_id])).status_code == 404
    assert listed(client.get(reverse("billing:orders")).content.decode()) == []


def csrf_values(page: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)


def test_each_request_gets_its_own_csrf_token_and_the_cache_holds_none(customer, line, plans, localstripe):
    """Two browsers of one customer: each page carries its own session's token, the cached body
    only the marker, and a form from a page served from the cache posts."""
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    for browser in (first, second):
        browser.force_login(customer)
    path = reverse("billing:renew", args=[line.pk])
    first_page = first.get(path).content.decode()
    second_page = second.get(path).content.decode()  # from the cache
    assert csrf_values(first_page)
    assert csrf_values(second_page)
    assert set(csrf_values(first_page)).isdisjoint(csrf_values(second_page))
    stored = cache._cache.get_client().keys("*:page:*")  # type: ignore[attr-defined]
    assert stored
    for key in stored:
        body = str(cache._cache.get_client().get(key))  # type: ignore[attr-defined]
        assert all(token not in body for token in csrf_values(first_page) + csrf_values(second_page))
    answer = second.post(
        path, {"plan": plans["basic-30"].code, "csrfmiddlewaretoken": csrf_values(second_page)[0]}, follow=False
    )
    assert answer.status_code == 302
    assert "/pay/" in answer["Location"]


def test_no_marker_reaches_a_page(client, customer, line, plans):
    pending = open_order(line, plans["basic-30"])
    (paid,) = make_orders(line, [plans["basic-10"]], 1)
    client.force_login(customer)
    for path in paths(line, paid, pending).values():
        for _ in range(2):
            page = client.get(path).content.decode()
            assert TOKEN_MARKER not in page, path
            assert FORM_TOKEN_MARKER not in page, path


def test_the_help_form_gets_a_new_token_on_every_view(client, customer):
    client.force_login(customer)
    tokens = [
        re.search(r'name="token" value="([^"]+)"', client.get(reverse("accounts:support")).content.decode())
        for _ in range(2)
    ]
    assert all(tokens)
    assert tokens[0].group(1) != tokens[1].group(1)  # type: ignore[union-attr]


def test_a_support_request_shows_on_the_help_page_at_once(client, customer: User):
    client.force_login(customer)
    # The help page read once (and cached) before the request exists...
    assert "My data stops." not in client.get(reverse("accounts:support")).content.decode()
    request = SupportRequest.objects.create(user=customer, topic=SupportRequest.Topic.OTHER, message="My data stops.")
    page = client.get(reverse("accounts:support")).content.decode()
    assert request.reference in page
    assert "My data stops." in page


def test_the_help_page_is_drawn_again_only_when_what_it_shows_changes(client, customer: User, staff):
    """The help page's body is kept drawn in each process under its lines, the requests and
    their threads: a change to something else finds it; a reply from support draws it anew."""
    client.force_login(customer)
    path = reverse("accounts:support")
    request = SupportRequest.objects.create(user=customer, topic=SupportRequest.Topic.OTHER, message="My data stops.")
    assert "My data stops." in client.get(path).content.decode()
    pages_changed([customer.pk])
    with capture_templates() as drawn:
        assert client.get(path).status_code == 200
    assert "accounts/support_body.html" not in drawn
    support_reply_send(support_request_id=request.pk, staff=staff, body="Restart the phone, please.")
    with capture_templates() as drawn:
        page = client.get(path).content.decode()
    assert "accounts/support_body.html" in drawn
    assert "Restart the phone, please." in page


def test_a_new_notice_is_new_once_then_read(client, customer):
    client.force_login(customer)
    client.get(reverse("accounts:notices"))
    Notice.objects.create(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED, key="fresh")
    assert "notice-unread" in client.get(reverse("accounts:notices")).content.decode()
    assert "notice-unread" not in client.get(reverse("accounts:notices")).content.decode()
    assert not Notice.objects.filter(user=customer, read_at__isnull=True).exists()


def test_the_renewal_offers_are_drawn_again_only_when_what_they_show_changes(customer, line, plans):
    """The renewal page's body is kept drawn in each process under all it shows: the first view
    after a change to something else of the customer's finds it; a new price, saved as the admin
    saves it, shows at once (the catalogue's generation), drawn anew."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    path = reverse("billing:renew", args=[line.pk])
    price = Price.objects.get(plan=plans["basic-10"], currency=settings.DEFAULT_CURRENCY)
    was, now = money(price.amount_minor, price.currency), money(price.amount_minor + 1000, price.currency)
    assert was in client.get(path).content.decode()
    customers_changed([customer.pk])
    with capture_templates() as drawn:
        assert client.get(path).status_code == 200
    assert "billing/renew_body.html" not in drawn
    price.amount_minor += 1000
    price.save(update_fields=["amount_minor"])
    with capture_templates() as drawn:
        after = client.get(path).content.decode()
    assert "billing/renew_body.html" in drawn
    assert now in after
    assert was not in after
