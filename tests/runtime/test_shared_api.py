"""A shared API from both ends: the consumer's client (SigV4 signing, retries, refusals), its self-check against an
API that decides as API Gateway would, and the API's own function against moto's DynamoDB. No network: the client's
sender is replaced by a function that answers as the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from shared_api import handler as backend

from consumer_app import api_client
from consumer_app.api_client import ApiClient
from consumer_app.self_check import ABSENT_ITEM, run
from consumer_app.settings import Settings
from consumer_app.shared_data import SharedData

URL = "https://a0b1c2d3e4.execute-api.eu-west-1.amazonaws.com/live"
CREDENTIALS = Credentials("AKIAEXAMPLE", "secret", "session-token")


@dataclass
class Response:
    status_code: int
    content: bytes


class FakeApi:
    """Answers as the API: `allowed` methods reach an in-memory table; others get API Gateway's 403."""

    def __init__(self, allowed: set[str], statuses: list[int] | None = None) -> None:
        self.allowed = allowed
        self.statuses = list(statuses or [])  # answered first, one per request (throttling, errors)
        self.items: dict[str, Any] = {}
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Response:
        self.requests.append(request)
        if self.statuses:
            return Response(self.statuses.pop(0), b'{"message": "Too Many Requests"}')
        if request.method not in self.allowed:
            caller = "arn:aws:sts::555555555555:assumed-role/x/y"
            message = f"User: {caller} is not authorized to perform: execute-api:Invoke on resource: {request.method}"
            return Response(403, json.dumps({"message": message}).encode())
        item_id = request.url.rsplit("/", 1)[-1]
        if request.method == "PUT":
            self.items[item_id] = json.loads(request.body)
            return Response(200, b"{}")
        if request.method == "DELETE":
            self.items.pop(item_id, None)
            return Response(204, b"")
        if item_id in self.items:
            return Response(200, json.dumps({"id": item_id, "value": self.items[item_id]}).encode())
        return Response(404, b'{"message": "no item"}')


def _client(api: FakeApi, sleeps: list[float] | None = None) -> ApiClient:
    return ApiClient(
        URL, CREDENTIALS, region="eu-west-1", send=api, sleep=(sleeps if sleeps is not None else []).append
    )


def test_requests_are_signed_with_sigv4_for_execute_api_in_the_apis_region(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    api = FakeApi({"GET"})
    _client(api).item("x")
    (request,) = api.requests
    assert request.url == f"{URL}/items/x"
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert request.headers["X-Amz-Security-Token"] == "session-token"
    assert request.headers["Host"] == "a0b1c2d3e4.execute-api.eu-west-1.amazonaws.com"


def test_throttling_and_transient_errors_are_retried_with_backoff_then_answered():
    sleeps: list[float] = []
    api = FakeApi({"GET"}, statuses=[429, 503])
    assert _client(api, sleeps).item("x").status == 404
    assert len(api.requests) == 3 and len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1] <= api_client.MAX_DELAY_SECONDS


def test_retries_stop_after_the_last_attempt_and_say_the_status():
    api = FakeApi({"GET"}, statuses=[429] * 10)
    assert _client(api).item("x").status == 429
    assert len(api.requests) == api_client.ATTEMPTS


def test_a_refusal_is_a_client_error_access_denied_with_api_gateways_message():
    with pytest.raises(ClientError) as refused:
        _client(FakeApi({"GET"})).put_item("x", {"a": 1})
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "not authorized to perform: execute-api:Invoke" in refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"message": "Missing Authentication Token"}', "MissingAuthenticationToken"),  # no such stage or method
        (b'{"message": "Forbidden"}', "Forbidden"),  # a web ACL
        (b'{"message": "The security token included in the request is expired"}', "Forbidden"),
    ],
)
def test_a_403_that_is_not_iams_refusal_is_no_proof_of_one(monkeypatch, body, code):
    def send(request):
        return Response(403, body)

    with pytest.raises(ClientError) as refused:
        ApiClient(URL, CREDENTIALS, region="eu-west-1", send=send).item("x")
    assert refused.value.response["Error"]["Code"] == code
    # The self-check's refusal of an API not given fails on it, and says what it got.
    monkeypatch.setattr(
        SharedData, "api", lambda self, settings: ApiClient(URL, CREDENTIALS, region="eu-west-1", send=send)
    )
    environ = {"CONSUMER_NAME": "analytics", "SOURCE_REGION": "eu-west-1", "DATASETS": "[]",
               "REFUSED_DATASETS": json.dumps([{"n": "orders", "u": URL}])}  # fmt: skip
    session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1")
    result = run(SharedData(Settings.from_environment(environ), own_session=session), run_id="run1")
    (check,) = result["checks"]
    assert not check["ok"] and check["detail"].startswith(f"expected AccessDenied, got {code}")


def test_a_lost_connection_is_retried():
    from botocore.exceptions import ConnectionClosedError

    api, failures = FakeApi({"GET"}), [ConnectionClosedError(endpoint_url=URL)]

    def send(request):
        if failures:
            raise failures.pop()
        return api(request)

    assert ApiClient(URL, CREDENTIALS, region="eu-west-1", send=send, sleep=lambda s: None).item("x").status == 404


