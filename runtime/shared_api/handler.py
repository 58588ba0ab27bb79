"""The function behind a shared API (one per API dataset, in the source account): API Gateway calls it for the
requests it has already authorized (IAM authorization and the API's resource policy), one item of the API's table
per request.

    GET    /items/{id}   the item, or 404
    PUT    /items/{id}   stores the request's JSON body as the item's value (at most 16 KB)
    DELETE /items/{id}   removes the item

The caller's ARN, as API Gateway authenticated it, is kept with what it writes. Nothing here decides who may call:
that is the API's (cdk_constructs/shared_api.py)."""

from __future__ import annotations

import json
import os
import re
import time
from functools import cache
from typing import Any

import boto3

ITEM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,256}$")
MAX_BODY_BYTES = 16 * 1024


@cache
def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _answer(status: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body) if body is not None else "",
    }


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    method = event.get("httpMethod", "")
    item_id = (event.get("pathParameters") or {}).get("id") or ""
    if not ITEM_ID.fullmatch(item_id) or item_id in {".", ".."}:
        return _answer(400, {"message": "the item id is 1-256 of A-Z a-z 0-9 _ . : -, not . or .."})
    caller = ((event.get("requestContext") or {}).get("identity") or {}).get("userArn") or "unknown"
    if method == "GET":
        found = _table().get_item(Key={"id": item_id}).get("Item")
        if found is None:
            return _answer(404, {"message": f"no item {item_id}"})
        return _answer(200, {"id": item_id, "value": json.loads(found["value"]), "written_by": found["written_by"]})
    if method == "PUT":
        body = event.get("body") or ""
        if len(body.encode()) > MAX_BODY_BYTES:
            return _answer(413, {"message": f"the body is over {MAX_BODY_BYTES} bytes"})
        try:
            value = json.loads(body)
        except ValueError:
            return _answer(400, {"message": "the body is not JSON"})
        item = {"id": item_id, "value": json.dumps(value), "written_by": caller, "written_at": int(time.time())}
        _table().put_item(Item=item)
        return _answer(200, {"id": item_id, "written_by": caller})
    if method == "DELETE":
        _table().delete_item(Key={"id": item_id})
        return _answer(204)
    return _answer(405, {"message": f"{method} is not a method of this API"})
