"""An access cell: one IAM request, the policies that decide it, and what the configuration expects of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from config.actions import aws_time

Expected = Literal["allow", "deny"]
Document = dict[str, Any]
ContextValue = str | list[str] | None

# Consumer accounts control their own identity policies: a probe that asks what the source account's policies
# alone allow gives the principal this identity policy, so only the source account's policies decide it.
ALLOW_ALL: Document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Request:
    """What is asked, of which resource policy, with which request context beyond the principal's own."""

    path: str  # bucket, objects, key, source role, table, bootstrap
    action: str
    resource: str
    resource_policy: Document | None
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Cell:
    environment: str  # or "bootstrap"
    who: str
    principal: str
    principal_account: str
    request: Request
    resource_account: str
    expected: Expected
    identity_policies: tuple[Document, ...]
    organization: str | None = None  # the principal's organization, where grants name one
    boundary: Document | None = None  # the principal's permissions boundary, where it has one
    dataset: str | None = None  # the dataset the request is about, for the cells of shared data
    at: datetime | None = None  # when the request is made (aws:CurrentTime); None: now
    org_paths: tuple[str, ...] = ()  # the principal's aws:PrincipalOrgPaths, where grants name organizational units

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def action(self) -> str:
        return self.request.action

    @property
    def resource(self) -> str:
        return self.request.resource

    @property
    def name(self) -> str:
        return f"{self.environment} | {self.who} | {self.action} | {self.resource}"

    def context(self) -> dict[str, ContextValue]:
        return request_context(self.principal, self.principal_account, self.resource_account, self.organization,
                               self.request.context, at=self.at, org_paths=self.org_paths)  # fmt: skip

    def simulation(self) -> dict[str, Any]:
        """The request as @cloud-copilot/iam-simulate takes it."""
        return simulation(
            self.principal,
            self.action,
            self.resource,
            self.resource_account,
            self.context(),
            self.identity_policies,
            resource_policy=self.request.resource_policy,
            boundary=self.boundary,
        )


def request_context(
    principal: str,
    principal_account: str,
    resource_account: str,
    organization: str | None,
    context: Mapping[str, ContextValue],
    *,
    at: datetime | None = None,
    org_paths: Sequence[str] = (),
) -> dict[str, ContextValue]:
    """The context keys of a request: the principal's and the resource's, which AWS sets and the engine takes only from
    the request, then the request's own (None: not set). at: when it is made (aws:CurrentTime, set in every request
    AWS authorizes; the grants that end by themselves compare it); None: now. org_paths: the principal's account's path
    in its organization (aws:PrincipalOrgPaths, which AWS sets for every principal of an organization's account)."""
    variables: dict[str, ContextValue] = {
        "aws:CurrentTime": aws_time(at or datetime.now(UTC)),
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": principal_account,
        # AWS sets it from the resource; the engine takes it only from the request.
        "aws:ResourceAccount": resource_account,
        "aws:SecureTransport": "true",
    }
    if organization:
        variables["aws:PrincipalOrgID"] = organization
    if org_paths:  # the path of the principal's account from the organization's root (o-.../r-.../ou-.../)
        variables["aws:PrincipalOrgPaths"] = list(org_paths)
    variables.update({k: v for k, v in context.items() if v is not None})
    return variables


def simulation(
    principal: str,
    action: str,
    resource: str,
    resource_account: str,
    context: Mapping[str, ContextValue],
    identity_policies: Sequence[Document],
    *,
    resource_policy: Document | None = None,
    boundary: Document | None = None,
) -> dict[str, Any]:
    """An IAM request as @cloud-copilot/iam-simulate takes it (no SCPs or RCPs)."""
    found: dict[str, Any] = {
        "request": {
            "principal": principal,
            "action": action,
            "resource": {"resource": resource, "accountId": resource_account},
            "contextVariables": dict(context),
        },
        "identityPolicies": [{"name": f"identity-{i}", "policy": p} for i, p in enumerate(identity_policies)],
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
    }
    if resource_policy:
        found["resourcePolicy"] = resource_policy
    if boundary:
        found["permissionBoundaryPolicies"] = [{"name": "boundary", "policy": boundary}]
    return found
