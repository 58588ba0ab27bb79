"""Lambda entry point.

Events:
  {"action": "self-check"}                       (default) prove access; used by the pipeline's test step
  {"action": "read-object", "key": "..."}        read an object of the shared bucket
  {"action": "get-item", "key": {...}}           read an item of the shared table (DynamoDB JSON)
  {"action": "put-item", "item": {...}}          write an item (read-write shares only)
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
    data = shared_data()
    if action == "self-check":
        return self_check.run(data)
    if action == "read-object":
        body = data.read_object(event["key"])
        return {"key": event["key"], "size": len(body), "body": body.decode("utf-8", errors="replace")}
    if action == "get-item":
        return {"item": data.get_item(event["key"])}
    if action == "put-item":
        data.put_item(event["item"])
        return {"written": True}
    raise ValueError(f"unknown action {action!r}")
