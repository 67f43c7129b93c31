"""Stripe's webhook endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import gateway, services


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified by signature (400 if not), stored by id and answered at once;
    a task on the ``billing`` queue acts on each stored event once (see
    ``billing.services.stripe_event_receive``). A repeat of a stored event is answered 200 too,
    saying so, and acted on no more."""
    try:
        event = gateway.webhook_event(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except gateway.WebhookSignatureInvalid:
        return JsonResponse({"error": "invalid signature"}, status=400)
    received = services.stripe_event_receive(event=event)
    if received.duplicate:
        return JsonResponse({"received": True, "duplicate": True})
    return JsonResponse({"received": True})
