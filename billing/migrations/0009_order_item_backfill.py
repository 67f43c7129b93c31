"""One item per order made before orders had items: the order's plan, flexible amounts and
amount, and the bucket the order made (``Entitlement.order``, dropped by plans 0006 after this)."""

from django.db import migrations


def items_from_orders(apps, schema_editor):
    Order = apps.get_model("billing", "Order")
    OrderItem = apps.get_model("billing", "OrderItem")
    Entitlement = apps.get_model("plans", "Entitlement")
    buckets = dict(Entitlement.objects.filter(order__isnull=False).values_list("order_id", "pk"))
    orders = Order.objects.filter(items__isnull=True).order_by("pk")
    batch = []
    for order in orders.iterator(chunk_size=2000):
        batch.append(
            OrderItem(
                order_id=order.pk,
                position=0,
                plan_id=order.plan_id,
                flex_data_gb=order.flex_data_gb,
                flex_minutes=order.flex_minutes,
                amount_minor=order.amount_minor,
                bucket_id=buckets.get(order.pk),
            )
        )
        if len(batch) >= 2000:
            OrderItem.objects.bulk_create(batch)
            batch = []
    OrderItem.objects.bulk_create(batch)


def buckets_back_to_orders(apps, schema_editor):
    OrderItem = apps.get_model("billing", "OrderItem")
    Entitlement = apps.get_model("plans", "Entitlement")
    linked = set()
    items = OrderItem.objects.filter(bucket__isnull=False).order_by("order_id", "position")
    for order_id, bucket_id in items.values_list("order_id", "bucket_id"):
        if order_id not in linked:  # the old link holds one bucket per order: the first item's
            Entitlement.objects.filter(pk=bucket_id).update(order_id=order_id)
            linked.add(order_id)
    OrderItem.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_order_item"),
        ("plans", "0005_usagebatchkey"),
    ]

    operations = [migrations.RunPython(items_from_orders, buckets_back_to_orders)]
