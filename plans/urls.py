from django.urls import path

from plans import api, line_views, views

app_name = "plans"

urlpatterns = [
    path("", line_views.home, name="home"),
    path("lines/add/", line_views.LineAddView.as_view(), name="line_add"),
    path("lines/add/confirm/", line_views.LineAddConfirmView.as_view(), name="line_add_confirm"),
    path("plans/", views.catalogue, name="catalogue"),
    path("plans/recommend/", views.recommend, name="recommend"),
    path("plans/<slug:code>/", views.plan_detail, name="detail"),
    path("lines/<int:pk>/", views.line_detail, name="line"),
    path("api/usage/", api.usage_ingest, name="api_usage"),
    path("api/usage/batches/<str:batch_id>/", api.usage_batch_status, name="api_usage_batch"),
]
