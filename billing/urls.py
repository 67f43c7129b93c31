from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("lines/<int:line_id>/renew/", views.renew, name="renew"),
    path("lines/<int:line_id>/renew/price/", views.renew_price, name="renew_price"),
    path("lines/<int:line_id>/renew/now/", views.renew_now, name="renew_now"),
    path("lines/<int:line_id>/auto-renew/", views.auto_renew, name="auto_renew"),
    path("plans/recommend/buy/", views.suggestion, name="suggestion"),
    path("billing/card/setup/", views.card_setup, name="card_setup"),
    path("billing/orders/", views.orders, name="orders"),
    path("billing/orders/<str:public_id>/", views.order_detail, name="order"),
    path("billing/orders/<str:public_id>/pay/", views.pay, name="pay"),
    path("billing/orders/<str:public_id>/card/", views.pay_card, name="pay_card"),
    path("billing/orders/<str:public_id>/wallet/", views.pay_wallet, name="pay_wallet"),
    path("billing/orders/<str:public_id>/status/", views.order_status, name="order_status"),
    path("billing/orders/<str:public_id>/receipt/", views.receipt, name="receipt"),
    path("billing/orders/<str:public_id>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("billing/orders/<str:public_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
