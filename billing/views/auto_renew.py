"""Auto-renew: the customer saves a card and turns it on or off, or removes the saved card.
Turning it on, saving or removing a card, and letting it charge more (a dearer plan for the next
renewal, a higher monthly limit or none) are sensitive changes: they need a fresh "confirm it's
you" (accounts.reauth). Turning it off, skipping a renewal and lowering the limit do not."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import CustomerRequest
from accounts.models import User
from accounts.reauth import reauth_fresh, reauth_refusal
from billing import gateway, selectors, services
from billing.forms import AutoRenewForm, NextPlanForm, SpendingCapForm
from billing.models import PaymentProfile
from billing.next_charge import next_charge_of_line, plans_for_next_renewal
from billing.payment_errors import payment_errors_for_script
from billing.services.auto_renew import month_spent
from billing.views.messages import gateway_message
from boomcard.middleware import loads_stripe_js
from plans.line_hooks import NextCharge
from plans.models import Line

# The customer's controls of the next renewal and of the monthly limit (auto_renew_control).
CONTROLS = ("skip", "unskip", "next_plan", "cap")


@login_required
@require_http_methods(["GET", "POST"])
@loads_stripe_js
def auto_renew(request: CustomerRequest, line_id: int) -> HttpResponse:
    line = selectors.customer_line(user=request.user, line_id=line_id)
    profile = request.user.payment_profile if hasattr(request.user, "payment_profile") else None
    page = reverse("billing:auto_renew", args=[line.pk])
    forms: dict[str, object] = {}
    if request.method == "POST" and request.POST.get("action") in CONTROLS:
        action = str(request.POST["action"])
        if _charges_more(request, line, profile, action) and not reauth_fresh(request):
            # Back to the page with the choice filled in: once confirmed, one more click makes it.
            kept = {name: str(request.POST[name])[:40] for name in ("plan", "cap") if name in request.POST}
            return reauth_refusal(request, f"{page}?{urlencode(kept)}")
        done, forms = _control(request, line, action)
        if done:
            return redirect(page)
    if request.method == "POST" and request.POST.get("action") == "remove_card":
        if not reauth_fresh(request):
            return reauth_refusal(request, page)
        services.auto_renew_card_remove(user=request.user)
        messages.success(request, _("Your saved card is removed, and auto-renew is off."))
        return redirect("plans:line", pk=line.pk)
    if request.method == "POST" and not forms:
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
    currency = selectors.customer_currency(user=request.user)
    next_charge = next_charge_of_line(line)
    next_plans = plans_for_next_renewal(currency=currency) if line.auto_renew else []
    # The plan the list shows chosen: the one the customer picked before confirming, if on sale.
    plan_chosen = request.GET.get("plan", "")
    if plan_chosen not in {plan.code for plan, _price in next_plans}:
        plan_chosen = next_charge.plan_code if next_charge else ""
    return render(
        request,
        "billing/auto_renew.html",
        {
            "line": line,
            "profile": profile,
            "next_charge": next_charge,
            "over_cap": _over_cap(request.user, profile, next_charge),
            "next_plans": next_plans,
            "plan_chosen": plan_chosen,
            "currency": currency,
            "cap_form": forms.get("cap") or SpendingCapForm(initial={"cap": request.GET.get("cap", "")[:12]}),
            "plan_form": forms.get("next_plan"),
            "stripe_js": settings.STRIPE_JS_URL,
            # As on the pay page: localstripe's stand-in card form has its height reserved.
            "card_standin": not settings.STRIPE_JS_URL.startswith("https://js.stripe.com/"),
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            # Why a card was refused, in the customer's language, for the script.
            **payment_errors_for_script(),
        },
    )


def _over_cap(user: User, profile: PaymentProfile | None, charge: NextCharge | None) -> bool:
    """Whether the coming charge would pass the customer's monthly limit as things stand, so that
    the page says so before the charge is refused (billing.services.auto_renew.month_spent)."""
    if profile is None or profile.monthly_cap_minor is None or charge is None:
        return False
    if charge.state != NextCharge.State.DUE:
        return False
    spent = month_spent(user=user, currency=charge.currency, now=charge.at)
    return spent + charge.amount_minor > profile.monthly_cap_minor


def _charges_more(request: CustomerRequest, line: Line, profile: PaymentProfile | None, action: str) -> bool:
    """Whether a control lets auto-renew take more than it may now: the monthly limit raised or
    removed, or a plan dearer than the coming charge chosen for the next renewal. A stolen session
    must not be able to do that in one click; it may only make charges smaller or none. Input the
    forms refuse is left to them (False)."""
    if action == "cap":
        cap_form = SpendingCapForm(request.POST)
        if profile is None or profile.monthly_cap_minor is None or not cap_form.is_valid():
            return False
        cap = cap_form.cap_minor(selectors.customer_currency(user=request.user))
        return cap is None or cap > profile.monthly_cap_minor
    if action == "next_plan":
        plan_form = NextPlanForm(request.POST)
        if not plan_form.is_valid():
            return False
        charge = next_charge_of_line(line)
        if charge is None:  # nothing to compare with (no card saved yet, say): confirm any choice
            return True
        offers = plans_for_next_renewal(currency=charge.currency)
        price = next((price for plan, price in offers if plan.code == plan_form.cleaned_data["plan"]), None)
        return price is not None and price.amount_minor > charge.amount_minor
    return False


def _control(request: CustomerRequest, line: Line, action: str) -> tuple[bool, dict[str, object]]:
    """Skip the next renewal or undo it, choose its plan, or set the monthly limit. (True, {})
    once done or refused with a message; (False, {action: form}) to show a form's errors."""
    try:
        if action in ("skip", "unskip"):
            services.auto_renew_skip(line=line, skipped=action == "skip")
            messages.success(
                request, _("This renewal is skipped.") if action == "skip" else _("This renewal will be charged.")
            )
        elif action == "next_plan":
            plan_form = NextPlanForm(request.POST)
            if not plan_form.is_valid():
                return False, {action: plan_form}
            services.auto_renew_plan_choose(line=line, plan_code=plan_form.cleaned_data["plan"])
            messages.success(request, _("The next renewal will use this plan."))
        else:
            cap_form = SpendingCapForm(request.POST)
            if not cap_form.is_valid():
                return False, {action: cap_form}
            cap = cap_form.cap_minor(selectors.customer_currency(user=request.user))
            services.spending_cap_set(user=request.user, cap_minor=cap)
            messages.success(request, _("Your monthly limit is saved.") if cap else _("Your monthly limit is removed."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return True, {}
