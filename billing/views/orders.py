"""Renewing, and the customer's orders: the confirmation page, the order page, the list, the receipt."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import CustomerRequest
from accounts.selectors import unread_notice_count
from billing import gateway, selectors, services
from billing.forms import RenewForm
from billing.models import Order
from billing.order_rows import items_read, notice_and_open_refund_read, order_page
from billing.receipt_pdf import receipt_pdf as receipt_as_pdf
from billing.views.messages import gateway_message
from billing.views.wallets import wallet_step
from boomcard.formats import money
from boomcard.page_fragments import drawn_once, fragment_for, fragment_render, page_number
from boomcard.page_shell import customer_page
from boomcard.rows import read_together, row_columns
from plans.currency import currency_for
from plans.pricing import Money, price_of


@login_required
@require_http_methods(["GET", "POST"])
def renew(request: CustomerRequest, line_id: int) -> HttpResponse:
    """The confirmation page: plan, price and new expiry; posting opens the order."""
    currency = currency_for(request)
    if request.method == "GET":
        user = request.user

        def fragment() -> tuple[str, bool]:
            options = selectors.renewal_options(user=user, line_id=line_id, currency=currency)
            context = _renew_context(options, RenewForm(), currency)
            # Drawn once per process under all it shows: a change to something else of the
            # customer's (a usage batch, a notice) finds the offers as drawn.
            html = drawn_once(
                "renew",
                _renew_shows(options, context["flexible_price"]),
                lambda: fragment_render("billing/renew_body.html", context),
            )
            return html, options.flexible is not None

        def context() -> dict[str, Any]:
            # The offers' new expiry dates may lag the clock by PAGE_CACHE_SECONDS at most.
            html, flexible = fragment()
            return {"body": mark_safe(html), "flexible": flexible}  # noqa: S308 (our template)

        response = customer_page(request, f"renew:{line_id}:{currency}", "billing/renew.html", context)
        if response is not None:
            return response
        html, flexible = fragment()
        return render(request, "billing/renew.html", {"body": fragment_for(request, html), "flexible": flexible})
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
            form.add_error(ERROR_FIELDS.get(error.code or ""), error)
        except gateway.GatewayError as error:
            messages.error(request, gateway_message(error))
            return redirect("billing:renew", line_id=line_id)
        else:
            return redirect("billing:pay", public_id=order.public_id)
    html = render_to_string("billing/renew_body.html", _renew_context(options, form, currency), request=request)
    return render(request, "billing/renew.html", {"body": html, "flexible": options.flexible is not None})


def _renew_context(options: selectors.RenewalOptions, form: RenewForm, currency: str) -> dict[str, Any]:
    flexible_price = None
    if options.flexible is not None:
        posted_flexible = form.is_bound and form.data.get("plan") == options.flexible.plan.code
        amounts = form.data if posted_flexible else None
        flexible_price, _errors = _flexible_quote(options.flexible, amounts)
    return {"options": options, "form": form, "currency": currency, "flexible_price": flexible_price}


def _renew_shows(options: selectors.RenewalOptions, flexible_price: Money | None) -> str:
    """Everything the renewal page's body shows with an empty form, as text (``drawn_once``'s
    key): every column of the line, its plan, each offer's plan and price, the open order and its
    plan, the saved card; each offer's new expiry; the flexible plan's price."""
    line, order, card = options.line, options.open_order, options.saved_card
    offers = [
        offer and (row_columns(offer.plan), row_columns(offer.price), _minute(offer.new_expiry))
        for offer in [options.current, *options.base_plans, *options.addons, options.flexible]
    ]
    return repr(
        (
            options.currency,
            row_columns(line),
            line.plan and row_columns(line.plan),
            offers,
            order and (row_columns(order), row_columns(order.plan)),
            card and row_columns(card),
            flexible_price,
        )
    )


def _minute(moment: datetime | None) -> datetime | None:
    """A new expiry as the page shows it, to the minute: an expired line's renewal starts now, and
    its offers' expiries move on with the clock, but the drawing only each minute."""
    return moment and moment.replace(second=0, microsecond=0)


# Which field of the renewal form a service's refusal is about.
ERROR_FIELDS = {"data_out_of_range": "data_gb", "minutes_out_of_range": "minutes"}


