"""Paying an order: the payment page and the card."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing import gateway, selectors, services
from billing.forms import PaymentMethodForm
from billing.models import Order
from billing.views.messages import gateway_message
from boomcard.http import CustomerRequest


@login_required
@require_GET
def pay(request: CustomerRequest, public_id: str) -> HttpResponse:
    order = selectors.customer_order(user=request.user, public_id=public_id)
    if not order.is_open:
        return redirect("billing:order", public_id=order.public_id)
    if not order.payment_intent_id:
        try:
            order = services.order_intent_ensure(order=order)
        except gateway.GatewayError as error:
            messages.error(request, gateway_message(error))
            return redirect("billing:order", public_id=order.public_id)
    return render(
        request,
        "billing/pay.html",
        {
            "order": order,
            "methods": gateway.methods_for(order.currency),
            "currencies": {method: sorted(taken) for method, taken in gateway.METHOD_CURRENCIES.items()},
            "stripe_js": settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "return_url": request.build_absolute_uri(reverse("billing:order", args=[order.public_id])),
        },
    )


@login_required
@require_POST
def card_setup(request: CustomerRequest) -> JsonResponse:
    """A SetupIntent's client secret, for the card form (``confirmCardSetup``)."""
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
    """Pay the order with the card the page collected. Answers what the page does next."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": _("Enter your card again."), "field": "payment_method"}, status=400)
    try:
        order = services.order_pay_with_card(
            order=order,
            payment_method_id=form.cleaned_data["payment_method"],
            save_card=form.cleaned_data["save_card"],
        )
    except gateway.GatewayUnavailable as error:
        # The order is kept and the page says to try again: Stripe's trouble is no 5xx of ours.
        return JsonResponse({"status": order.status, "error": gateway_message(error)})
    except gateway.GatewayError as error:
        return JsonResponse({"error": gateway_message(error), "field": "payment_method"}, status=400)
    answer: dict[str, str] = {
        "status": order.status,
        "order_url": reverse("billing:order", args=[order.public_id]),
    }
    if order.status == Order.Status.REQUIRES_ACTION:
        answer["client_secret"] = order.client_secret
    if order.status == Order.Status.FAILED:
        answer["error"] = _("Your bank declined the payment: %(reason)s") % {"reason": order.failure_reason}
    return JsonResponse(answer)
