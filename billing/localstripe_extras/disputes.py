"""Disputes in test mode: Stripe's card 4000000000000259 is paid, then disputed as fraudulent
(docs.stripe.com/testing#disputes). The charge becomes ``disputed``, a dispute
``{id, object: "dispute", charge, payment_intent, amount, currency, reason, status:
"needs_response", ...}`` is made and ``charge.dispute.created`` sent; ``GET /v1/disputes/<id>``
reads it. Wallet payments are never disputed (neither Alipay nor WeChat Pay has disputes)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.webhooks import schedule_webhook

DISPUTED_CARDS = {"4000000000000259": "fraudulent", "4000000000002685": "product_not_received"}
EVIDENCE_DAYS = 7 * 24 * 60 * 60  # how long Stripe's test disputes leave to respond, about


class Dispute(resources.StripeObject):
    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, charge: Any, reason: str) -> None:
        super().__init__()
        self.amount = charge.amount
        self.balance_transactions: list[Any] = []
        self.charge = charge.id
        self.currency = charge.currency
        self.evidence: dict[str, Any] = {}
        self.evidence_details = {
            "due_by": self.created + EVIDENCE_DAYS,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        }
        self.is_charge_refundable = False
        self.metadata: dict[str, str] = {}
        self.payment_intent = charge.payment_intent
        self.reason = reason
        self.status = "needs_response"


def install(app: web.Application) -> None:
    on_success = resources.PaymentIntent._on_success  # as ``intents`` left it

    def _on_success(self: Any) -> None:
        on_success(self)
        charge = self.latest_charge
        method = resources.store.get(f"payment_method:{charge.payment_method}") if charge is not None else None
        reason = DISPUTED_CARDS.get(getattr(method, "_card_number", ""))
        if reason is not None:
            charge.disputed = True
            schedule_webhook(resources.Event("charge.dispute.created", Dispute(charge, reason)))

    resources.PaymentIntent._on_success = _on_success
    resources.Charge.disputed = False
    app.router.add_get("/v1/disputes/{id}", server.api_retrieve(Dispute, "/v1/disputes/{id}"))