def _flexible_quote(offer: selectors.Offer, amounts: Mapping[str, Any] | None) -> tuple[Money | None, RenewForm]:
    """The price of the flexible plan for ``amounts`` (the form's defaults when None), checked by
    the renewal form; no price when they do not pass it."""
    if amounts is None:
        amounts = {"data_gb": RenewForm.DEFAULT_DATA_GB, "minutes": RenewForm.DEFAULT_MINUTES}
    data = {"plan": offer.plan.code, "data_gb": amounts.get("data_gb"), "minutes": amounts.get("minutes")}
    form = RenewForm(data, offered=offer.plan)
    if not form.is_valid():
        return None, form
    choice = form.choice()
    assert choice is not None  # the plan is flexible
    return price_of(offer.price, choice), form


@login_required
@require_GET
def renew_price(request: CustomerRequest, line_id: int) -> HttpResponse:
    """The flexible plan's price for the amounts in the query string, for the renewal page's
    script: the server prices, the page only shows. 400 names the field that is wrong."""
    options = selectors.renewal_options(user=request.user, line_id=line_id, currency=currency_for(request))
    if options.flexible is None:
        raise Http404("no flexible plan on sale")
    price, form = _flexible_quote(options.flexible, request.GET)
    if price is None:
        errors = {name: [str(text) for text in texts] for name, texts in form.errors.items()}
        field = next(iter(errors))
        return JsonResponse({"field": field, "message": errors[field][0], "errors": errors}, status=400)
    return JsonResponse(
        {
            "amount_minor": price.amount_minor,
            "currency": price.currency,
            "display": money(price.amount_minor, price.currency),
        }
    )


@login_required
@require_GET
def order_detail(request: CustomerRequest, public_id: str) -> HttpResponse:
    """The return page: asks Stripe while the order is open; while the customer pays in a wallet
    or at the bank it sends them on to Alipay or shows the WeChat Pay QR code, and the page's
    script asks for the order's status until it changes."""
    user = request.user

    @cache  # read once per request, whichever path asks first
    def the_order() -> Order:
        return selectors.customer_order(user=user, public_id=public_id)

    @cache
    def final_body() -> str | None:
        """A final order's page body, which nothing but a change to the order (or its notice,
        its refund) changes; None for an order still under way."""
        order = the_order()
        if order.status not in Order.FINAL:
            return None
        return fragment_render("billing/order_body.html", _order_context(order, go=False))

    def final_page() -> dict[str, Any] | None:
        html = final_body()
        return None if html is None else {"public_id": public_id, "body": mark_safe(html)}  # noqa: S308

    # The whole page, once the order is final.
    response = customer_page(request, f"order:{public_id}", "billing/order.html", final_page, params=("go",))
    if response is not None:
        return response
    html = final_body()
    if html is not None:
        return render(request, "billing/order.html", {"public_id": public_id, "body": fragment_for(request, html)})
    order = the_order()
    if order.status not in Order.FINAL and order.payment_intent_id:
        try:
            order = services.order_fulfil(order=order)
        except gateway.GatewayError as error:
            messages.warning(request, gateway_message(error))
        if order.status in Order.FINAL:
            # Settled by this request, with its notice: the bell on this page counts it.
            user.unread_notice_count = unread_notice_count(user=user)
    context = _order_context(order, go=request.GET.get("go") == "1")
    body = render_to_string("billing/order_body.html", context, request=request)
    return render(request, "billing/order.html", {**context, "public_id": public_id, "body": body})


def _order_context(order: Order, *, go: bool) -> dict[str, Any]:
    """What the order page shows of ``order``: two queries, read together (its notice with its
    open refund; its items with their plans and buckets)."""
    (notice, refund), items = read_together(notice_and_open_refund_read(order), items_read(order))
    if order.status != Order.Status.FULFILLED:
        refund = None
    base_expiries = [item.bucket.expires_at for item in items if item.bucket and not item.plan.is_addon]
    return {
        "order": order,
        "groups": selectors.item_groups(items),
        # The expiry this order's own base buckets gave: order.line may be the copy read before.
        "new_expiry": max(base_expiries, default=None),
        "notice": notice,
        "refund": refund,
        "wallet": wallet_step(order, go=go),
        # Ask again while Stripe may still answer; a failed try waits for the customer instead.
        "waiting": order.status in (Order.Status.PENDING, Order.Status.REQUIRES_ACTION, Order.Status.PAID),
    }


