"""The billing models whose changes show on a customer's pages (the orders list, an order, its
receipt, the renewal and payment pages): saving or deleting one through the ORM drops the
customer's cached pages (boomcard.page_cache). Writes that send no signal (QuerySet.update) call
``pages_changed`` themselves. Connected in ``BillingConfig.ready``."""

from django.db.models.signals import post_delete, post_save

from billing.models import Order, OrderItem, PaymentProfile, Refund
from boomcard.page_cache import pages_changed


def order_changed(sender: type, instance: Order, **kwargs: object) -> None:
    pages_changed([instance.user_id])


def order_part_changed(sender: type, instance: OrderItem | Refund, **kwargs: object) -> None:
    order_field = type(instance)._meta.get_field("order")
    if order_field.is_cached(instance):
        pages_changed([instance.order.user_id])
    else:
        pages_changed(Order.objects.filter(pk=instance.order_id).values_list("user_id", flat=True))


def payment_profile_changed(sender: type, instance: PaymentProfile, **kwargs: object) -> None:
    pages_changed([instance.user_id])


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(order_changed, sender=Order, dispatch_uid=f"page_cache.Order.{signal}")
        signal.connect(order_part_changed, sender=OrderItem, dispatch_uid=f"page_cache.OrderItem.{signal}")
        signal.connect(order_part_changed, sender=Refund, dispatch_uid=f"page_cache.Refund.{signal}")
        signal.connect(payment_profile_changed, sender=PaymentProfile, dispatch_uid=f"page_cache.Profile.{signal}")
