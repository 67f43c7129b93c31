"""The usage service's tests, run both ways where they ask (``both_ways``)."""

import pytest

from plans.usage import sql


@pytest.fixture(params=["postgresql", "orm"])
def both_ways(request, monkeypatch):
    """Runs the test with PostgreSQL's bulk statements and with the ORM's (SQLite's way, for the demo)."""
    if request.param == "orm":
        monkeypatch.setattr(sql, "_fast_sql", lambda: False)
