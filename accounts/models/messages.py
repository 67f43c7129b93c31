"""What the site tells people: notices, the emails that carry them (the outbox), support requests
and alerts for staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Notice(models.Model):
    """A message to a customer, shown in the site (and, by the outbox, sent by email).

    ``key`` makes "once per" rules hold in the database: one low-balance notice per bucket and
    threshold, one reminder per line and expiry date, one confirmation per order.
    """

    class Kind(models.TextChoices):
        LOW_BALANCE = "low_balance", _("Data running low")
        PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
        PAYMENT_NEEDED = "payment_needed", _("Payment needed")
        REFUNDED = "refunded", _("Refund")
        RENEWAL_REMINDER = "renewal_reminder", _("Renewal reminder")
        DATA_RUNOUT = "data_runout", _("Data will run out early")
        AUTO_RENEW_UPCOMING = "auto_renew_upcoming", _("Auto-renew charge coming")
        SUPPORT_RECEIVED = "support_received", _("Support request received")
        GOODWILL = "goodwill", _("Goodwill from support")
        SUPPORT_REPLIED = "support_replied", _("Support replied")
        # Security notices (accounts.security_notices).
        PASSWORD_RESET = "password_reset", _("Password reset")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        TWO_FACTOR_ON = "two_factor_on", _("Two-step log-in turned on")
        TWO_FACTOR_OFF = "two_factor_off", _("Two-step log-in turned off")
        EMAIL_CHANGED = "email_changed", _("Email changed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("customer")
    )
    # The line it is about, if any, by value: lines belong to the plans app, above this one. The
    # number is kept for display; ``line_ref`` is the line's id, for code that must find it. A
    # notice outlives its line: deleting a line leaves its notices, with the number they named.
    line_number = models.CharField(_("line"), max_length=32, blank=True)
    line_ref = models.PositiveBigIntegerField(_("line id"), null=True, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    key = models.CharField(_("once-only key"), max_length=120, unique=True)
    params = models.JSONField(_("details"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("made at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_notice_user_recent")]

    def __str__(self) -> str:
        return self.key


class StaffAlert(models.Model):
    """Something staff must look at (a disputed payment), emailed to ``SUPPORT_EMAIL`` through the
    outbox. ``key`` makes it once-only, like a notice's; ``link`` is a path in the admin."""

    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Payment disputed")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    key = models.CharField(_("once-only key"), max_length=120, unique=True)
    params = models.JSONField(_("details"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("made at"), default=timezone.now)

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")

    def __str__(self) -> str:
        return self.key


class EmailDelivery(models.Model):
    """The email for a notice, a support request or message, or a staff alert, written in the same
    transaction (the outbox); a task sends it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("No longer needed")

    notice = models.OneToOneField(
        Notice, null=True, blank=True, on_delete=models.CASCADE, related_name="email", verbose_name=_("notice")
    )
    support_request = models.OneToOneField(
        "SupportRequest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email",
        verbose_name=_("support request"),
    )
    staff_alert = models.OneToOneField(
        StaffAlert,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email",
        verbose_name=_("staff alert"),
    )
    # A message in a support thread: staff's reply, to the customer; the customer's, to support.
    support_message = models.OneToOneField(
        "SupportMessage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email",
        verbose_name=_("support message"),
    )
    # The link that confirms a new address (``to``) for this customer (accounts.email_change);
    # the link itself is made when the email is sent, never stored.
    email_verification_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("confirms the address of"),
    )
    to = models.EmailField(_("to"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("tries"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("made at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next try at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Set when a sender takes the email (accounts.outbox.email_send): until then no one else
    # sends it; after it, the sender is taken to have died and the email is due again.
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="accounts_email_pending_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.to} {self.status}"


class SupportRequest(models.Model):
    """A message to support, forwarded by email through the outbox: from a customer logged in,
    or from someone logged out who left an email to reply to or proved a number by SMS code.

    It heads a thread (``messages``: replies both ways and staff's internal notes) that staff
    work through in the admin's queue: new, waiting on the customer, solved; the customer's
    reply makes it new again. ``last_message_at`` is when the thread last moved (the customer
    wrote, or staff replied), so the queue puts who has waited longest first.
    """

    class Topic(models.TextChoices):
        RENEWING = "renewing", _("Renewing or changing my plan")
        PAYING = "paying", _("Paying or a refund")
        ESIM = "esim", _("Installing the eSIM")
        DATA = "data", _("Data, calls or texts")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        WAITING = "waiting", _("Waiting on customer")
        SOLVED = "solved", _("Solved")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="support_requests",
        verbose_name=_("customer"),
    )
    # Who to answer when no one was logged in: an email, or a number proven by an SMS code.
    contact_email = models.EmailField(_("email"), blank=True)
    contact_phone = PhoneNumberField(_("mobile number"), blank=True)
    # The line the customer named, by value (lines belong to the plans app, above this one): its
    # number for staff to read, and its id. Deleting the line leaves the request as it was.
    line_number = models.CharField(_("line"), max_length=32, blank=True)
    line_ref = models.PositiveBigIntegerField(_("line id"), null=True, blank=True, db_index=True)
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    message = models.TextField(_("message"), max_length=4000)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_assigned",
        limit_choices_to={"is_staff": True},
    )
    # The language the request was written in: replies to a logged-out writer are emailed in it
    # (a customer's own language setting wins).
    language = models.CharField(_("language"), max_length=16, blank=True)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)
    # The form's own token: the same form posted again (a retry after an error) finds the request
    # it already made instead of making, and emailing, a second one.
    token = models.UUIDField(_("form token"), null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(contact_email="") | ~models.Q(contact_phone=""),
                name="accounts_supportrequest_has_someone_to_answer",
            )
        ]
        indexes = [models.Index(fields=["status", "last_message_at"], name="accounts_support_queue")]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_topic_display()}"

    @property
    def reference(self) -> str:
        return f"S{self.pk:06d}"

    @property
    def customer_status(self) -> str:
        """The status in the customer's words (staff's "waiting on customer" is "answered")."""
        return str(_CUSTOMER_STATUS[self.status]) if self.status in _CUSTOMER_STATUS else self.get_status_display()

    @property
    def reachable(self) -> bool:
        """Whether a reply can reach the writer: a customer's account, or an email to write to.
        Someone logged out who left only a mobile number must be called or texted."""
        return self.user_id is not None or bool(self.contact_email)


_CUSTOMER_STATUS: dict[str, object] = {
    SupportRequest.Status.NEW: _("Waiting for an answer"),
    SupportRequest.Status.WAITING: _("Answered"),
    SupportRequest.Status.SOLVED: _("Closed"),
}


class SupportMessage(models.Model):
    """One message in a support request's thread after the first (which is the request's own):
    the customer's reply, staff's reply (emailed to the customer, and a notice in the site), or
    an internal note that only staff ever see.

    ``token`` is the form's own: the same form posted twice writes (and sends) one message.
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer's reply")
        REPLY = "reply", _("Reply from support")
        NOTE = "note", _("Internal note")

    request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, related_name="messages", verbose_name=_("support request")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Staff for a reply or a note (kept as a name if the staff member is deleted), the customer
    # for theirs (None when the customer wrote logged out: no such reply is taken).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    author_name = models.CharField(_("author's name"), max_length=150, blank=True)
    body = models.TextField(_("message"), max_length=4000)
    token = models.UUIDField(_("form token"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("support message")
        verbose_name_plural = _("support messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["token", "kind"], name="accounts_supportmessage_once_per_token"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["customer", "reply", "note"]), name="accounts_supportmessage_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference} {self.kind}"

    @property
    def from_staff(self) -> bool:
        return self.kind != self.Kind.CUSTOMER
