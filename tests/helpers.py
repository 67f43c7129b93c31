"""Small helpers the conftests and tests share (ports and services on this machine)."""

import socket
from urllib.parse import urlparse


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
