"""Stripe's webhooks."""
