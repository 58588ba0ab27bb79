"""Calls to a shared API with the caller's own role credentials: each request signed with SigV4 by botocore (service
execute-api, the API's region), retried with backoff and jitter on throttling (429) and on API Gateway's and the
function's transient errors (500, 502, 503, 504), as the AWS SDKs retry their own calls.

A 403 is raised as a ClientError, as boto3 raises AWS's refusals: of code AccessDenied where API Gateway says IAM
refused the call ("... is not authorized to perform: execute-api:Invoke ..."), MissingAuthenticationToken where it
found no such stage, resource or method (or the request was not signed), and Forbidden otherwise (a web ACL, an
expired token): only the first proves a refusal of the grants. Any other answer is returned, its status with it.

Retries: 429 is refused before the function runs; a 5xx or a lost connection may come after the function wrote, and
the call is made again: a PUT writes the same value again and a DELETE deletes the same item, but with several
writers of one item the later may be undone (make the items yours, or the function conditional, where that
matters)."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from botocore.httpsession import URLLib3Session

RETRIED = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 5
BASE_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# Longer than the API's function may take (10 s) with API Gateway's own time and a cold start.
TIMEOUT_SECONDS = 15
IAM_REFUSAL = "is not authorized to perform"
NO_ROUTE = "Missing Authentication Token"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the JSON it answered, or its text


class ApiClient:
    """One API (its stage's URL), called as whoever `credentials` stands for (a botocore credentials provider, which
    refreshes an assumed role's credentials itself: boto3.Session().get_credentials())."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        region: str,
        send: Callable[[AWSRequest], Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = _reachable(url.rstrip("/"))
        self.host = urlsplit(url).netloc
        self.credentials = credentials
        self.region = region
        self._send = send or URLLib3Session(timeout=TIMEOUT_SECONDS).send
        self._sleep = sleep

    def item(self, item_id: str) -> Answer:
        return self.call("GET", f"/items/{item_id}")

    def put_item(self, item_id: str, value: Any) -> Answer:
        return self.call("PUT", f"/items/{item_id}", value)

    def delete_item(self, item_id: str) -> Answer:
        return self.call("DELETE", f"/items/{item_id}")

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(1, ATTEMPTS + 1):
            request = AWSRequest(method=method, url=f"{self.url}{path}", data=data, headers=self._headers(data))
            # Signed afresh each attempt: a signature holds its time, and the credentials may have been refreshed.
            SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
            try:
                response = self._send(request.prepare())
            except (ConnectionError, HTTPClientError):
                if attempt == ATTEMPTS:
                    raise
            else:
                status = int(response.status_code)
                if status not in RETRIED or attempt == ATTEMPTS:
                    break
            self._sleep(min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt) * random.uniform(0.5, 1))
        answer = Answer(status, _body(response.content))
        if status == 403:
            # API Gateway's own refusals say "Message" or "message".
            body = answer.body if isinstance(answer.body, dict) else {}
            message = str(body.get("Message") or body.get("message") or answer.body)
            code = (
                "AccessDenied"
                if IAM_REFUSAL in message
                else "MissingAuthenticationToken"
                if NO_ROUTE in message
                else "Forbidden"
            )
            raise ClientError(
                {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                f"{method} {path}",
            )
        return answer

    def _headers(self, data: bytes | None) -> dict[str, str]:
        # The API's own host is signed and sent, also where the request goes to an emulator's endpoint instead.
        headers = {"Host": self.host, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return headers


def _reachable(url: str) -> str:
    """Where to send the API's requests: its URL, or, where AWS_ENDPOINT_URL names an emulator (which boto3 sends
    every service's requests to as well), the API's host under that endpoint's (ID.execute-api.localhost:PORT)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return url
    parts, emulator = urlsplit(url), urlsplit(endpoint)
    api_id = parts.netloc.split(".", 1)[0]
    return f"{emulator.scheme}://{api_id}.execute-api.{emulator.netloc}{parts.path}"


def _body(content: bytes) -> Any:
    text = content.decode(errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
