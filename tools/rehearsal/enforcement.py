"""The rehearsal's IAM enforcement: every request an emulated principal signs is decided, before moto serves it, by
the policies as the emulator holds them (the caller's identity policies and permissions boundary, the resource's
policy, the cross-account rule), with the offline engine of the access report (@cloud-copilot/iam-simulate, one
long-lived process, its decisions cached). A refusal answers with the service's own error (code, status).

Which requests are decided (iam_requests.py maps them to IAM requests): S3 (list, get, head, put, delete; through an
access point, its policy and the bucket's; KMS as S3 uses it; S3 Control's GetAccessPoint), DynamoDB items and tables
(by name or ARN; KMS as DynamoDB uses it), KMS, STS AssumeRole (the role's trust), ECS RunTask (with iam:PassRole),
DescribeTasks and StopTask, CloudWatch Logs, Athena (with its catalog and S3 reads as the caller), and Lambda invokes
(asked by the local invoker). Anything else passes undecided and is
counted by service. The operator's identities (the rehearsal's administrator, the CDK's bootstrap roles, the
emulator's own service calls) are exempt and counted apart."""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from access_report.cells import ALLOW_ALL, ContextValue, Document, request_context, simulation
from access_report.engine import Evaluator

# Roles that stand for the people and services that operate the accounts, not for the project's principals.
OPERATOR_ROLES = re.compile(r"^(rehearsal-administrator|rehearsal-custom-resource|cdk-[a-z0-9]+-[a-z-]+-\d{12}-.+)$")
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
_PRESIGNED = re.compile(r"X-Amz-Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
_PRESIGNED_V2 = re.compile(r"AWSAccessKeyId=([A-Z0-9]+)")


@dataclass(frozen=True)
class Caller:
    """The principal an access key stands for: an assumed role's session."""

    role_arn: str
    session: str

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def session_arn(self) -> str:
        partition = self.role_arn.split(":")[1]
        return f"arn:{partition}:sts::{self.account}:assumed-role/{self.role_name}/{self.session}"


@dataclass(frozen=True)
class Asked:
    """One IAM request a service request makes: its action and resource, the resource's account and policy, and the
    request's context keys beyond the caller's own."""

    action: str
    resource: str
    account: str
    policy: Document | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # False where only the resource's policy decides: the bucket's delegation to the access point a request came by.
    identity: bool = True
    # KMS: what the key's grants give the caller (a grant allows by itself, whatever the policies say).
    granted: bool = False
    # Where the engine cannot decide the request: the check that decides it instead.
    check: Callable[[], bool] | None = field(default=None, compare=False)
    # What the engine was not asked to decide of the request, and how it was decided instead (counted, said).
    undecided: str = ""


@dataclass(frozen=True)
class Refusal:
    caller: str  # the session's ARN, as AWS names it in the error
    action: str
    resource: str
    result: str  # ExplicitlyDenied | ImplicitlyDenied | error: ...
    simulation: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # what the engine decided

    def message(self) -> str:
        why = {
            "ExplicitlyDenied": "with an explicit deny in a policy",
            "ImplicitlyDenied": "because no policy allows it",
        }.get(self.result, f"(the engine could not decide: {self.result})")
        return f"User: {self.caller} is not authorized to perform: {self.action} on resource: {self.resource} {why}"


# What IAM decides of a request moto is about to serve: (response, resource, caller, region) -> the IAM requests, or
# None for an operation not decided.
Mapper = Callable[[Any, str, Caller, str], "list[Asked] | None"]


class Enforcer:
    """Decides the emulated principals' requests and keeps the counts the rehearsal's summary prints."""

    def __init__(self, decided: Mapping[str, Mapper], organizations: Mapping[str, str] | None = None) -> None:
        """decided: for each service it decides (its signing name), what IAM decides of a request of it
        (tools/rehearsal/iam_requests.py); organizations: each account's organization id, for aws:PrincipalOrgID."""
        self.decided = dict(decided)
        self.engine = Evaluator()
        self.organizations = dict(organizations or {})  # account -> its organization's id, where the config has one
        # account -> its path in the emulated organization (aws:PrincipalOrgPaths), where the config has groups
        self.org_paths: dict[str, str] = {}
        self.evaluated = 0  # requests decided (each may be several IAM requests: an access point and its bucket)
        self.refusals: list[Refusal] = []
        self.undecided: Counter[str] = Counter()  # service -> requests passed without a decision
        self.operator = 0  # requests of the operator's identities, exempt
        self.seconds = 0.0  # spent deciding (mapping, policies, the engine)
        # conditions the engine cannot decide -> IAM requests decided otherwise
        self.conditions: Counter[str] = Counter()
        self._callers: dict[str, Caller | None] = {}
        self._lock = threading.Lock()
        # The instant every request is decided at (aws:CurrentTime): the rehearsal's start, fixed so that decisions
        # stay cached; moved past a grant's end to rehearse its expiry (runner.py).
        self.at = datetime.now(UTC).replace(microsecond=0)

    def close(self) -> None:
        self.engine.close()

    # who asks

    def caller(self, headers: Mapping[str, str], query: str = "") -> Caller | None:
        """The assumed role the access key of a request's signature (its Authorization header, or a presigned URL's
        X-Amz-Credential) belongs to; None for any other key (the operator's long-term keys, the emulator's own calls)
        and for an unsigned request."""
        query = urllib.parse.unquote(query)
        found = (
            _CREDENTIAL.search(headers.get("Authorization", "") or "")
            or _PRESIGNED.search(query)
            or _PRESIGNED_V2.search(query)
        )
        if not found:
            return None
        key = found.group(1)
        with self._lock:
            if key not in self._callers:
                self._callers[key] = _assumed_role(key)
            return self._callers[key]

    def exempt(self, caller: Caller | None) -> bool:
        return caller is None or bool(OPERATOR_ROLES.match(caller.role_name))

    # what it may do

    def decide(self, caller: Caller, asked: list[Asked]) -> Refusal | None:
        """The first of the IAM requests the policies refuse, or None; counted."""
        with self._lock:
            self.evaluated += 1
        for request in asked:
            simulation = self.simulation(caller, request)
            ignored: tuple[str, ...] = ()
            if request.check is not None:
                result = "Allowed" if request.check() else "ImplicitlyDenied"
            else:
                result, ignored = self.engine.decide_with_ignored(simulation)
                # A grant allows what no policy allows, never what one denies (KMS: "explicitly and never denied").
                if request.granted and result == "ImplicitlyDenied":
                    result = "Allowed"
            with self._lock:
                if request.undecided:
                    self.conditions[request.undecided] += 1
                for key in sorted(set(ignored) & set(request.context)):
                    self.conditions[f"{key} of {request.action} ignored by the engine (not in its IAM data)"] += 1
                for key in sorted(_absent_condition_keys(simulation, request.action)):
                    self.conditions[f"{key} in a policy of {request.action}, absent from the request"] += 1
            if result != "Allowed":
                refusal = Refusal(caller.session_arn, request.action, request.resource, result, simulation)
                with self._lock:
                    self.refusals.append(refusal)
                return refusal
        return None

    def authorize(self, response: Any, resource: str) -> None:
        """Decides a request moto is about to serve (moto's own authorization hook calls it); raises the service's
        access denied error on a refusal."""
        query = urllib.parse.urlparse(str(getattr(response, "uri", "") or "")).query
        caller = self.caller(response.headers, query)
        if caller is None or self.exempt(caller):
            with self._lock:
                self.operator += 1
            return
        scope = _CREDENTIAL.search(response.headers.get("Authorization", "")) or _PRESIGNED.search(
            urllib.parse.unquote(query)
        )
        # A presigned URL of the older form (AWSAccessKeyId=, S3's) names no region: the one S3 serves it in.
        region, service = (
            (scope.group(2), scope.group(3)) if scope else (getattr(response, "region", "us-east-1"), "s3")
        )
        mapped = self.decided.get(service)
        asked = mapped(response, resource, caller, region) if mapped else None
        if asked is None:
            with self._lock:
                self.undecided[service] += 1
            return
        started = time.perf_counter()
        refusal = self.decide(caller, asked)
        with self._lock:
            self.seconds += time.perf_counter() - started
        if refusal is not None:
            control = service == "s3" and "/v20180820/" in str(getattr(response, "uri", ""))
            raise access_denied("s3control" if control else service, refusal)

    def simulation(self, caller: Caller, asked: Asked) -> dict[str, Any]:
        """The IAM request as the engine takes it (the access report's form, access_report/cells.py)."""
        own: dict[str, ContextValue] = {}
        if asked.action.startswith("s3:"):
            # S3 sets the TLS version of every request; the runtime's clients (boto3) negotiate 1.2 at least.
            own["s3:TlsVersion"] = "1.2"
        organization = self.organizations.get(caller.account)
        path = self.org_paths.get(caller.account)
        context = request_context(
            caller.role_arn,
            caller.account,
            asked.account,
            organization,
            {**own, **asked.context},
            at=self.at,
            org_paths=[path] if path else (),
        )
        return simulation(
            caller.role_arn,
            asked.action,
            asked.resource,
            asked.account,
            context,
            _identity_policies(caller) if asked.identity else [ALLOW_ALL],
            resource_policy=asked.policy,
            boundary=_boundary(caller) if asked.identity else None,
        )

    def summary(self) -> list[str]:
        """The rehearsal's lines on what was decided."""
        undecided = sum(self.undecided.values())
        by_service = ", ".join(f"{service} {count}" for service, count in sorted(self.undecided.items()))
        lines = [
            f"{self.evaluated} requests of the project's principals evaluated ({self.engine.asked} distinct IAM "
            f"decisions), {len(self.refusals)} refused; {undecided} not evaluated"
            + (f": {by_service}" if by_service else ""),
            *(f"{count} IAM requests: {why}" for why, count in sorted(self.conditions.items())),
            f"{self.operator} requests of the operator's identities (bootstrap, deploy, emulated services), exempt",
        ]
        return lines


# Keys the engine or AWS sets for every request (the engine fills in what is not given), never absent.
_ALWAYS = {"aws:currenttime", "aws:epochtime", "aws:principaltype", "aws:userid", "aws:username", "aws:requestedregion"}


def _absent_condition_keys(simulation: dict[str, Any], action: str) -> set[str]:
    """The condition keys of the statements that concern the action (in any policy of the simulation) that the
    request does not carry: the engine decides each such condition as AWS would for a missing key, which is right
    only where AWS would not set it either (kms:EncryptionContext:*, aws:SourceVpce, aws:CalledVia, for example)."""
    request = simulation["request"]
    given = {key.lower() for key in request["contextVariables"]}
    documents = [
        p["policy"] for group in ("identityPolicies", "permissionBoundaryPolicies") for p in simulation.get(group, [])
    ]
    documents += [simulation["resourcePolicy"]] if simulation.get("resourcePolicy") else []
    absent = set()
    for document in documents:
        for statement in document.get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
                continue
            for keys in (statement.get("Condition") or {}).values():
                for key in keys:
                    lowered = key.lower()
                    if lowered not in given and lowered not in _ALWAYS and not lowered.startswith("aws:principaltag/"):
                        absent.add(key)
    return absent


def access_denied(service: str, refusal: Refusal) -> Exception:
    """The service's own error for a refusal: S3's AccessDenied (403, XML), STS's AccessDenied (403, query XML), the
    JSON services' AccessDeniedException (400; Lambda's 403)."""
    from moto.core.exceptions import JsonRESTError, _RESTError
    from moto.s3.exceptions import S3ClientError

    if service == "s3":
        error: Exception = S3ClientError("AccessDenied", refusal.message())
        error.code = "AccessDenied"  # type: ignore[attr-defined]
        return error
    if service == "s3control":  # REST-XML, S3's shape: <Error><Code>
        from xmltodict import unparse  # type: ignore[import-untyped]

        control = _RESTError("AccessDenied", refusal.message())
        control.code = 403
        control.description = unparse({"Error": {"Code": "AccessDenied", "Message": refusal.message()}})
        return control
    if service in ("sts", "iam"):
        denied = _RESTError("AccessDenied", refusal.message())
        denied.code = 403
        return denied
    json_error = JsonRESTError("AccessDeniedException", refusal.message())
    json_error.code = 403 if service == "lambda" else 400
    return json_error


_active: Enforcer | None = None


def active() -> Enforcer | None:
    """The enforcer deciding the emulator's requests, if any (the API Gateway it serves decides its calls with it)."""
    return _active


def signed_by(headers: Mapping[str, str]) -> Caller | None:
    """The assumed role whose access key signed a request (its Authorization header), without an enforcer."""
    found = _CREDENTIAL.search(headers.get("Authorization", "") or "")
    return _assumed_role(found.group(1)) if found else None


def activate(enforcer: Enforcer | None) -> None:
    """Decide every request the emulator serves with this enforcer from now on (None: stop)."""
    global _active
    _active = enforcer
    _install()


def _install() -> None:
    """Routes moto's own authorization hook (every service's request passes it) to the active enforcer; moto's own
    (off unless asked) where none is active."""
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action
    if getattr(original, "enforced", False):
        return

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if _active is None:
            original(self, iam_request_cls, resource)
            return
        _active.authorize(self, resource)

    authorize.enforced = True  # type: ignore[attr-defined]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]


def _assumed_role(access_key: str) -> Caller | None:
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        for partition in list(sts_backends[account].keys()):
            for assumed in sts_backends[account][partition].assumed_roles:
                if assumed.access_key_id == access_key:
                    return Caller(assumed.role_arn, assumed.session_name)
    return None


def _role(arn: str) -> Any:
    from moto.iam.models import iam_backends

    account, partition, name = arn.split(":")[4], arn.split(":")[1], arn.rsplit("/", 1)[-1]
    try:
        return iam_backends[account][partition].get_role(name)
    except Exception:  # moto's NotFound: a role that does not exist has no policies
        return None


def _identity_policies(caller: Caller) -> list[Document]:
    """The role's inline and attached policies as the emulator holds them."""
    role = _role(caller.role_arn)
    if role is None:
        return []
    documents = [_document(text) for text in role.policies.values()]
    documents += [document for policy in role.managed_policies.values() if (document := _managed(policy))]
    return documents


def _boundary(caller: Caller) -> Document | None:
    role = _role(caller.role_arn)
    arn = getattr(role, "permissions_boundary_arn", None)
    if not arn:
        return None
    from moto.iam.models import iam_backends

    policy = iam_backends[arn.split(":")[4]][arn.split(":")[1]].managed_policies.get(arn)
    return _managed(policy) if policy is not None else {"Version": "2012-10-17", "Statement": []}


def _managed(policy: Any) -> Document | None:
    """A managed policy's default version; an AWS managed policy from moto's copy of them."""
    versions = getattr(policy, "versions", None)
    if versions:
        return _document(next(v.document for v in versions if v.is_default))
    found = _aws_managed().get(getattr(policy, "name", ""))
    return found["Document"] if found else None


@functools.cache
def _aws_managed() -> dict[str, Any]:
    """moto's copy of the AWS managed policies, by name (parsed once: it is large)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return dict(json.loads(aws_managed_policies_data))


def _document(text: Any) -> Document:
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, str):
        from urllib.parse import unquote

        text = json.loads(text if text.lstrip().startswith("{") else unquote(text))
    return dict(text)
