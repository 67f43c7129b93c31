"""The bench's gunicorn entry: the site as ``boomcard.wsgi`` serves it; under ``/bare/`` the same
URLs behind no middleware at all, in the same processes (``/bare/ping`` is the floor the
middleware figure compares ``/ping`` with: bench/middleware.py); and under ``/changed/`` the same
pages, each request preceded by a change to the data of the customer the ``X-Bench-Changed``
header names (``pages_changed``, as a usage batch calls it), and under ``/noticed/`` preceded by a
notice to them (``customers_changed``, as a payment's notice calls it: their account too), so
that wrk measures every view as the first after a change (bench/pages.py). Used only by the
bench: never deployed, it trusts that header."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

site = get_wsgi_application()

from bench.middleware import BARE_PREFIX, CHANGED_PREFIX, NOTICED_PREFIX, StackHandler  # noqa: E402 (after Django is set up)
from boomcard.page_cache import customers_changed, pages_changed  # noqa: E402
from boomcard.startup import startup_objects_freeze  # noqa: E402

bare = StackHandler([])


def application(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ.get("PATH_INFO", "")
    if path.startswith(BARE_PREFIX + "/"):
        return bare({**environ, "PATH_INFO": path[len(BARE_PREFIX) :]}, start_response)
    if path.startswith(CHANGED_PREFIX + "/"):
        pages_changed([int(environ["HTTP_X_BENCH_CHANGED"])])
        return site({**environ, "PATH_INFO": path[len(CHANGED_PREFIX) :]}, start_response)
    if path.startswith(NOTICED_PREFIX + "/"):
        customers_changed([int(environ["HTTP_X_BENCH_CHANGED"])])
        return site({**environ, "PATH_INFO": path[len(NOTICED_PREFIX) :]}, start_response)
    return site(environ, start_response)


startup_objects_freeze()  # as boomcard.wsgi does
