"""The Django admin, for staff who logged in with their second step.

``accounts.apps.AdminConfig`` stands for ``django.contrib.admin`` in INSTALLED_APPS, so that
``admin.site``, where every app registers its models, is a ``StaffAdminSite``.

Its front page is a dashboard above the list of apps: panels that each app registers from its
admin package with ``dashboard_panel`` (this app cannot import plans or billing, which stand
above it), and pages that apps add under the admin's address with ``admin_page``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import NoReverseMatch, URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminSite

from accounts.selectors import two_factor_enabled

# Where the security pages send a staff member once their authenticator is set up.
AFTER_TWO_FACTOR_KEY = "boom_after_two_factor"

Panel = TypeVar("Panel", bound=Callable[[HttpRequest], "dict[str, Any] | None"])
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class DashboardPanel:
    """One panel of the admin's front page: ``read(request)`` gives its template's context (or
    None to leave it out), shown to staff with ``permission``, in ``position`` order."""

    template: str
    permission: str
    position: int
    read: Callable[[HttpRequest], dict[str, Any] | None]


DASHBOARD_PANELS: dict[str, DashboardPanel] = {}


def dashboard_panel(*, template: str, permission: str, position: int) -> Callable[[Panel], Panel]:
    """Register a function as a panel of the admin's front page (see ``DashboardPanel``). Each
    panel reads its figures in a fixed number of queries, however many rows there are."""

    def register(read: Panel) -> Panel:
        DASHBOARD_PANELS[f"{read.__module__}.{read.__qualname__}"] = DashboardPanel(
            template=template, permission=permission, position=position, read=read
        )
        return read

    return register


@dataclass(frozen=True)
class AdminPage:
    route: str
    view: Callable[..., HttpResponseBase]
    name: str


ADMIN_PAGES: list[AdminPage] = []


def admin_page(route: str, *, name: str) -> Callable[[View], View]:
    """Serve a view at ``route`` under the admin's address, as ``admin:<name>``, to staff who
    passed the second step (the view checks its own permission)."""

    def register(view: View) -> View:
        ADMIN_PAGES.append(AdminPage(route=route, view=view, name=name))
        return view

    return register


def carrier_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today, in the carrier's time zone (``USAGE_DAY_TIME_ZONE``, where the usage days are
    counted too), as its first moment and the next day's."""
    zone = ZoneInfo(settings.USAGE_DAY_TIME_ZONE)
    today = (now or timezone.now()).astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    return start, datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)


def changelist_url(model: type[Model], **filters: Any) -> str | None:
    """The admin's list of ``model`` narrowed by ``filters`` (lookups on its fields), or None
    when the model has no list in the admin."""
    opts = model._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        return None
    values = {name: value.isoformat() if isinstance(value, datetime) else value for name, value in filters.items()}
    return f"{url}?{urlencode(values)}" if values else url


class StaffAdminSite(OTPAdminSite):
    """django-otp's admin site: only staff whose session passed the second step get in.

    Its log-in page is the customers' one (number or staff name, password, then the code from
    the authenticator app), not a form of its own. A staff member without an authenticator is
    sent to set one up first, which needs a one-time enrolment code besides the password
    (``accounts.enrolment``), and comes back here after.
    """

    site_header = "Boom"
    site_title = "Boom admin"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        panels = sorted(DASHBOARD_PANELS.values(), key=lambda panel: panel.position)
        dashboard = []
        for panel in panels:
            if request.user.has_perm(panel.permission) and (context := panel.read(request)) is not None:
                dashboard.append({"template": panel.template, **context})
        return super().index(request, {"dashboard": dashboard, **(extra_context or {})})

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # Before the models' own pages, whose catch-all would take these addresses.
        pages = [path(page.route, self.admin_view(page.view), name=page.name) for page in ADMIN_PAGES]
        return pages + super().get_urls()

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(next_url)
        user = request.user
        login_url = reverse("accounts:login")
        if not user.is_authenticated:
            return redirect_to_login(next_url, login_url)
        if not (user.is_active and user.is_staff):
            messages.error(request, _("This account cannot use the admin."))
            return redirect(settings.LOGIN_REDIRECT_URL)
        if not two_factor_enabled(user=user):
            request.session[AFTER_TWO_FACTOR_KEY] = next_url
            messages.info(
                request,
                _(
                    "Staff need two-step log-in to use the admin. Set it up with an authenticator app and "
                    "the enrolment code another staff member made for you to carry on."
                ),
            )
            return redirect("accounts:security")
        # An authenticator is set up, but this session logged in without it (before it was
        # set up): log in again, with the code.
        logout(request)
        messages.info(request, _("Log in again with the code from your authenticator app to use the admin."))
        return redirect_to_login(next_url, login_url)
