"""The rehearsal's API Gateway: shared APIs deployed by moto's CloudFormation and called over HTTP as in AWS.

moto's CloudFormation creates a RestApi, its resources, methods and deployments, but drops the API's resource policy
and has no AWS::ApiGateway::Stage; and moto's server does not serve execute-api requests (its Lambda would run the
function in Docker). So here:

- a RestApi keeps its Policy, and a Stage is created (with the deployment it names);
- a request to ID.execute-api.* (the consumer's runtime sends it to ID.execute-api.localhost:PORT, which
  tools/rehearsal/hosts resolves to this machine) is served as API Gateway serves it: the stage, the resource and the
  method are found; with IAM authorization the caller is the assumed role of the request's SigV4 signature, and,
  with the rehearsal's enforcement, execute-api:Invoke is decided by the API's resource policy (its short form
  expanded, as API Gateway stores it) and the caller's identity policies and boundary; then the function of the
  method's Lambda proxy integration runs in a local Python process, with its code as Lambda holds it, its
  environment and its role's credentials, and its answer is the response.

Not emulated: throttling (no 429 here), access logs, API Gateway's own invoke of the function (its permission is the
function's resource policy, which the rehearsal does not decide: the caller is a service, not a role), a web ACL
(its association is not deployed: the config's web ACL is not in the emulated accounts)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from access_report.policies import expand_api_policy
from config.regions import partition_of
from tools.rehearsal import enforcement, hosts

# A request to an API: its id, then execute-api (ID.execute-api.REGION.amazonaws.com in AWS, ID.execute-api.localhost
# here).
API_HOST = re.compile(r"^(?P<id>[a-z0-9]+)\.execute-api\.")
LAMBDA_URI = re.compile(r"functions/(?P<function>arn:[^/]+)/invocations$")
_HANDLER = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
print(json.dumps(getattr(importlib.import_module(module), name)(json.loads(sys.stdin.read()), None), default=str))
"""
_FUNCTION_SECONDS = 30
_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Error"}


def mend() -> None:
    _keep_rest_api_policies()
    _add_stages()
    _serve_execute_api()


def _keep_rest_api_policies() -> None:
    from moto.apigateway.models import RestAPI

    original = RestAPI.create_from_cloudformation_json
    if getattr(original, "mended", False):
        return

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
               **kwargs: Any) -> Any:  # fmt: skip
        api = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[attr-defined]
        policy = cloudformation_json["Properties"].get("Policy")
        api.policy = json.dumps(policy) if policy else None
        return api

    create.mended = True  # type: ignore[attr-defined]
    RestAPI.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def _add_stages() -> None:
    from moto.apigateway.models import apigateway_backends
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    if "AWS::ApiGateway::Stage" in parsing.get_model_map():
        return

    class Stage(CloudFormationModel):
        def __init__(self, api_id: str, name: str) -> None:
            self.api_id, self.name = api_id, name

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::ApiGateway::Stage"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):  # type: ignore[no-untyped-def]
            properties = cloudformation_json["Properties"]
            api, name = properties["RestApiId"], properties["StageName"]
            backend = apigateway_backends[account_id][region_name]
            stage = backend.create_stage(
                api, name, properties["DeploymentId"], description=properties.get("Description", "")
            )
            stage.method_settings = {
                f"{setting.get('ResourcePath', '/*').lstrip('/')}/{setting.get('HttpMethod', '*')}": setting
                for setting in properties.get("MethodSettings", [])
            }
            stage.access_log_settings = properties.get("AccessLogSetting")
            return cls(api, name)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[no-untyped-def]
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        ):
            properties = cloudformation_json["Properties"]
            backend = apigateway_backends[account_id][region_name]
            stage = backend.get_rest_api(properties["RestApiId"]).stages[properties["StageName"]]
            stage.deployment_id = properties["DeploymentId"]  # a new deployment of the API: what the stage serves
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):  # type: ignore[no-untyped-def]
            properties = cloudformation_json["Properties"]
            apigateway_backends[account_id][region_name].get_rest_api(properties["RestApiId"]).stages.pop(
                properties["StageName"], None
            )

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _serve_execute_api() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__
    if getattr(original, "mended", False):
        return

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        found = API_HOST.match(environ.get("HTTP_HOST", ""))
        if found is None:
            return original(self, environ, start_response)
        status, headers, body = serve(found["id"], environ)
        start_response(f"{status} {_REASONS.get(status, 'Status')}", list(headers.items()))
        return [body.encode()]

    call.mended = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]


