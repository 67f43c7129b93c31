import threading
import time

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from boomcard.celery import app as celery_app

# The load balancer asks every few seconds, from several places: each answer is reused for this
# long, so that a burst of probes opens one broker connection, not one each.
HEALTH_CHECK_SECONDS = 5.0

_checked: tuple[float, dict[str, bool]] | None = None
_checking = threading.Lock()


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
        return True
    except Exception:
        return False


def health_checks() -> dict[str, bool]:
    """Whether the database and the broker answer, asked at most once per
    ``HEALTH_CHECK_SECONDS`` in this process (a failure too, so that it is reported at once and
    its recovery within the window)."""
    global _checked
    with _checking:  # one thread checks; the others wait for its answer rather than check too
        now = time.monotonic()
        if _checked is None or now - _checked[0] >= HEALTH_CHECK_SECONDS:
            _checked = (now, {"database": _database_ok(), "broker": _broker_ok()})
        return _checked[1]


def health_checks_forget() -> None:
    """Ask again on the next call (tests, and after a change of settings)."""
    global _checked
    with _checking:
        _checked = None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the Celery broker both answer, else 503 naming the one down; the
    answer may be up to ``HEALTH_CHECK_SECONDS`` old."""
    checks = health_checks()
    body = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    healthy = all(checks.values())
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """``GET /ping``: a constant "ok" that touches neither the database nor the broker. The
    floor of the middleware stack: the benchmark's reference view (bench/run.py), and a cheap
    liveness probe."""
    return HttpResponse(b"ok", content_type="text/plain")
