"""The accounts models whose changes show on a customer's pages: saving or deleting one through
the ORM (services, the admin) drops the customer's cached pages (boomcard.page_cache), and their
cached account too for the user and their notices (the bell). Writes that send no signal
(QuerySet.update, bulk_create) call ``customers_changed`` themselves."""

from django.db.models.signals import post_delete, post_save

from accounts.models import Notice, SupportMessage, SupportRequest, User
from boomcard.page_cache import customers_changed, pages_changed


def user_changed(sender: type, instance: User, **kwargs: object) -> None:
    customers_changed([instance.pk])


def notice_changed(sender: type, instance: Notice, **kwargs: object) -> None:
    customers_changed([instance.user_id])


def support_request_changed(sender: type, instance: SupportRequest, **kwargs: object) -> None:
    pages_changed([instance.user_id])


def support_message_changed(sender: type, instance: SupportMessage, **kwargs: object) -> None:
    if SupportMessage._meta.get_field("request").is_cached(instance):
        pages_changed([instance.request.user_id])
    else:
        pages_changed(SupportRequest.objects.filter(pk=instance.request_id).values_list("user_id", flat=True))


def connect_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(user_changed, sender=User, dispatch_uid=f"page_cache.User.{signal}")
        signal.connect(notice_changed, sender=Notice, dispatch_uid=f"page_cache.Notice.{signal}")
        # The help page's list of the customer's requests and their threads.
        signal.connect(support_request_changed, sender=SupportRequest, dispatch_uid=f"page_cache.Support.{signal}")
        signal.connect(support_message_changed, sender=SupportMessage, dispatch_uid=f"page_cache.Message.{signal}")
