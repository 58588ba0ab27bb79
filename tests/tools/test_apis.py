"""The rehearsal's API Gateway without a rehearsal: how a request finds its method, and what API Gateway answers to a
request it cannot route or that is not signed (the end-to-end calls and their decisions: test_broken_grants.py)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest

from tools.rehearsal import apis


def _resource(path: str, *methods: str, authorization: str = "AWS_IAM") -> Any:
    found = {m: SimpleNamespace(authorization_type=authorization, method_integration=None) for m in methods}
    return SimpleNamespace(get_path=lambda: path, resource_methods=found)


API = SimpleNamespace(
    stages={"live": object()},
    policy=None,
    resources={"r": _resource("/"), "i": _resource("/items"), "x": _resource("/items/{id}", "GET", "PUT")},
)


def test_a_request_finds_the_method_of_the_resource_whose_template_matches_with_its_parameters():
    method, template, parameters = apis._route(API, "/items/order-1", "PUT")  # type: ignore[misc]
    assert (template, parameters) == ("/items/{id}", {"id": "order-1"})
    assert method is API.resources["x"].resource_methods["PUT"]
    assert apis._route(API, "/items/order-1", "DELETE") is None  # no such method
    assert apis._route(API, "/items/a/b", "GET") is None  # no such resource
    assert apis._route(API, "/items", "GET") is None  # the resource, without the method


def _environ(path: str, method: str = "GET", authorization: str = "") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": "a0b1c2d3e4.execute-api.localhost:5000",
        **({"HTTP_AUTHORIZATION": authorization} if authorization else {}),
        "wsgi.input": io.BytesIO(b""),
    }


@pytest.mark.parametrize(
    "environ",
    [
        _environ("/other/items/a"),  # a stage the API does not have
        _environ("/live/things/a"),  # a resource it does not have
        _environ("/live/items/a", "DELETE"),  # a method it does not have
        _environ("/live/items/a"),  # no signature: no caller for IAM authorization
    ],
)
def test_what_api_gateway_cannot_route_or_authenticate_is_403_missing_authentication_token(monkeypatch, environ):
    monkeypatch.setattr(apis, "_find", lambda api_id: ("222222222222", "eu-west-1", API))
    status, _headers, body = apis.serve("a0b1c2d3e4", environ)
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_an_api_the_emulator_does_not_have_is_403_too(monkeypatch):
    monkeypatch.setattr(apis, "_find", lambda api_id: None)
    assert apis.serve("nothere", _environ("/live/items/a"))[0] == 403


def test_the_api_host_names_the_api_in_aws_and_here():
    assert apis.API_HOST.match("a0b1c2d3e4.execute-api.eu-west-1.amazonaws.com")["id"] == "a0b1c2d3e4"
    assert apis.API_HOST.match("a0b1c2d3e4.execute-api.localhost:5000")["id"] == "a0b1c2d3e4"
    assert apis.API_HOST.match("s3.localhost:5000") is None