@login_required
@require_GET
def renew_now(request: CustomerRequest, line_id: int) -> HttpResponse:
    """The one-tap link in a renewal reminder: the pay page of an order for the line's current
    plan, opened now (or of the order already open for the line: a link someone else makes the
    customer follow never cancels a payment under way). A line without a fixed plan to repeat
    goes to the renewal page."""
    line = selectors.customer_line(user=request.user, line_id=line_id)
    open_order = Order.objects.filter(line=line, status__in=Order.OPEN).first()
    if open_order is not None:
        return redirect("billing:pay", public_id=open_order.public_id)
    if line.plan is None or line.plan.is_flexible or not line.plan.is_active:
        return redirect("billing:renew", line_id=line.pk)
    try:
        order = services.order_start(
            user=request.user, line=line, plan=line.plan, currency=selectors.customer_currency(user=request.user)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing:renew", line_id=line.pk)
    except gateway.GatewayError as error:
        messages.error(request, gateway_message(error))
        return redirect("billing:renew", line_id=line.pk)
    return redirect("billing:pay", public_id=order.public_id)


@login_required
@require_GET
def orders(request: CustomerRequest) -> HttpResponse:
    """The customer's orders, newest first, 20 a page: each page is kept whole per customer."""
    user = request.user
    number = page_number(request.GET.get("page"))

    def body() -> str:
        page = order_page(user_id=user.pk, number=number, per_page=ORDERS_PER_PAGE)
        # Everything a row shows: a change to the customer's notices or usage leaves the list as
        # it was drawn, and a change to an order (its status) draws it anew. The lines' numbers
        # and the plans' names once each (the orders share them: order_page).
        lines = {order.line_id: order.line for order in page.items}
        plans = {order.plan_id: order.plan for order in page.items}
        numbers = {pk: str(line.msisdn) for pk, line in lines.items()}
        names = {pk: plan.name for pk, plan in plans.items()}
        shows = "|".join(
            f"{order.public_id},{order.status},{order.amount_minor},{order.currency},{order.plan_id},"
            f"{order.line_id},{order.created_at.isoformat()}"
            for order in page.items
        )
        return drawn_once(
            "orders",
            f"{page.number}/{page.num_pages}|{numbers}|{names}|{shows}",
            lambda: fragment_render("billing/orders_body.html", {"page": page}),
        )

    response = customer_page(
        request,
        f"orders:{number}",
        "billing/orders.html",
        lambda: {"body": mark_safe(body())},  # noqa: S308
        params=("page",),
    )
    if response is not None:
        return response
    return render(request, "billing/orders.html", {"body": fragment_for(request, body())})


ORDERS_PER_PAGE = 20


@login_required
@require_GET
def receipt(request: CustomerRequest, public_id: str) -> HttpResponse:
    user = request.user

    @cache  # drawn once per request, whichever path asks first
    def body() -> str | None:
        """The receipt's body; None for an order that has none (yet)."""
        receipt = selectors.customer_receipt(user=user, public_id=public_id)
        if receipt.order.status not in selectors.RECEIPT_STATUSES:
            return None
        context = {"receipt": receipt, "order": receipt.order, "support_email": settings.SUPPORT_EMAIL}
        return fragment_render("billing/receipt_body.html", context)

    def context() -> dict[str, Any] | None:
        html = body()
        return None if html is None else {"public_id": public_id, "body": mark_safe(html)}  # noqa: S308

    # The whole page, while the order has a receipt.
    response = customer_page(request, f"receipt:{public_id}", "billing/receipt.html", context)
    if response is not None:
        return response
    html = body()
    if html is None:
        return redirect("billing:order", public_id=public_id)
    return render(request, "billing/receipt.html", {"public_id": public_id, "body": fragment_for(request, html)})


@login_required
@require_GET
def receipt_pdf(request: CustomerRequest, public_id: str) -> HttpResponse:
    """The receipt as a PDF file to keep."""
    receipt = selectors.customer_receipt(user=request.user, public_id=public_id)
    if receipt.order.status not in selectors.RECEIPT_STATUSES:
        return redirect("billing:order", public_id=receipt.order.public_id)
    response = HttpResponse(receipt_as_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.order.public_id}.pdf"'
    return response


@login_required
@require_POST
def order_cancel(request: CustomerRequest, public_id: str) -> HttpResponse:
    """The customer gives up an open order: cancelled at Stripe, then here. If the payment went
    through meanwhile, the order is fulfilled instead and the page says so."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    if not order.is_open:
        return redirect("billing:order", public_id=order.public_id)
    try:
        order = services.order_cancel(order=order, reason="cancelled by the customer")
    except gateway.GatewayError as error:
        messages.error(request, gateway_message(error))
    else:
        if order.status == Order.Status.CANCELLED:
            messages.success(request, _("Your order was cancelled. Nothing was charged."))
        elif not order.is_open:
            messages.info(request, _("The payment had already gone through, so the order was not cancelled."))
    return redirect("billing:order", public_id=order.public_id)
