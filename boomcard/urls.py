from django.contrib import admin
from django.urls import include, path

from boomcard.views import healthz, ping
from boomcard.webapp import favicon, manifest, service_worker

# admin.site is a accounts.admin_site.StaffAdminSite (see INSTALLED_APPS): staff need their
# second step, and log in on the customers' log-in page.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("ping", ping, name="ping"),
    path("manifest.webmanifest", manifest, name="manifest"),
    path("favicon.ico", favicon, name="favicon"),
    path("sw.js", service_worker, name="service_worker"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("plans.urls")),
    path("", include("billing.urls")),
]
