"""The bank test's parts (tests/reliability/test_bank.py), and its sizes and settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager

from tests.celery_worker import Worker

CUSTOMERS = int(os.environ.get("BANK_CUSTOMERS", "10"))
ROUNDS = int(os.environ.get("BANK_ROUNDS", "2"))
THREADS = int(os.environ.get("BANK_THREADS", "16"))
TEST_TIMEOUT = int(os.environ.get("BANK_TIMEOUT", "110"))
SUMMARY_FILE = os.environ.get("BANK_SUMMARY", "")

PLANS = ("basic-10", "basic-30")
CARD_OK, CARD_DECLINED = "4242424242424242", "4000000000000341"
STRIPE_TIMEOUT = 2.0  # the app's read timeout towards Stripe in this test
HOLD = 3.0  # how long a slow Stripe keeps its answer: longer than the app waits
REPLAYERS = 6
PAY_TRIES = 6
WEBHOOK_NAME = "boom"  # the name tests/reliability/conftest.py's localstripe registers
NOWHERE = "http://127.0.0.1:9/"
# The whole run's share of TEST_TIMEOUT the traffic may take before the test gives up on it.
TRAFFIC_SHARE = 0.55

StartWorker = Callable[..., AbstractContextManager[Worker]]
