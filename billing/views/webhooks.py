"""Stripe's webhook endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import gateway, services


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified by signature (400 if not), stored by id, acted on once."""
    try:
        event = gateway.webhook_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except gateway.WebhookSignatureInvalid:
        return JsonResponse({"error": "invalid signature"}, status=400)
    try:
        outcome = services.stripe_event_handle(event=event)
    except gateway.GatewayUnavailable:
        # Not stored: Stripe redelivers, and reconciliation catches up in any case.
        return JsonResponse({"error": "payment service unavailable"}, status=503)
    return JsonResponse({"received": True, "outcome": outcome})
