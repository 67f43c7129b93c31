"""The pages about a customer's lines: the home page (a card per line, with what is left on it)
and adding a line, proved by a code sent to its number.

Views parse and call a service; the service owns the write and its rules.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.generic import FormView
from phonenumber_field.phonenumber import PhoneNumber

from accounts.http import CustomerRequest
from boomcard.page_fragments import drawn_once
from boomcard.page_shell import customer_page, page_clock
from boomcard.ratelimit import client_address
from plans import lines
from plans.line_forms import LineAddConfirmForm, LineAddForm
from plans.line_page import summary_shows
from plans.selectors import LineSummary, line_summaries

# Session key for the step between "we sent a code" and "the code was right".
ADD_LINE_KEY = "boom_add_line"


@login_required
def home(request: CustomerRequest) -> HttpResponse:
    user = request.user

    def cards() -> str:
        drawn = [_card(summary) for summary in line_summaries(user=user)]
        return drawn_once(
            "home-cards",
            "\n".join(drawn),
            lambda: render_to_string("plans/line_cards.html", {"cards": [mark_safe(card) for card in drawn]}),  # noqa: S308
        )

    response = customer_page(request, "home", "plans/home.html", lambda: {"cards": mark_safe(cards())})  # noqa: S308
    if response is None:  # messages to show
        response = render(request, "plans/home.html", {"cards": mark_safe(cards()), **page_clock()})  # noqa: S308
    # The service worker keeps this page, and only this one, to show offline (static/js/sw.js).
    response["Boom-Offline"] = "keep"
    return response


def _card(summary: LineSummary) -> str:
    """A line's card, drawn once per what it shows (``summary_shows``): usage or a payment on one
    line draws only that line's card again, the others are found as drawn."""
    return drawn_once(
        "line-card",
        repr(summary_shows(summary)),
        lambda: render_to_string("plans/line_card.html", {"summary": summary}),
    )


class LineAddView(LoginRequiredMixin, FormView[LineAddForm]):
    template_name = "plans/line_add.html"
    form_class = LineAddForm
    success_url = reverse_lazy("plans:line_add_confirm")

    def form_valid(self, form: LineAddForm) -> HttpResponse:
        msisdn: PhoneNumber = form.cleaned_data["msisdn"]
        try:
            lines.line_claim_start(
                user=self.request.user,  # type: ignore[arg-type]
                msisdn=msisdn,
                client_address=client_address(self.request),
            )
        except ValidationError as error:
            form.add_error("msisdn", error)
            return self.form_invalid(form)
        self.request.session[ADD_LINE_KEY] = str(msisdn.as_e164)
        messages.info(self.request, _("We have sent a 6-digit code to %(phone)s.") % {"phone": msisdn})
        return super().form_valid(form)


class LineAddConfirmView(LoginRequiredMixin, FormView[LineAddConfirmForm]):
    template_name = "plans/line_add_confirm.html"
    form_class = LineAddConfirmForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        msisdn = request.session.get(ADD_LINE_KEY)
        if not msisdn:
            return redirect("plans:line_add")
        self.msisdn = PhoneNumber.from_string(msisdn)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(msisdn=self.msisdn, **kwargs)

    def form_valid(self, form: LineAddConfirmForm) -> HttpResponse:
        try:
            line = lines.line_claim_confirm(
                user=self.request.user,  # type: ignore[arg-type]
                msisdn=self.msisdn,
                code=form.cleaned_data["code"],
                nickname=form.cleaned_data["nickname"],
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        del self.request.session[ADD_LINE_KEY]
        messages.success(self.request, _("%(line)s is now on your account.") % {"line": line})
        return redirect("plans:home")
