"""The usage API's tests: its key configured, and each batch's task kept when its transaction
commits, to be run by hand (``network.apply_queued``), as the usage worker would."""

import pytest

from plans import tasks
from tests.plans.usage_api.network import KEY


@pytest.fixture(autouse=True)
def usage_api_keys(settings):
    settings.USAGE_API_KEYS = [KEY]


@pytest.fixture(autouse=True)
def queued(monkeypatch) -> list[int]:
    """The batches whose task was queued after their commit (run them with ``apply_queued``)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.usage_batch_apply_task, "apply_async", lambda args, **options: ids.extend(args))
    return ids
