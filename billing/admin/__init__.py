"""Staff look up orders, payments and Stripe's events here, and refund orders. Nothing else is
edited by hand: every change to an order goes through ``billing.services``. ``customer`` adds the
customer's orders and saved card to their page (accounts.admin.UserAdmin)."""

from billing.admin import customer, orders, records

__all__ = ["customer", "orders", "records"]
