"""Renewing and paying. Views parse, call a service, and render; amounts come from the server."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import gateway, selectors, services
from billing.forms import AutoRenewForm, PaymentMethodForm, RenewForm
from billing.models import Order
from boomcard.http import CustomerRequest
from plans.currency import currency_for


def _gateway_message(error: gateway.GatewayError) -> str:
    if isinstance(error, gateway.NotFound):
        return _("This payment has expired. Please start again from Renew.")
    if isinstance(error, gateway.GatewayUnavailable):
        return _("The payment service is not answering just now. Your order is kept: please try again in a minute.")
    if isinstance(error, gateway.CardDeclined):
        return _("Your bank declined the payment: %(reason)s") % {"reason": error.message}
    return _("The payment could not be started: %(reason)s") % {"reason": error.message}


@login_required
@require_http_methods(["GET", "POST"])
def renew(request: CustomerRequest, line_id: int) -> HttpResponse:
    """The confirmation page: plan, price and new expiry; posting opens the order."""
    currency = currency_for(request)
    options = selectors.renewal_options(user=request.user, line_id=line_id, currency=currency)
    form = RenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_start(
                user=request.user,
                line=options.line,
                plan=form.cleaned_data["plan"],
                currency=currency,
                choice=form.choice(),
            )
        except ValidationError as error:
            form.add_error("data_gb" if error.code == "data_out_of_range" else None, error)
        except gateway.GatewayError as error:
            messages.error(request, _gateway_message(error))
            return redirect("billing:renew", line_id=line_id)
        else:
            return redirect("billing:pay", public_id=order.public_id)
    return render(request, "billing/renew.html", {"options": options, "form": form, "currency": currency})


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
            messages.error(request, _gateway_message(error))
            return redirect("billing:order", public_id=order.public_id)
    return render(
        request,
        "billing/pay.html",
        {
            "order": order,
            "methods": gateway.methods_for(order.currency),
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
        return JsonResponse({"error": _gateway_message(error)})
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
        return JsonResponse({"status": order.status, "error": _gateway_message(error)})
    except gateway.GatewayError as error:
        return JsonResponse({"error": _gateway_message(error), "field": "payment_method"}, status=400)
    answer: dict[str, str] = {
        "status": order.status,
        "order_url": reverse("billing:order", args=[order.public_id]),
    }
    if order.status == Order.Status.REQUIRES_ACTION:
        answer["client_secret"] = order.client_secret
    if order.status == Order.Status.FAILED:
        answer["error"] = _("Your bank declined the payment: %(reason)s") % {"reason": order.failure_reason}
    return JsonResponse(answer)


@login_required
@require_GET
def order_detail(request: CustomerRequest, public_id: str) -> HttpResponse:
    """The return page: asks Stripe while the order is open, and refreshes until it is final."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    if order.status not in Order.FINAL and order.payment_intent_id:
        try:
            order = services.order_fulfil(order=order)
        except gateway.GatewayError as error:
            messages.warning(request, _gateway_message(error))
    notice = order.user.notices.filter(key=f"order-fulfilled:{order.pk}").first()
    return render(
        request,
        "billing/order.html",
        # Refresh while Stripe may still answer; a failed try waits for the customer instead.
        {
            "order": order,
            "notice": notice,
            "refresh": order.status in (Order.Status.PENDING, Order.Status.REQUIRES_ACTION, Order.Status.PAID),
        },
    )


@login_required
@require_GET
def orders(request: CustomerRequest) -> HttpResponse:
    page = Paginator(selectors.customer_orders(user=request.user), 20).get_page(request.GET.get("page"))
    return render(request, "billing/orders.html", {"page": page})


@login_required
@require_GET
def receipt(request: CustomerRequest, public_id: str) -> HttpResponse:
    order = selectors.customer_order(user=request.user, public_id=public_id)
    if order.status not in (Order.Status.FULFILLED, Order.Status.PAID, Order.Status.REFUNDED):
        return redirect("billing:order", public_id=order.public_id)
    return render(request, "billing/receipt.html", {"order": order})


@login_required
@require_http_methods(["GET", "POST"])
def auto_renew(request: CustomerRequest, line_id: int) -> HttpResponse:
    line = selectors.customer_line(user=request.user, line_id=line_id)
    profile = request.user.payment_profile if hasattr(request.user, "payment_profile") else None
    if request.method == "POST":
        form = AutoRenewForm(request.POST)
        if form.is_valid():
            try:
                services.auto_renew_set(
                    line=line,
                    enabled=form.cleaned_data["enabled"],
                    payment_method_id=form.cleaned_data["payment_method"],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            except gateway.GatewayError as error:
                messages.error(request, _gateway_message(error))
            else:
                messages.success(
                    request, _("Auto-renew is on.") if form.cleaned_data["enabled"] else _("Auto-renew is off.")
                )
                if request.headers.get("Accept") == "application/json":
                    return JsonResponse({"status": "ok", "next": reverse("plans:line", args=[line.pk])})
                return redirect("plans:line", pk=line.pk)
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"error": _("Auto-renew could not be changed."), "field": "payment_method"}, status=400)
    return render(
        request,
        "billing/auto_renew.html",
        {
            "line": line,
            "profile": profile,
            "stripe_js": settings.STRIPE_JS_URL,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified by signature (400 if not), stored by id, acted on once."""
    try:
        event = gateway.webhook_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except gateway.WebhookSignatureInvalid:
        return JsonResponse({"error": "invalid signature"}, status=400)
    try:
        outcome = services.stripe_event_handle(event=event)
    except gateway.GatewayUnavailable:
        # Not stored: Stripe redelivers, and reconciliation catches up in any case.
        return JsonResponse({"error": "payment service unavailable"}, status=503)
    return JsonResponse({"received": True, "outcome": outcome})
