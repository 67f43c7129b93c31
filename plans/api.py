from django.http import HttpRequest, HttpResponse


def usage_ingest(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError("the usage API is being written (plans/usage.py)")
