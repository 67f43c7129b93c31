"""Buying the recommender's whole suggestion: pick the line, see each item and the total, confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.http import CustomerRequest
from billing import gateway, selectors, services
from billing.models import Order
from billing.views.messages import gateway_message
from plans.basket import PARAMETER
from plans.currency import currency_for
from plans.models import Line


@login_required
@require_http_methods(["GET", "POST"])
def suggestion(request: CustomerRequest) -> HttpResponse:
    """The suggestion is in the query string (plan codes and counts, never prices: the server
    prices it), so the page can be linked to and the form posts back to the same address. The
    line is one of the customer's own (another's: 404), preselected from ``?line=`` or the first;
    posting opens one order for all of it and goes to the payment page."""
    currency = currency_for(request)
    lines = list(Line.objects.filter(owner=request.user).order_by("added_at", "id"))
    context: dict[str, object] = {"lines": lines, "currency": currency}

    def refused(**more: object) -> HttpResponse:
        return render(request, "billing/suggestion.html", {**context, **more}, status=400)

    try:
        suggestion = services.suggestion_price(texts=request.GET.getlist(PARAMETER), currency=currency)
    except ValidationError as error:
        return refused(error=" ".join(error.messages))
    context["suggestion"] = suggestion
    context["open_lines"] = set(
        Order.objects.filter(line__in=lines, status__in=Order.OPEN).values_list("line_id", flat=True)
    )
    chosen = request.POST.get("line") if request.method == "POST" else request.GET.get("line")
    line = lines[0] if lines and chosen is None else None
    if chosen is not None:
        if not (chosen.isdigit() and len(chosen) < 12):
            return refused(line_missing=True)
        line = selectors.customer_line(user=request.user, line_id=int(chosen))
    context["line"] = line
    if request.method == "POST":
        if line is None:
            return refused(line_missing=True)
        try:
            order = services.suggestion_order_start(user=request.user, line=line, suggestion=suggestion)
        except ValidationError as error:
            return refused(error=" ".join(error.messages))
        except gateway.GatewayError as error:
            messages.error(request, gateway_message(error))
            return redirect(request.get_full_path())
        return redirect("billing:pay", public_id=order.public_id)
    return render(request, "billing/suggestion.html", context)
