"""An access cell: one IAM request, the policies that decide it, and what the configuration expects of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
        variables: dict[str, ContextValue] = {
            "aws:PrincipalArn": self.principal,
            "aws:PrincipalAccount": self.principal_account,
            # AWS sets it from the resource; the engine takes it only from the request.
            "aws:ResourceAccount": self.resource_account,
            "aws:SecureTransport": "true",
        }
        if self.organization:
            variables["aws:PrincipalOrgID"] = self.organization
        variables.update({k: v for k, v in self.request.context.items() if v is not None})
        return variables

    def simulation(self) -> dict[str, Any]:
        """The request as @cloud-copilot/iam-simulate takes it."""
        simulation: dict[str, Any] = {
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": self.resource_account},
                "contextVariables": self.context(),
            },
            "identityPolicies": [{"name": f"identity-{i}", "policy": p} for i, p in enumerate(self.identity_policies)],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if self.request.resource_policy:
            simulation["resourcePolicy"] = self.request.resource_policy
        if self.boundary:
            simulation["permissionBoundaryPolicies"] = [{"name": "boundary", "policy": self.boundary}]
        return simulation
