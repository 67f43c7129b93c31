"""Orders and the Stripe events that move them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.payment_errors import payment_error_message
from plans.models import CURRENCIES


def new_public_id() -> str:
    """An order id to show and put in URLs: random, so it tells nothing about other orders."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
    return "BM" + "".join(secrets.choice(alphabet) for _ in range(12))


class Order(models.Model):
    """One purchase for one line, paid once: a renewal, a change of plan, an add-on pack, or a
    recommended mix of them (a plan, top-ups, roaming packs).

    What it buys are its ``items``, one row per unit; ``plan``, ``kind`` and the flexible amounts
    are the order's headline (its base plan if it has one, else its first pack), which pages,
    notices and renewals read. The amount (the sum of the items) and currency are copied from the
    catalogue when the order is made and never come from the browser. The status only moves along
    ``TRANSITIONS``; a paid order makes exactly one bucket per item (``OrderItem.bucket`` is
    one-to-one).
    """

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal")
        CHANGE = "change", _("Change of plan")
        ADDON = "addon", _("Add-on pack")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        REQUIRES_ACTION = "requires_action", _("Waiting for you to finish paying")
        FAILED = "failed", _("Payment failed")
        PAID = "paid", _("Paid")
        FULFILLED = "fulfilled", _("Paid and added")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    OPEN = (Status.PENDING, Status.REQUIRES_ACTION, Status.FAILED)
    FINAL = (Status.FULFILLED, Status.CANCELLED, Status.REFUNDED)
    # Where each status may go. Open orders may try payment again (FAILED -> REQUIRES_ACTION);
    # nothing goes back to open once paid, and only Stripe's word that money was taken moves a
    # cancelled order on (a payment that succeeded as the order timed out is still honoured).
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({"requires_action", "failed", "paid", "fulfilled", "cancelled"}),
        Status.REQUIRES_ACTION: frozenset({"pending", "failed", "paid", "fulfilled", "cancelled"}),
        Status.FAILED: frozenset({"requires_action", "paid", "fulfilled", "cancelled"}),
        Status.PAID: frozenset({"fulfilled", "refunded"}),
        Status.FULFILLED: frozenset({"refunded"}),
        Status.CANCELLED: frozenset({"paid", "fulfilled"}),
        Status.REFUNDED: frozenset(),
    }

    public_id = models.CharField(_("order id"), max_length=16, unique=True, default=new_public_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    line = models.ForeignKey("plans.Line", verbose_name=_("line"), on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey("plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    flex_data_gb = models.PositiveSmallIntegerField(_("flexible data (GB)"), null=True, blank=True)
    flex_minutes = models.PositiveIntegerField(_("flexible minutes"), null=True, blank=True)
    amount_minor = models.PositiveIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    payment_intent_id = models.CharField(_("Stripe payment intent"), max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    payment_method_type = models.CharField(_("payment method"), max_length=32, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=32, blank=True)
    card_last4 = models.CharField(_("card’s last 4 digits"), max_length=4, blank=True)
    failure_reason = models.CharField(_("why it failed"), max_length=255, blank=True)
    # What the customer must do to finish paying, as Stripe last said (its ``next_action``): the
    # Alipay address, the WeChat Pay QR code and when it expires. Empty once nothing is awaited.
    action = models.JSONField(_("next step for the customer"), default=dict, blank=True)
    # Stripe's code for the failure (``insufficient_funds``...): the pages translate it.
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    off_session = models.BooleanField(
        _("charged by auto-renew"), default=False, help_text=_("Charged by auto-renew with a saved card.")
    )
    # For auto-renew: the line expiry this order renews, so one expiry is charged once.
    renews_expiry = models.DateTimeField(_("expiry it renews"), null=True, blank=True)
    created_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("added to the line at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="billing_order_user_recent"),
            models.Index(fields=["status", "created_at"], name="billing_order_status_age"),
        ]
        constraints = [
            # Two tabs, a double click or two threads cannot open a second order for a line.
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(status__in=["pending", "requires_action", "failed"]),
                name="billing_order_one_open_per_line",
            ),
            models.UniqueConstraint(
                fields=["line", "renews_expiry"],
                condition=Q(off_session=True),
                name="billing_order_one_auto_renew_per_expiry",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="billing_order_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def failure_message(self) -> str:
        """Why the last try did not go through, in the customer's language."""
        return payment_error_message(self.failure_code, self.failure_reason)

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class OrderItem(models.Model):
    """One unit an order buys (two of a pack are two items), at the price it was sold at. When the
    order is fulfilled the item gets its bucket: one-to-one, so an item can never make two,
    whatever arrives twice. Items are granted in ``position`` order, the base plan first."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("item number"))
    plan = models.ForeignKey("plans.Plan", verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    flex_data_gb = models.PositiveSmallIntegerField(_("flexible data (GB)"), null=True, blank=True)
    flex_minutes = models.PositiveIntegerField(_("flexible minutes"), null=True, blank=True)
    amount_minor = models.PositiveIntegerField(_("amount (minor units)"))
    # Starts when the order's previous item of the same plan ends, not when the order is paid.
    in_turn = models.BooleanField(_("starts when the previous one ends"), default=False)
    bucket = models.OneToOneField(
        "plans.Bucket",
        verbose_name=_("allowance bucket"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_item",
    )

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="billing_orderitem_one_per_position"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="billing_orderitem_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.position} {self.plan_id}"


class Refund(models.Model):
    """Money given back for an order, in full or in part. Recorded as requested before Stripe is
    asked, so a refund Stripe made while the app was not listening (a timeout, a crash) is found
    and recorded by the sweep; only once Stripe says a refund succeeded does it take back
    allowance: the order becomes refunded, and what is left of its buckets is withdrawn, when the
    refunds cover its whole amount; a part refunded takes back the same share of what is left.
    Stripe's refund is asked for with this row's id as the idempotency key; the staff member's
    confirmation carries ``request_key``, so the same confirmation sent twice makes one row."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PENDING = "pending", _("Pending at the payment service")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the customer")
        SERVICE_PROBLEM = "service_problem", _("Problem with the service")
        DUPLICATE = "duplicate", _("Duplicate charge")
        FRAUDULENT = "fraudulent", _("Fraudulent payment")
        GOODWILL = "goodwill", _("Goodwill")
        OTHER = "other", _("Other")

    OPEN = (Status.REQUESTED, Status.PENDING)

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    stripe_refund_id = models.CharField(_("Stripe refund id"), max_length=255, unique=True, null=True, blank=True)
    # Why, from the list staff choose from (blank for a refund made at Stripe); ``reason`` is free
    # text the app writes itself ("made at Stripe"), ``note`` what the staff member wrote.
    reason_code = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)
    reason = models.CharField(_("recorded as"), max_length=255, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # What a partial refund took back of the order's buckets once it succeeded: bytes of data,
    # seconds of talk and SMS ({} until then, and for a refund that took back nothing).
    taken_back = models.JSONField(default=dict, blank=True, editable=False)
    failure_reason = models.CharField(_("why it failed"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status__in=["requested", "pending"]), name="billing_refund_open"
            )
        ]
        constraints = [
            # Staff pressing twice, or two staff at once, cannot start a second refund of one order.
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="requested"), name="billing_refund_one_requested_per_order"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="billing_refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_refund_id or f"refund {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Dispute(models.Model):
    """A customer's bank or wallet disputing an order's payment (Stripe's dispute), kept as
    Stripe last said. Its own row rather than an order status: a dispute runs beside the
    payment's life (the order stays paid, its bucket stays, until staff decide) and has its own
    id and status at Stripe. ``stripe_dispute_id`` is unique, so an event that comes twice
    records it once; staff are told once, when it is first recorded."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs a response")
        WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
        WARNING_CLOSED = "warning_closed", _("Inquiry closed")
        NEEDS_RESPONSE = "needs_response", _("Needs a response")
        UNDER_REVIEW = "under_review", _("Under review")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    # How far along each status is: a late or repeated event never moves a dispute back.
    STAGE: dict[str, int] = {
        Status.WARNING_NEEDS_RESPONSE: 0,
        Status.NEEDS_RESPONSE: 0,
        Status.WARNING_UNDER_REVIEW: 1,
        Status.UNDER_REVIEW: 1,
        Status.WARNING_CLOSED: 2,
        Status.WON: 2,
        Status.LOST: 2,
    }

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(_("Stripe dispute id"), max_length=255, unique=True)
    charge_id = models.CharField(_("Stripe charge"), max_length=255, blank=True)
    amount_minor = models.PositiveIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=32, choices=Status.choices)
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    opened_at = models.DateTimeField(
        _("opened at"), null=True, blank=True, help_text=_("When the dispute was opened at Stripe.")
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.stripe_dispute_id


class StripeEvent(models.Model):
    """Every webhook event Stripe sent, stored by its id when it arrives (a repeat is a no-op) and
    processed once by a task on the ``billing`` queue, which sets ``processed_at`` and ``outcome``.
    An event still unprocessed at ``retry_at`` is queued again by the sweep, up to
    ``SWEEP_ATTEMPTS`` times (``attempts`` counts them); after that it waits for staff."""

    SWEEP_ATTEMPTS = 8

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    payment_intent_id = models.CharField(_("Stripe payment id"), max_length=255, blank=True, db_index=True)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("times queued again"), default=0)
    retry_at = models.DateTimeField(_("next try at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]
        indexes = [
            # The sweep's one query: the few events not processed yet, by when they are due.
            models.Index(
                fields=["retry_at"], name="stripeevent_unprocessed", condition=models.Q(processed_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    @property
    def given_up(self) -> bool:
        return self.processed_at is None and self.attempts >= self.SWEEP_ATTEMPTS


class PaymentProfile(models.Model):
    """A customer's Stripe customer id, and the card saved for auto-renew (Stripe keeps the card)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_profile", verbose_name=_("customer")
    )
    stripe_customer_id = models.CharField(_("Stripe customer id"), max_length=255, unique=True)
    card_payment_method_id = models.CharField(_("saved card (Stripe id)"), max_length=255, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=32, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    # The most auto-renew may take in a calendar month, in the customer's currency (null: no
    # limit); see billing.services.auto_renew.month_spent for what counts.
    monthly_cap_minor = models.PositiveIntegerField(_("monthly spending limit (minor units)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("payment profile")
        verbose_name_plural = _("payment profiles")

    def __str__(self) -> str:
        return self.stripe_customer_id

    @property
    def has_card(self) -> bool:
        return bool(self.card_payment_method_id)


class RenewalReminder(models.Model):
    """That a line was reminded ``days`` before the expiry it had: once per line, expiry and stage."""

    line = models.ForeignKey("plans.Line", on_delete=models.CASCADE, related_name="+", verbose_name=_("line"))
    expires_at = models.DateTimeField(_("line expiry"))
    days = models.SmallIntegerField(_("days before expiry"))
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("renewal reminder")
        verbose_name_plural = _("renewal reminders")
        constraints = [
            models.UniqueConstraint(fields=["line", "expires_at", "days"], name="billing_reminder_once_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.expires_at:%Y-%m-%d} -{self.days}d"


from billing.renewal_models import AutoRenewal  # noqa: E402, F401 - one of the app's models
