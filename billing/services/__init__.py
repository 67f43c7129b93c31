"""Every write on orders, payments and refunds, split by subject: ``opening`` (an order and
its items, priced), ``orders`` (its intent, ready for the card, fulfil, cancel), ``items`` (grant
and withdraw an order's buckets), ``suggestions`` (buying a recommendation), ``customers`` (the
Stripe customer and the card kept for auto-renew), ``wallets`` (Alipay, WeChat Pay), ``refunds``,
``disputes``, ``webhooks`` (Stripe's events: stored on arrival, processed by a task) and
``auto_renew``. Each function says what it guarantees.

How they stay safe under mixed traffic (pages, webhooks, refunds, sweeps, all at once):

- **Lock only the rows a service changes**, with ``select_for_update(of=("self",), no_key=True)``:
  never the rows an order joins (the plan row is shared by every customer), and FOR NO KEY UPDATE,
  so inserting a row that points at a locked one (an order for a line, a bucket for an order) is
  not blocked by it.
- **One lock order**: Order, then Refund, then Line, then the line's buckets (``plans.services``),
  then the customer's PaymentProfile (a card kept as an order is paid); notices and emails are
  only inserted. An AutoRenewal (one expiry's renewal) comes before the PaymentProfile and is
  never taken while an Order, Refund or Line lock is held: the charge locks the renewal, then
  the profile (the monthly limit), and only inserts its order. A dispute locks its own row and
  nothing else. The usage feed locks lines then buckets, in line order, and never an order; so
  no two services wait on each other in a cycle.
- **No lock is held across a call to Stripe** (nor to a mail server: the outbox sends after
  commit). A service reads, calls Stripe, then locks and applies Stripe's answer, and applying is
  idempotent: a state only moves forward, a paid order's item makes its one bucket (one-to-one in
  the database), and whichever caller comes second finds the work done.
- **Every call that makes something at Stripe carries an idempotency key** derived from the app's
  own row (the order, the refund), so a call that timed out is asked again and returns what Stripe
  made, never a second one.
"""

from billing.services.auto_renew import (
    AUTO_RENEW_WINDOW,
    auto_renew_card_remove,
    auto_renew_charge,
    auto_renew_order_pay,
    auto_renew_set,
)
from billing.services.auto_renew_control import (
    auto_renew_notice_send,
    auto_renew_plan_choose,
    auto_renew_skip,
    spending_cap_set,
)
from billing.services.customers import payment_profile_get
from billing.services.disputes import dispute_record
from billing.services.opening import order_open, order_start
from billing.services.orders import (
    order_cancel,
    order_card_prepare,
    order_fulfil,
    order_intent_apply,
    order_intent_ensure,
    order_locked,
)
from billing.services.refunds import (
    RefundOutcome,
    order_refund,
    order_refund_ask,
    order_refund_check,
    refund_settle,
    refunds_record,
)
from billing.services.suggestions import suggestion_order_start, suggestion_price
from billing.services.wallets import WALLETS, order_pay_with_wallet
from billing.services.webhooks import HANDLED_EVENTS, EventReceived, stripe_event_process, stripe_event_receive

__all__ = [
    "AUTO_RENEW_WINDOW",
    "HANDLED_EVENTS",
    "WALLETS",
    "EventReceived",
    "RefundOutcome",
    "auto_renew_card_remove",
    "auto_renew_charge",
    "auto_renew_notice_send",
    "auto_renew_order_pay",
    "auto_renew_plan_choose",
    "auto_renew_set",
    "auto_renew_skip",
    "dispute_record",
    "order_cancel",
    "order_card_prepare",
    "order_fulfil",
    "order_intent_apply",
    "order_intent_ensure",
    "order_locked",
    "order_open",
    "order_pay_with_wallet",
    "order_refund",
    "order_refund_ask",
    "order_refund_check",
    "order_start",
    "payment_profile_get",
    "refund_settle",
    "refunds_record",
    "spending_cap_set",
    "stripe_event_process",
    "stripe_event_receive",
    "suggestion_order_start",
    "suggestion_price",
]
