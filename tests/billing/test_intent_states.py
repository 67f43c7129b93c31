"""The questions services ask of a Stripe intent's state, answered by billing.gateway's Intent."""

import pytest

from billing.gateway import Intent


def intent(status: str, failure_message: str = "") -> Intent:
    return Intent(
        id="pi_1", status=status, amount_minor=100, currency="CNY", client_secret="s", failure_message=failure_message
    )


@pytest.mark.parametrize(
    ("status", "failure", "expected"),
    [
        ("requires_payment_method", "", {"payable", "awaiting_payment_method"}),
        ("requires_payment_method", "Declined", {"payable", "awaiting_payment_method", "failed_try"}),
        ("requires_confirmation", "", {"payable"}),
        ("requires_action", "", {"payable", "needs_action"}),
        ("processing", "", set()),
        ("succeeded", "", {"succeeded"}),
        ("canceled", "", {"canceled"}),
    ],
)
def test_each_status_answers_its_own_questions(status, failure, expected):
    questions = ["succeeded", "canceled", "needs_action", "awaiting_payment_method", "failed_try", "payable"]
    answers = {question for question in questions if getattr(intent(status, failure), question)}
    assert answers == expected
