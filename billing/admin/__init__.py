"""Staff look up orders, payments and Stripe's events here, and refund orders. Nothing else is
edited by hand: every change to an order goes through ``billing.services``. ``customer`` adds the
customer's orders and saved card to their page (accounts.admin.UserAdmin); the front page's
payment panels and the orders' CSV export live here too."""

from billing.admin import customer, dashboard, export, orders, records

__all__ = ["customer", "dashboard", "export", "orders", "records"]
