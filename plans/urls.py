from django.urls import path

from plans import api, views

app_name = "plans"

urlpatterns = [
    path("plans/", views.catalogue, name="catalogue"),
    path("plans/recommend/", views.recommend, name="recommend"),
    path("plans/<slug:code>/", views.plan_detail, name="detail"),
    path("lines/<int:pk>/", views.line_detail, name="line"),
    path("api/usage/", api.usage_ingest, name="api_usage"),
    path("api/usage/batches/<str:batch_id>/", api.usage_batch_status, name="api_usage_batch"),
]
