"""The link from a bucket to the order that paid for it now lives in billing (OrderItem.bucket,
pointing down the layers); billing 0009 copied it there first."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("plans", "0005_usagebatchkey"),
        ("billing", "0009_order_item_backfill"),
    ]

    operations = [migrations.RemoveField(model_name="entitlement", name="order")]
