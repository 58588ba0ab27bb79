"""Lambda entry point.

Events:
  {"action": "self-check"}                                     (default) prove access; the pipeline's test step
  {"action": "read-object", "dataset": "...", "key": "..."}    read an object of a dataset given to this consumer
  {"action": "get-item", "dataset": "...", "key": {...}}       read an item of a dataset's table (DynamoDB JSON)
  {"action": "put-item", "dataset": "...", "item": {...}}      write an item (datasets given read-write only)
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
    if action not in {"read-object", "get-item", "put-item"}:
        raise ValueError(f"unknown action {action!r}")
    dataset = data.dataset(event["dataset"])
    if action == "read-object":
        body = dataset.read_object(event["key"])
        return {"key": event["key"], "size": len(body), "body": body.decode("utf-8", errors="replace")}
    if action == "get-item":
        return {"item": dataset.get_item(event["key"])}
    dataset.put_item(event["item"])
    return {"written": True}
