"""Small helpers the conftests and tests share (ports and services on this machine, the templates
a request drew)."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from django.test.signals import template_rendered


def reachable(url: str, default_port: int) -> bool:
    """Whether something answers a TCP connection at the URL's host and port."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def capture_templates() -> Iterator[list[str]]:
    """The names of the templates rendered meanwhile."""
    names: list[str] = []

    def rendered(sender, template, **kwargs) -> None:
        names.append(template.name)

    template_rendered.connect(rendered)
    try:
        yield names
    finally:
        template_rendered.disconnect(rendered)
