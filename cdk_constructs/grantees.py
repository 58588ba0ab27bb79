"""Who a resource policy admits: the consumer roles of one environment (the demo workloads' and the roles each
consumer lists as its own), and nobody else.

The sharing stage deploys before the consumer roles exist, and AWS rejects a policy that names a role ARN
that does not exist yet. So a grant names the consumer *accounts* as principals and admits only the
consumer *roles* with an `aws:PrincipalArn` condition: never a whole account. With an organization id the
grant names the organization instead, so its size does not grow with the number of consumers; without one it
grows by one account principal per consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_iam as iam

from config.model import Consumer
from config.naming import Names


@dataclass(frozen=True)
class Grantees:
    principals: tuple[iam.IPrincipal, ...]
    conditions: dict[str, dict[str, Any]]

    @classmethod
    def consumer_roles(cls, names: Names, consumers: Sequence[Consumer], *, organization_id: str | None) -> Grantees:
        # The consumer roles have the same names in every consumer account: the principals say which
        # accounts, the condition which roles in them. Together that is exactly the consumer roles, and the
        # condition does not grow with the number of consumers.
        # A consumer's own roles are named exactly, with their account: a name alone could be any account's role.
        own = [names.role_arn(consumer.account, role) for consumer in consumers for role in consumer.roles]
        only_consumer_roles = {"ArnLike": {"aws:PrincipalArn": [*names.consumer_role_arn_patterns(), *own]}}
        if organization_id:
            return cls(principals=(iam.OrganizationPrincipal(organization_id),), conditions=only_consumer_roles)
        return cls(
            principals=tuple(iam.AccountPrincipal(consumer.account) for consumer in consumers),
            conditions=only_consumer_roles,
        )

    def statement(
        self, *, sid: str, actions: Sequence[str], resources: Sequence[str], extra_conditions: dict | None = None
    ) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=sid,
            principals=list(self.principals),
            actions=list(actions),
            resources=list(resources),
            conditions={**self.conditions, **(extra_conditions or {})},
        )

    def trust(self) -> iam.IPrincipal:
        """The same admission as an AssumeRole trust policy."""
        # A CompositePrincipal cannot hold a principal with conditions of its own (the organization's).
        principal = self.principals[0] if len(self.principals) == 1 else iam.CompositePrincipal(*self.principals)
        return iam.PrincipalWithConditions(principal, self.conditions)
