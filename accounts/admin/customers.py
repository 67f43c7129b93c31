from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from accounts.admin.customer_page import CustomerPageAdmin
from accounts.admin.forms import CustomerChangeForm, CustomerCreationForm
from accounts.admin.search import PhoneSearchAdmin
from accounts.enrolment import NewEnrolmentCode, enrolment_code_create
from accounts.models import User
from boomcard.audit import AuditedAdmin


@admin.register(User)
class UserAdmin(AuditedAdmin, PhoneSearchAdmin, CustomerPageAdmin, DjangoUserAdmin):
    """The customer's page is the support desk's one view of them: panels above the form, each
    app's own (accounts.admin.customer_panels, plans.admin.customer, billing.admin.customer)."""

    form = CustomerChangeForm
    add_form = CustomerCreationForm
    ordering = ["-date_joined"]
    list_display = ["phone", "email", "username", "phone_verified_at", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "language"]
    search_fields = ["phone", "email", "username"]
    phone_search_fields = ["phone"]
    readonly_fields = ["date_joined", "last_login", "phone_verified_at"]
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Customer"), {"fields": ("email", "language", "time_zone", "phone_verified_at")}),
        (_("Staff"), {"fields": ("username", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone", "username", "password1", "password2")}),)
    actions = ["enrolment_code_make"]

    @admin.action(description=_("Make an enrolment code (to set up an authenticator)"), permissions=["change"])
    def enrolment_code_make(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        """A one-time enrolment code for each selected staff member, shown on the answer once."""
        made: list[NewEnrolmentCode] = []
        for user in queryset.order_by("pk"):
            try:
                made.append(enrolment_code_create(user=user, created_by=request.user))  # type: ignore[arg-type]
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
        if not made:
            return None
        response = TemplateResponse(
            request,
            "admin/accounts/enrolment_codes.html",
            {**self.admin_site.each_context(request), "title": _("Enrolment codes"), "made": made, "opts": self.opts},
        )
        add_never_cache_headers(response)
        return response
