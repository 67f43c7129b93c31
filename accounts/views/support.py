"""The help page: answers, Boom's contact channels, and the form to write to support, open to
everyone (a locked-out customer too); logged in, also the customer's own requests with their
threads, and a page per request to reply on."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView
from phonenumber_field.phonenumber import PhoneNumber

from accounts.http import CustomerRequest
from accounts.models import SupportRequest, User
from accounts.selectors import unread_notice_count
from accounts.support import support_code_send, support_request_create, support_request_create_by_phone
from accounts.support_desk import (
    support_customer_reply,
    support_replies_seen,
    support_thread_of,
    support_threads_of,
)
from accounts.support_forms import SupportCodeForm, SupportForm, SupportGuestForm, SupportReplyForm
from boomcard.page_fragments import FORM_TOKEN_MARKER, drawn_once, fragment_for, fragment_render
from boomcard.page_shell import customer_page
from boomcard.ratelimit import client_address
from boomcard.rows import row_columns

# The logged-out request waiting for the code sent to its number.
SUPPORT_PENDING_KEY = "support_pending"


def _contact() -> dict[str, str]:
    return {"email": settings.SUPPORT_EMAIL, "hours": settings.SUPPORT_HOURS, "phone": settings.SUPPORT_PHONE}


def _thanks(request: HttpRequest, support_request: SupportRequest) -> None:
    messages.success(
        request,
        _("Thank you. We have your message (%(ref)s) and answer within one working day.")
        % {"ref": support_request.reference},
    )


def support(request: HttpRequest) -> HttpResponse:
    """Answers to the common questions, how to reach Boom, and a form to write to support."""
    if request.user.is_authenticated:
        return _support_customer(request)
    form = SupportGuestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["reply_by"] == SupportGuestForm.EMAIL:
                support_request = support_request_create(
                    topic=data["topic"], message=data["message"], contact_email=data["email"], token=data["token"]
                )
                _thanks(request, support_request)
                return redirect("accounts:support")
            phone: PhoneNumber = data["phone"]
            support_code_send(
                phone=phone, language=translation.get_language() or "", client_address=client_address(request)
            )
        except ValidationError as error:
            form.add_error("phone" if data["reply_by"] == SupportGuestForm.PHONE else None, error)
        else:
            request.session[SUPPORT_PENDING_KEY] = {
                "phone": str(phone.as_e164),
                "topic": data["topic"],
                "message": data["message"],
                "token": str(data["token"]) if data["token"] else "",
            }
            messages.info(request, _("A 6-digit code is on its way to %(phone)s.") % {"phone": phone})
            return redirect("accounts:support_confirm")
    return render(request, "accounts/support.html", {"form": form, "contact": _contact()})


def _support_customer(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        form = SupportForm(request.POST, user=user)
        if form.is_valid():
            try:
                support_request = support_request_create(
                    user=user,
                    topic=form.cleaned_data["topic"],
                    message=form.cleaned_data["message"],
                    line=form.cleaned_data["line"],
                    token=form.cleaned_data["token"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                _thanks(request, support_request)
                return redirect("accounts:support")
        # A form with errors: shown as posted, never cached.
        body = render_to_string("accounts/support_body.html", _support_context(user, form), request=request)
        return render(request, "accounts/support.html", {"body": body})

    def fragment() -> str:
        form = SupportForm(user=user)
        form.initial["token"] = FORM_TOKEN_MARKER  # each request gets its own (fragment_for)
        context = _support_context(user, form)
        # The page shows the customer's lines to choose from, their requests with their threads
        # and Boom's contact details: drawn once per process under every column of them (and
        # the language), not on every first view after a change to something else. The empty
        # form shows only the lines, and is shared by every body with the same ones.
        choices = repr([(str(value), str(label)) for value, label in form.fields["line"].choices])  # type: ignore[attr-defined]
        threads = [
            (row_columns(item), [row_columns(message) for message in item.thread]) for item in context["requests"]
        ]

        def draw() -> str:
            form_html = drawn_once(
                "support-form", choices, lambda: render_to_string("includes/form.html", {"form": form})
            )
            return fragment_render("accounts/support_body.html", {**context, "form_html": mark_safe(form_html)})  # noqa: S308 (our template)

        return drawn_once("support-body", repr((choices, context["contact"], threads)), draw)

    # The answers, the customer's requests with their threads, and the empty form.
    response = customer_page(request, "support", "accounts/support.html", lambda: {"body": mark_safe(fragment())})  # noqa: S308
    if response is not None:
        return response
    return render(request, "accounts/support.html", {"body": fragment_for(request, fragment())})


def _support_context(user: User, form: SupportForm) -> dict[str, Any]:
    return {"form": form, "contact": _contact(), "requests": support_threads_of(user=user), "customer": True}


@login_required
def support_thread(request: CustomerRequest, pk: int) -> HttpResponse:
    """One of the customer's own requests: its thread (never staff's internal notes) and a
    reply, which makes it new again for support. Another customer's request is not found."""
    try:
        thread = support_thread_of(user=request.user, support_request_id=pk)
    except SupportRequest.DoesNotExist:
        raise Http404 from None
    form = SupportReplyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            support_customer_reply(
                user=request.user,
                support_request_id=thread.pk,
                body=form.cleaned_data["body"],
                token=form.cleaned_data["token"],
            )
        except SupportRequest.DoesNotExist:  # the token of another customer's reply
            form.add_error(None, _("This form has expired. Please write your message again."))
        else:
            messages.success(request, _("Thank you. We have your reply and answer within one working day."))
            return redirect("accounts:support_thread", pk=thread.pk)
    if request.method == "GET" and support_replies_seen(user=request.user, support_request_id=thread.pk):
        # The bell on this page counts what is still unread now that these are read.
        request.user.unread_notice_count = unread_notice_count(user=request.user)
    return render(request, "accounts/support_thread.html", {"item": thread, "form": form})


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class SupportConfirmView(FormView[SupportCodeForm]):
    """The second step of the phone path: the code sent to the number."""

    template_name = "accounts/support_confirm.html"
    form_class = SupportCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        pending = request.session.get(SUPPORT_PENDING_KEY)
        if not isinstance(pending, dict) or request.user.is_authenticated:
            return redirect("accounts:support")
        self.pending: dict[str, str] = pending
        self.phone = PhoneNumber.from_string(self.pending["phone"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(phone=self.phone, **kwargs)

    def form_valid(self, form: SupportCodeForm) -> HttpResponse:
        try:
            support_request = support_request_create_by_phone(
                phone=self.phone,
                code=form.cleaned_data["code"],
                topic=self.pending["topic"],
                message=self.pending["message"],
                token=uuid.UUID(self.pending["token"]) if self.pending.get("token") else None,
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        del self.request.session[SUPPORT_PENDING_KEY]
        _thanks(self.request, support_request)
        return redirect("accounts:support")
