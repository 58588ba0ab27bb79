"""*.localhost is this machine (RFC 6761), whatever its resolver knows: the emulator's endpoint is
http://localhost:PORT, and a request that names an S3 access point by its ARN goes to NAME-ACCOUNT.localhost:PORT.

The rehearsal imports this module; its local stand-ins of the consumers' containers load it as sitecustomize (this
folder is on their PYTHONPATH). Never part of what the stacks deploy."""

from __future__ import annotations

import socket
from typing import Any

_original = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "localhost"
    return _original(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
