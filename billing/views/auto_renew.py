"""Auto-renew: the customer saves a card and turns it on or off, or removes the saved card.
Turning it on and saving or removing a card are sensitive changes: they need a fresh "confirm
it's you" (accounts.reauth); turning it off does not."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import CustomerRequest
from accounts.reauth import reauth_fresh, reauth_refusal
from billing import gateway, selectors, services
from billing.forms import AutoRenewForm
from billing.payment_errors import payment_errors_for_script
from billing.views.messages import gateway_message
from boomcard.middleware import loads_stripe_js


@login_required
@require_http_methods(["GET", "POST"])
@loads_stripe_js
def auto_renew(request: CustomerRequest, line_id: int) -> HttpResponse:
    line = selectors.customer_line(user=request.user, line_id=line_id)
    profile = request.user.payment_profile if hasattr(request.user, "payment_profile") else None
    page = reverse("billing:auto_renew", args=[line.pk])
    if request.method == "POST" and request.POST.get("action") == "remove_card":
        if not reauth_fresh(request):
            return reauth_refusal(request, page)
        services.auto_renew_card_remove(user=request.user)
        messages.success(request, _("Your saved card is removed, and auto-renew is off."))
        return redirect("plans:line", pk=line.pk)
    if request.method == "POST":
        form = AutoRenewForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["enabled"] and not reauth_fresh(request):
                return reauth_refusal(request, page)
            try:
                services.auto_renew_set(
                    line=line,
                    enabled=form.cleaned_data["enabled"],
                    payment_method_id=form.cleaned_data["payment_method"],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            except gateway.GatewayError as error:
                messages.error(request, gateway_message(error))
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
            # As on the pay page: localstripe's stand-in card form has its height reserved.
            "card_standin": not settings.STRIPE_JS_URL.startswith("https://js.stripe.com/"),
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            # Why a card was refused, in the customer's language, for the script.
            **payment_errors_for_script(),
        },
    )
