"""*.localhost is this machine (RFC 6761), whatever its resolver knows: the emulator's endpoint is
http://localhost:PORT, and a request that names an S3 access point by its ARN goes to NAME-ACCOUNT.localhost:PORT.

With REHEARSAL_AT (an instant, 2027-04-01T00:00:00Z), the runtime's self-check judges the grants' ends at that
instant instead of now, as the emulator's enforcement decides every request at it: the rehearsal of a grant that
has ended (tools/rehearsal/runner.py).

The rehearsal imports this module; its local stand-ins of the consumers' containers load it as sitecustomize (this
folder is on their PYTHONPATH). Never part of what the stacks deploy."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import socket
import sys
from datetime import datetime
from types import ModuleType
from typing import Any

_original = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "localhost"
    return _original(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo


class _Clock(importlib.abc.MetaPathFinder):
    """Sets consumer_app.settings.now to the rehearsal's instant once that module is loaded."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "consumer_app.settings":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader, at = spec.loader, self.at

        class _Loader(importlib.abc.Loader):
            def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                module.now = lambda: at  # type: ignore[attr-defined]

        spec.loader = _Loader()
        return spec


if os.environ.get("REHEARSAL_AT"):
    sys.meta_path.insert(0, _Clock(datetime.fromisoformat(os.environ["REHEARSAL_AT"].replace("Z", "+00:00"))))
