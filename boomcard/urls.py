from django.contrib import admin
from django.urls import include, path

from boomcard.views import healthz

admin.site.site_header = "Boom"
admin.site.site_title = "Boom admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("plans.urls")),
    path("", include("billing.urls")),
]
