"""Staff look up orders, payments and Stripe's events here, and refund orders. Nothing else is
edited by hand: every change to an order goes through ``billing.services``. The front page's
payment panels and the orders' CSV export live here too."""

from billing.admin import dashboard, export, orders, records

__all__ = ["dashboard", "export", "orders", "records"]
