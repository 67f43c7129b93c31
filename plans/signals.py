"""How the plans app tells the apps below it of its changes.

- The customer's cached pages (boomcard.page_cache): saving or deleting a line or a bucket through
  the ORM (services, the admin) drops its owner's; a plan or a price, everyone's (the catalogue's
  generation). Writes that send no signal (QuerySet.update, bulk_create, the usage feed's SQL)
  call ``pages_changed`` or ``catalogue_changed`` themselves.
- What accounts asks about lines (accounts.line_hooks): the customer's lines for the support form,
  and whether a renewal reminder is still due.

Connected in ``PlansConfig.ready``.
"""

from django.db.models.signals import post_delete, post_save

from accounts.line_hooks import line_hooks_register
from boomcard.page_cache import catalogue_changed, pages_changed
from plans.lines import line_choices, line_reminder_due
from plans.models import Bucket, Line, Plan, Price


def line_changed(sender: type, instance: Line, **kwargs: object) -> None:
    pages_changed([instance.owner_id])


def bucket_changed(sender: type, instance: Bucket, **kwargs: object) -> None:
    pages_changed([instance.line.owner_id])


def plan_or_price_changed(sender: type, instance: Plan | Price, **kwargs: object) -> None:
    catalogue_changed()


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(line_changed, sender=Line, dispatch_uid=f"page_cache.Line.{signal}")
        signal.connect(bucket_changed, sender=Bucket, dispatch_uid=f"page_cache.Bucket.{signal}")
        for model in (Plan, Price):
            signal.connect(plan_or_price_changed, sender=model, dispatch_uid=f"page_cache.{model.__name__}.{signal}")
    line_hooks_register(lines_of_customer=line_choices, reminder_due=line_reminder_due)
