"""``make bench``: throughput figures for Boom on the production stack (gunicorn, PostgreSQL,
Redis, localstripe), each quoted as a ratio against a reference measured in the same run.

Not part of ``make test`` or CI. Start at ``bench/run.py``.
"""
