"""Staff look up orders, payments and Stripe's events here, and refund orders. Nothing else is
edited by hand: every change to an order goes through ``billing.services``."""

from billing.admin import orders, records

__all__ = ["orders", "records"]
