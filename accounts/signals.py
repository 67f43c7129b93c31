"""The accounts models whose changes show on a customer's pages: saving or deleting one through
the ORM (services, the admin) drops the customer's cached pages (boomcard.page_cache). Writes that
send no signal (QuerySet.update, bulk_create) call ``customers_changed`` themselves."""

from django.db.models.signals import post_delete, post_save

from accounts.models import Notice, User
from boomcard.page_cache import customers_changed


def user_changed(sender: type, instance: User, **kwargs: object) -> None:
    customers_changed([instance.pk])


def notice_changed(sender: type, instance: Notice, **kwargs: object) -> None:
    customers_changed([instance.user_id])


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(user_changed, sender=User, dispatch_uid=f"page_cache.User.{signal}")
        signal.connect(notice_changed, sender=Notice, dispatch_uid=f"page_cache.Notice.{signal}")
