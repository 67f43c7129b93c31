"""Where the settings come from: the project's folders, the environment (django-environ, and in
development a ``.env`` file), and the profile ``DJANGO_ENV`` picks. Both parts of
``boomcard.settings`` read these."""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# The profile comes from the process's own environment, never from a file.
DJANGO_ENV = os.environ.get("DJANGO_ENV") or "development"
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"
TESTING = DJANGO_ENV == "test"

if DJANGO_ENV == "development":
    # A developer's conveniences; a server or the tests get their settings from the environment
    # alone, so a stray file cannot point them at another database.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def env_required(name: str) -> str:
    """A variable production cannot start without: refused, naming it, when unset or empty."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable: {DJANGO_ENV} needs it")
    return value


DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")
