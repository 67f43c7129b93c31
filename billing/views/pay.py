"""Paying an order: the payment page and the card."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import CustomerRequest
from accounts.reauth import reauth_fresh, reauth_url
from billing import gateway, selectors, services
from billing.forms import CardForm
from billing.models import Order
from billing.payment_errors import payment_errors_for_script
from billing.views.messages import gateway_message
from boomcard.middleware import loads_stripe_js
from boomcard.page_fragments import fragment_for, fragment_render
from boomcard.page_shell import customer_page


@login_required
@require_GET
@loads_stripe_js
def pay(request: CustomerRequest, public_id: str) -> HttpResponse:
    user = request.user

    @cache  # read once per request, whichever path asks first
    def the_order() -> Order:
        return selectors.customer_order(user=user, public_id=public_id)

    @cache
    def open_body() -> str | None:
        """The payment page's body for an open order whose intent is made; else None."""
        order = the_order()
        if not order.is_open or not order.payment_intent_id:
            return None
        return fragment_render("billing/pay_body.html", _pay_context(order))

    def context() -> dict[str, Any] | None:
        html = open_body()
        return None if html is None else {"body": mark_safe(html), **_page_context()}  # noqa: S308 (our template)

    # The whole page, while there is a body to show (an open order whose intent is made).
    response = customer_page(request, f"pay:{public_id}", "billing/pay.html", context)
    if response is not None:
        return response
    html = open_body()
    if html is not None:
        return render(request, "billing/pay.html", {"body": fragment_for(request, html), **_page_context()})
    order = the_order()
    if not order.is_open:
        return redirect("billing:order", public_id=order.public_id)
    if not order.payment_intent_id:
        try:
            order = services.order_intent_ensure(order=order)
        except gateway.GatewayError as error:
            messages.error(request, gateway_message(error))
            return redirect("billing:order", public_id=order.public_id)
    body = render_to_string("billing/pay_body.html", _pay_context(order), request=request)
    return render(request, "billing/pay.html", {"body": body, **_page_context()})


def _page_context() -> dict[str, Any]:
    return {"stripe_js": settings.STRIPE_JS_URL}


def _pay_context(order: Order) -> dict[str, Any]:
    return {
        "order": order,
        "groups": selectors.item_groups(selectors.order_items(order=order)),
        "methods": gateway.methods_for(order.currency),
        "currencies": {method: sorted(taken) for method, taken in gateway.METHOD_CURRENCIES.items()},
        # localstripe's stand-in card element (development, tests, bench) is five inputs, not
        # Stripe's one-line frame: the page reserves its height before it mounts.
        "card_standin": not settings.STRIPE_JS_URL.startswith("https://js.stripe.com/"),
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        # Why a card was refused, in the customer's language, for the script.
        **payment_errors_for_script(),
    }


@login_required
@require_POST
def card_setup(request: CustomerRequest) -> JsonResponse:
    """A SetupIntent's client secret, for saving a card without paying (the auto-renew page's
    ``confirmCardSetup``). Saving a card is a sensitive change: a stale session gets 403 JSON
    with the ``reauth_url`` the page opens, before the customer types the card."""
    if not reauth_fresh(request):
        back = request.POST.get("next") or reverse("accounts:preferences")
        return JsonResponse(
            {"error": _("Please confirm it's you first."), "reauth_url": reauth_url(request, back)}, status=403
        )
    try:
        profile = services.payment_profile_get(user=request.user)
        secret = gateway.setup_intent_create(customer_id=profile.stripe_customer_id)
    except gateway.GatewayError as error:
        # The page shows the message and the customer tries again: Stripe's trouble is no 5xx of ours.
        return JsonResponse({"error": gateway_message(error)})
    return JsonResponse({"client_secret": secret})


@login_required
@require_POST
def pay_card(request: CustomerRequest, public_id: str) -> JsonResponse:
    """Ready the order's intent for the card: the page then confirms it once with Stripe.js
    (``confirmCardPayment``) and opens the order page. Answers the ``client_secret`` to confirm,
    or only the order's ``status`` if it is no longer open (paid meanwhile, say)."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    form = CardForm(request.POST)
    form.is_valid()  # one optional box: always valid
    try:
        order = services.order_card_prepare(order=order, save_card=form.cleaned_data["save_card"])
    except gateway.GatewayError as error:
        # The order is kept and the page says to try again: Stripe's trouble is no 5xx of ours.
        return JsonResponse({"status": order.status, "error": gateway_message(error)})
    answer = {"status": order.status, "order_url": reverse("billing:order", args=[order.public_id])}
    if order.is_open:
        answer["client_secret"] = order.client_secret
    return JsonResponse(answer)
