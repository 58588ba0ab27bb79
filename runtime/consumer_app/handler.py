"""Lambda entry point: the self-check, and nothing else.

Events:
  {} or {"action": "self-check"}     prove access to the datasets given to this consumer; the pipeline's test step

Whoever may invoke the function (the pipeline's proof role, so whoever can change the pipeline) acts with the
consumer's access through it: it takes no key, item or dataset from the event, so an invocation can only run the
self-check, which reads the canaries and writes and deletes only under the self-check's own prefix. Your own code uses
SharedData (consumer_app.shared_data) with its own role and entry point.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from consumer_app import self_check
from consumer_app.settings import Settings
from consumer_app.shared_data import SharedData


@cache
def shared_data() -> SharedData:
    # Built once per execution environment: clients and the assumed role's credentials are reused
    # across invocations and refreshed only when they near expiry.
    return SharedData(Settings.from_environment())


def handler(event: dict[str, Any] | None, context: Any = None) -> dict[str, Any]:
    event = event or {}
    action = event.get("action", "self-check")
    if action != "self-check" or set(event) - {"action"}:
        raise ValueError(f"the function runs the self-check only (got {sorted(event)} with action {action!r})")
    return self_check.run(shared_data())
