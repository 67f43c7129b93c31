"""The bench's gunicorn entry: the site as ``boomcard.wsgi`` serves it, and under ``/bare/``
the same URLs behind no middleware at all, in the same processes (``/bare/ping`` is the floor
the middleware figure compares ``/ping`` with: bench/middleware.py). Used only by the bench."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

site = get_wsgi_application()

from bench.middleware import BARE_PREFIX, StackHandler  # noqa: E402 (after Django is set up)

bare = StackHandler([])


def application(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ.get("PATH_INFO", "")
    if path.startswith(BARE_PREFIX + "/"):
        return bare({**environ, "PATH_INFO": path[len(BARE_PREFIX) :]}, start_response)
    return site(environ, start_response)
