from django.db import migrations


def daily_rows_updated_in_place(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE plans_dailyusage SET (fillfactor = 50)")


def daily_rows_packed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE plans_dailyusage RESET (fillfactor)")


class Migration(migrations.Migration):
    """PostgreSQL: half of each page of daily totals kept free. Applying usage rewrites a line's row
    for the day with every batch; with room on its page the new version goes there and no index
    changes (a HOT update), rather than a new entry in each of the table's three indexes and the
    dead ones piling up until autovacuum clears them. Pages written from now on keep the room."""

    dependencies = [
        ("plans", "0006_last_usage_on_daily_totals"),
    ]

    operations = [migrations.RunPython(daily_rows_updated_in_place, daily_rows_packed)]
