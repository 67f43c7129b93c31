"""The customer's page in the admin as the support desk's one view: panels and their buttons.

Each app adds what it knows of a customer to ``UserAdmin`` (the layers point down: plans and
billing extend the accounts admin, never the other way):

- a **panel** (``CustomerPanel``) is a read-only section above the form, drawn by its own
  template from what its ``context`` function reads, in a fixed number of queries however much
  the customer has; panels are shown by ``order``;
- an **action** (``CustomerAction``) is a button in a panel: a POST (with its CSRF token) to
  ``<customer>/do/<name>/`` that runs a service for the staff member and records it in the audit
  trail. A destructive one is confirmed first, on a page of its own that also asks for a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise

from accounts.models import User

# What an action's ``run`` is given: the request, the customer, the row it is about (an email's
# id; "" when none) and the staff member's reason; it returns the message to show.
ActionRun = Callable[[HttpRequest, User, str, str], str]
PanelContext = Callable[[HttpRequest, User], dict[str, Any]]

REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class CustomerPanel:
    key: str  # the section's id on the page: panel-<key>
    order: int  # place on the page, smallest first
    title: str | Promise
    template: str
    context: PanelContext


@dataclass(frozen=True)
class CustomerAction:
    name: str  # in the URL: <customer>/do/<name>/
    panel: str  # the panel it belongs to: the page comes back there
    title: str | Promise
    run: ActionRun
    # The question asked before a destructive action; None runs at once.
    confirm: str | Promise | None = None


@dataclass(frozen=True)
class ShownPanel:
    panel: CustomerPanel
    data: dict[str, Any]


def customer_action_url(customer: User, action: str) -> str:
    return reverse("admin:accounts_user_action", args=[customer.pk, action])


class CustomerPageAdmin(admin.ModelAdmin[User]):
    """The panels and actions of the customer's page (mixed into ``UserAdmin``)."""

    customer_panels: ClassVar[list[CustomerPanel]] = []
    customer_actions: ClassVar[dict[str, CustomerAction]] = {}
    change_form_template = "admin/accounts/user/change_form.html"

    @classmethod
    def panel_add(cls, panel: CustomerPanel) -> None:
        cls.customer_panels = sorted([*cls.customer_panels, panel], key=lambda p: p.order)

    @classmethod
    def action_add(cls, action: CustomerAction) -> None:
        cls.customer_actions = {**cls.customer_actions, action.name: action}

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/do/<slug:action>/",
                self.admin_site.admin_view(self.customer_action_view),
                name="accounts_user_action",
            )
        ]
        return own + super().get_urls()

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: User | None = None,
    ) -> HttpResponse:
        if change and obj is not None and obj.pk is not None:
            context["customer_panels"] = [
                ShownPanel(panel=panel, data={**panel.context(request, obj), "customer": obj})
                for panel in self.customer_panels
            ]
            context["customer_can_act"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def customer_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        customer = self.get_object(request, unquote(object_id))
        to_run = self.customer_actions.get(action)
        if customer is None or to_run is None:
            raise Http404
        if not self.has_change_permission(request, customer):
            raise PermissionDenied
        target = request.POST.get("target", request.GET.get("target", ""))[:64]
        reason = request.POST.get("reason", "").strip()[:REASON_MAX_LENGTH]
        confirmed = to_run.confirm is None or request.POST.get("confirmed") == "yes"
        if request.method != "POST" or not confirmed:
            return self._confirmation(request, customer, to_run, target)
        try:
            done = to_run.run(request, customer, target, reason)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        change_url = reverse("admin:accounts_user_change", args=[customer.pk])
        return HttpResponseRedirect(f"{change_url}#panel-{to_run.panel}")

    def _confirmation(self, request: HttpRequest, customer: User, action: CustomerAction, target: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": action.title,
            "customer": customer,
            "action": action,
            "question": action.confirm,
            "target": target,
            "action_url": customer_action_url(customer, action.name),
            "change_url": reverse("admin:accounts_user_change", args=[customer.pk]),
        }
        return TemplateResponse(request, "admin/accounts/user/action_confirm.html", context)