def _find(api_id: str) -> tuple[str, str, Any] | None:
    from moto.apigateway.models import apigateway_backends

    for account in list(apigateway_backends.keys()):
        for region in list(apigateway_backends[account].keys()):
            api = apigateway_backends[account][region].apis.get(api_id)
            if api is not None:
                return account, region, api
    return None


def _route(api: Any, path: str, method: str) -> tuple[Any, str, dict[str, str]] | None:
    """The method of the API's resource whose path template matches: the method, the template and its parameters."""
    segments = path.strip("/").split("/")
    for resource in api.resources.values():
        template = resource.get_path()
        parts = template.strip("/").split("/")
        if len(parts) != len(segments):
            continue
        parameters = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                parameters[part[1:-1]] = segment
            elif part != segment:
                break
        else:
            found = resource.resource_methods.get(method) or resource.resource_methods.get("ANY")
            return (found, template, parameters) if found is not None else None
    return None


def _json(status: int, body: dict[str, str]) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def serve(api_id: str, environ: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """API Gateway's answer to one request: (status, headers, body)."""
    where = _find(api_id)
    method = environ["REQUEST_METHOD"]
    stage, _, path = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    # API Gateway's answer to a stage, resource or method it does not have, or an unsigned request.
    missing = _json(403, {"message": "Missing Authentication Token"})
    if where is None:
        return missing
    account, region, api = where
    routed = _route(api, f"/{path}", method) if stage in api.stages else None
    if routed is None:
        return missing
    found, template, parameters = routed
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    caller = None
    if found.authorization_type == "AWS_IAM":
        enforcer = enforcement.active()
        caller = enforcer.caller(headers) if enforcer else enforcement.signed_by(headers)
        if caller is None:
            return missing
        arn = f"arn:{partition_of(region)}:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}"
        if enforcer is not None and not enforcer.exempt(caller):
            policy = expand_api_policy(json.loads(api.policy), arn) if api.policy else None
            refusal = enforcer.decide(caller, [enforcement.Asked("execute-api:Invoke", arn, account, policy)])
            if refusal is not None:
                # API Gateway's words: the caller, the action, the resource (which AWS masks in part).
                explicit = " with an explicit deny" if refusal.result == "ExplicitlyDenied" else ""
                message = f"User: {refusal.caller} is not authorized to perform: execute-api:Invoke on resource: {arn}"
                return _json(403, {"Message": message + explicit})
    integration = found.method_integration
    function = LAMBDA_URI.search(str(getattr(integration, "uri", "") or ""))
    if integration is None or function is None:
        return _json(500, {"message": "Internal server error: the emulator serves Lambda proxy integrations only"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode() if length else None
    event = {
        "resource": template,
        "path": f"/{path}",
        "httpMethod": method,
        "headers": headers,
        "pathParameters": parameters or None,
        "body": body,
        "requestContext": {
            "apiId": api_id,
            "accountId": account,
            "stage": stage,
            "httpMethod": method,
            "resourcePath": template,
            # AWS also gives caller and user (the role's unique id and the session): not emulated.
            "identity": {
                "userArn": caller.session_arn if caller else None,
                "accountId": caller.account if caller else None,
            },
        },
    }
    return _invoke(function["function"], region, event)


def _invoke(function_arn: str, region: str, event: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """The function's handler, as Lambda would run it for API Gateway: its code as Lambda holds it, its environment, its
    role's credentials; its proxy answer (statusCode, headers, body) as the response."""
    from moto.awslambda.models import lambda_backends

    account = function_arn.split(":")[4]
    function = lambda_backends[account][region].get_function(function_arn)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **(function.environment_vars or {}),
        **issue(function.role, region, function.function_name),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "PYTHONPATH": os.pathsep.join((str(_code(function.code_bytes)), str(Path(hosts.__file__).parent))),
    }
    result = subprocess.run(
        [sys.executable, "-c", _HANDLER, str(function.handler)],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
        timeout=_FUNCTION_SECONDS,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return _json(502, {"message": f"Internal server error (the function failed: {last})"})
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    return int(answer.get("statusCode", 200)), headers, str(answer.get("body") or "")


def issue(role_arn: str, region: str, session_name: str) -> dict[str, str]:
    """Credentials of a role, as AWS variables: what Lambda gives a function, ECS a container (task role) or its agent
    (execution role)."""
    sts = boto3.client("sts", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
        "AWS_SESSION_TOKEN": issued["SessionToken"],
    }


@cache
def _code_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="rehearsal-functions-"))


def _code(code: bytes) -> Path:
    """The function's code as Lambda holds it (the zip its deployment gave), unpacked once."""
    where = _code_dir() / hashlib.sha256(code).hexdigest()[:16]
    if not where.exists():
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(where)
    return where
