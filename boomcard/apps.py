from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """``django.contrib.admin``, with ``admin.site`` (where every app registers its models) a
    ``StaffAdminSite``, which asks staff for their second step."""

    default_site = "boomcard.admin_site.StaffAdminSite"
