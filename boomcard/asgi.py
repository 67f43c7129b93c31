import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

application = get_asgi_application()

from boomcard.startup import startup_objects_freeze  # noqa: E402 (after Django is set up)

startup_objects_freeze()
