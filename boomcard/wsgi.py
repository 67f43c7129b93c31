import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

application = get_wsgi_application()

from boomcard.startup import startup_objects_freeze  # noqa: E402 (after Django is set up)

startup_objects_freeze()
