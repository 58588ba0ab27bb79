"""Who a grant admits: the roles of the consumers given a dataset at that access (the demo workloads' and the
roles each of them lists as its own), and nobody else.

The sharing stage deploys before the consumer roles exist, and AWS rejects a policy that names a role ARN
that does not exist yet. So a grant names the consumer *accounts* as principals and admits only the
consumer *roles* with an `aws:PrincipalArn` condition: never a whole account. With an organization id the
grant names the organization instead; then a dataset every consumer of the environment gets admits the demo
workloads' roles by name in the consumers' accounts of the organization (`aws:PrincipalAccount`: 15 characters a
consumer, where each role by ARN would be about 120), and a dataset only some consumers get names each of their
roles with its account. Either way a consumer removed from the config is no longer admitted after the next deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_cdk import aws_iam as iam

from config import actions
from config.actions import until_condition, until_sid
from config.model import Consumer, ConsumerGroup
from config.naming import Names


@dataclass(frozen=True)
class Grantees:
    principals: tuple[iam.IPrincipal, ...]
    conditions: dict[str, dict[str, Any]]
    # When their grant ends by itself: every statement that admits them carries aws:CurrentTime before it, and a sid
    # that says so (statements of one level that end at different times are apart).
    ends: datetime | None = None
    # Appended to each statement's sid: a consumer group's statements are apart from the listed consumers' ones.
    tag: str = ""

    @classmethod
    def consumer_roles(
        cls,
        names: Names,
        consumers: Sequence[Consumer],
        *,
        organization_id: str | None,
        whole_environment: bool,
        ends: datetime | None = None,
    ) -> Grantees:
        # A consumer's own roles are named exactly, with their account: a name alone could be any account's role.
        own = [arn for consumer in consumers for arn in names.own_role_arns(consumer)]
        if organization_id and not whole_environment:
            # The organization admits every account of it: the roles must say which accounts.
            demo = [names.role_arn(c.account, role) for c in consumers for role in names.consumer_role_names]
        else:
            # The demo roles have the same names in every consumer account: the principals (or, for a grant to the
            # whole environment, the organization) say which accounts, the pattern which roles in them.
            demo = names.consumer_role_arn_patterns()
        only_consumer_roles: dict[str, dict[str, Any]] = {"ArnLike": {"aws:PrincipalArn": [*demo, *own]}}
        only_consumer_roles |= until_condition(ends)
        if organization_id:
            if whole_environment:
                # The pattern names the roles in any account: the accounts are pinned too, so that a consumer
                # removed from the config loses the grant at the next deploy, though its stack (and its roles) stay
                # (CDK Pipelines never deletes a removed stage's stacks).
                accounts = sorted({consumer.account for consumer in consumers})
                only_consumer_roles["StringEquals"] = {"aws:PrincipalAccount": accounts}
            principals = (iam.OrganizationPrincipal(organization_id),)
            return cls(principals=principals, conditions=only_consumer_roles, ends=ends)
        return cls(
            principals=tuple(iam.AccountPrincipal(consumer.account) for consumer in consumers),
            conditions=only_consumer_roles,
            ends=ends,
        )

    @classmethod
    def group(
        cls,
        names: Names,
        group: ConsumerGroup,
        *,
        organization_id: str,
        ends: datetime | None = None,
        roles: Sequence[str] | None = None,
    ) -> Grantees:
        """Every account of a group's organizational units (and the units under them), now or to come: the
        organization as principal, narrowed to the units' paths (aws:PrincipalOrgPaths) and to the roles of the group's
        names in them (the demo workloads' and its own, or roles where given). One statement whatever the units
        hold."""
        patterns = list(roles) if roles is not None else [
            *names.consumer_role_arn_patterns(),
            *(names.role_arn("*", role) for role in group.roles),
        ]  # fmt: skip
        conditions: dict[str, dict[str, Any]] = {
            "ArnLike": {"aws:PrincipalArn": patterns},
            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": group.org_paths(organization_id)},
        }
        return cls(
            principals=(iam.OrganizationPrincipal(organization_id),),
            conditions=conditions | until_condition(ends),
            ends=ends,
            tag=actions.sid("group", group.name),
        )

    @classmethod
    def one_consumer(cls, names: Names, consumer: Consumer, *, ends: datetime | None = None) -> Grantees:
        """The roles of one consumer, by exact ARN: whom that consumer's source role trusts (until ends, where every
        grant it reaches through that role ends)."""
        roles = names.consumer_role_arns(consumer)
        return cls(
            principals=(iam.AccountPrincipal(consumer.account),),
            conditions={"ArnEquals": {"aws:PrincipalArn": roles}} | until_condition(ends),
            ends=ends,
        )

    def statement(
        self,
        *,
        sid: str,
        actions: Sequence[str],
        resources: Sequence[str],
        extra_conditions: dict[str, Any] | None = None,
    ) -> iam.PolicyStatement:
        conditions: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.conditions.items()}
        for operator, values in (extra_conditions or {}).items():
            conditions.setdefault(operator, {}).update(values)
        return iam.PolicyStatement(
            sid=sid + self.tag + until_sid(self.ends),
            principals=list(self.principals),
            actions=list(actions),
            resources=list(resources),
            conditions=conditions,
        )

    def trust(self) -> iam.IPrincipal:
        """The same admission as an AssumeRole trust policy."""
        # A CompositePrincipal cannot hold a principal with conditions of its own (the organization's).
        principal = self.principals[0] if len(self.principals) == 1 else iam.CompositePrincipal(*self.principals)
        return iam.PrincipalWithConditions(principal, self.conditions)
