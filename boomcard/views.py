from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from boomcard.celery import app as celery_app


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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the Celery broker both answer, else 503 naming the one down."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
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