def test_with_an_emulators_endpoint_the_request_goes_there_under_the_apis_id(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:5000")
    api = FakeApi({"GET"})
    _client(api).item("x")
    assert api.requests[0].url == "http://a0b1c2d3e4.execute-api.localhost:5000/live/items/x"


def _self_check(monkeypatch, entry: dict[str, Any], api: FakeApi, refused: bool = False) -> dict[str, dict]:
    environ = {
        "CONSUMER_NAME": "analytics",
        "SOURCE_REGION": "eu-west-1",
        "DATASETS": json.dumps([] if refused else [entry]),
        "REFUSED_DATASETS": json.dumps([entry] if refused else []),
    }
    monkeypatch.setattr(SharedData, "api", lambda self, settings: _client(api))
    session = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-1")
    result = run(SharedData(Settings.from_environment(environ), own_session=session), run_id="run1")
    return {check["name"]: check for check in result["checks"]} | {"ok": result["ok"]}


def test_a_reader_calls_the_api_and_is_refused_its_writes(monkeypatch):
    checks = _self_check(monkeypatch, {"n": "orders", "a": "read", "u": URL}, FakeApi({"GET"}))
    assert checks["ok"]
    assert checks["call-api"]["ok"] and f"GET /items/{ABSENT_ITEM} answered 404" in checks["call-api"]["detail"]
    assert checks["refused write-api"]["ok"] and checks["refused write-api"]["detail"] == "refused: AccessDenied"


def test_a_reader_allowed_to_write_fails_its_self_check(monkeypatch):
    checks = _self_check(monkeypatch, {"n": "orders", "a": "read", "u": URL}, FakeApi({"GET", "PUT", "DELETE"}))
    assert not checks["ok"] and not checks["refused write-api"]["ok"]


def test_a_writer_puts_reads_back_and_deletes_an_item_of_its_own(monkeypatch):
    api = FakeApi({"GET", "PUT", "DELETE"})
    checks = _self_check(monkeypatch, {"n": "orders", "a": "read-write", "u": URL}, api)
    assert checks["ok"] and "wrote, read back and deleted item" in checks["write-api"]["detail"]
    assert [r.method for r in api.requests] == ["GET", "PUT", "GET", "DELETE"] and api.items == {}


def test_a_writer_refused_its_writes_fails(monkeypatch):
    checks = _self_check(monkeypatch, {"n": "orders", "a": "read-write", "u": URL}, FakeApi({"GET"}))
    assert not checks["ok"] and "AccessDenied" in checks["write-api"]["detail"]


def test_an_api_not_given_must_refuse_the_consumer(monkeypatch):
    refused = _self_check(monkeypatch, {"n": "orders", "u": URL}, FakeApi(set()), refused=True)
    assert refused["ok"] and refused["refused call-api as own role"]["ok"]
    answered = _self_check(monkeypatch, {"n": "orders", "u": URL}, FakeApi({"GET"}), refused=True)
    assert not answered["ok"]


class FakeTable:
    """The calls the function makes of its DynamoDB table (boto3's Table resource), in memory: moto's mock would reset
    the accounts other runtime tests of this worker hold open."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get_item(self, Key: dict[str, str]) -> dict[str, Any]:
        found = self.items.get(Key["id"])
        return {"Item": found} if found else {}

    def put_item(self, Item: dict[str, Any]) -> None:
        self.items[Item["id"]] = Item

    def delete_item(self, Key: dict[str, str]) -> None:
        self.items.pop(Key["id"], None)


@pytest.fixture
def table(monkeypatch):
    fake = FakeTable()
    monkeypatch.setattr(backend, "_table", lambda: fake)
    return fake


def _event(method: str, item_id: str, body: str | None = None) -> dict[str, Any]:
    caller = "arn:aws:sts::444444444444:assumed-role/apishare-prod-consumer-function/x"
    return {
        "httpMethod": method,
        "pathParameters": {"id": item_id},
        "body": body,
        "requestContext": {"identity": {"userArn": caller}},
    }


def test_the_apis_function_stores_reads_and_deletes_items_with_their_writer(table):
    assert backend.handler(_event("GET", "a"))["statusCode"] == 404
    assert backend.handler(_event("PUT", "a", json.dumps({"x": [1, 2]})))["statusCode"] == 200
    got = json.loads(backend.handler(_event("GET", "a"))["body"])
    assert got["value"] == {"x": [1, 2]} and got["written_by"].endswith("apishare-prod-consumer-function/x")
    assert backend.handler(_event("DELETE", "a"))["statusCode"] == 204
    assert backend.handler(_event("GET", "a"))["statusCode"] == 404


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (_event("GET", "a/b"), 400),
        (_event("GET", "x" * 257), 400),
        (_event("PUT", "a", "not json"), 400),
        (_event("PUT", "a", json.dumps("x" * backend.MAX_BODY_BYTES)), 413),
        (_event("PATCH", "a"), 405),
    ],
)
def test_the_apis_function_refuses_what_it_does_not_serve(table, event, status):
    assert backend.handler(event)["statusCode"] == status
