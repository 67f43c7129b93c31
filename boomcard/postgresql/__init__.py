"""Django's PostgreSQL backend, whose health check asks the server nothing where the connection's
socket says it is alive (``base.DatabaseWrapper.is_usable``). ``ENGINE = "boomcard.postgresql"``,
set by the settings for a ``postgres://`` ``DATABASE_URL``."""
