"""Refunds racing the fulfilments in the bank test, some twice at once."""

from __future__ import annotations

import threading

from django.core.exceptions import ValidationError
from django.db import connection

from billing import services as billing_services
from billing.models import Order
from tests.reliability.bank.record import Record


def _refund(order_pk: int, record: Record) -> None:
    """Staff refund the order in full (what the admin action calls), from a thread of its own."""
    from billing import gateway

    try:
        answer = billing_services.order_refund(order=Order.objects.get(pk=order_pk))
        record.count(f"refund call -> {getattr(answer, 'status', '?')}")
    except ValidationError:
        record.count("refund call refused (not refundable now)")
    except gateway.GatewayError as error:
        # The service promises to record the refund and answer, never to raise, when Stripe is
        # slow or down: the money may have moved already.
        record.problem(f"order_refund(order {order_pk}) raised {type(error).__name__}: {error.message}")
    except Exception as error:
        record.problem(f"order_refund(order {order_pk}) raised {error!r}")
    finally:
        connection.close()


def refund_some(count: int, record: Record) -> list[threading.Thread]:
    """Refund ``count`` fulfilled orders now (ones the refunder leaves alone), each from a thread."""
    chosen = [
        pk
        for pk in Order.objects.filter(status=Order.Status.FULFILLED).values_list("pk", flat=True).order_by("pk")
        if pk % 3 == 1
    ][:count]
    record.count("orders refunded by staff", len(chosen))
    calls = [threading.Thread(target=_refund, args=(pk, record), daemon=True) for pk in chosen]
    for call in calls:
        call.start()
    return calls


def keep_refunding(stop: threading.Event, record: Record, calls: list[threading.Thread]) -> None:
    """Refund about a third of the orders the moment they are fulfilled, half of those from two
    threads at once."""
    seen: set[int] = set()
    try:
        while not stop.wait(0.1):
            fresh = (
                Order.objects.filter(status=Order.Status.FULFILLED).exclude(pk__in=seen).values_list("pk", flat=True)
            )
            for pk in fresh:
                seen.add(pk)
                if pk % 3:
                    continue
                record.count("orders refunded by staff")
                for _ in range(2 if pk % 2 == 0 else 1):
                    call = threading.Thread(target=_refund, args=(pk, record), daemon=True)
                    call.start()
                    calls.append(call)
    except Exception as error:
        record.problem(f"the refunder stopped: {error!r}")
    finally:
        connection.close()
