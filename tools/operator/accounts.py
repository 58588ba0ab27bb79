"""The accounts a config involves, and how to act in each of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import boto3

from config.model import Config
from pipeline_steps.prove_consumers import assumed_session, new_session
from tools.operator.failures import profile_of


@dataclass(frozen=True)
class OperatedAccount:
    account: str
    region: str
    roles: tuple[str, ...]  # what the account is for: "tooling", "source of dev", "consumer analytics of dev"

    @property
    def is_tooling(self) -> bool:
        return "tooling" in self.roles or "pipeline artifacts" in self.roles

    def label(self) -> str:
        return f"{self.account} {self.region} ({', '.join(self.roles)})"


def operated_accounts(config: Config) -> list[OperatedAccount]:
    """The tooling account first, then every source and consumer account and region, each once."""
    found: dict[tuple[str, str], list[str]] = {(config.tooling.account, config.tooling.region): ["tooling"]}
    for environment in config.environments:
        key = (environment.source.account, environment.source.region)
        found.setdefault(key, []).append(f"source of {environment.name}")
        for consumer in environment.consumers:
            key = (consumer.account, consumer.region)
            found.setdefault(key, []).append(f"consumer {consumer.name} of {environment.name}")
    # A pipeline that deploys to another region keeps a replica of its artifacts there, in a support stack
    # of the tooling account: that region of the tooling account is bootstrapped too.
    for _, region in list(found):
        key = (config.tooling.account, region)
        if key not in found:
            found[key] = ["pipeline artifacts"]
    return [OperatedAccount(account, region, tuple(roles)) for (account, region), roles in found.items()]


SessionFactory = Callable[[str, str], boto3.Session]


def session_factory(*, profile: str | None, assume_role: str | None) -> SessionFactory:
    """How to act in an account: a named profile per account (`--profile "admin-{account}"`), a role assumed
    in every account from the current credentials (`--assume-role OrganizationAccountAccessRole`), or the
    current credentials for all."""

    def session(account: str, region: str) -> boto3.Session:
        if profile:
            return new_session(profile_name=profile_of(profile, account), region_name=region)
        current = new_session(region_name=region)
        if not assume_role:
            return current
        role_arn = f"arn:{_partition(region)}:iam::{account}:role/{assume_role}"
        return assumed_session(current, role_arn, region, session_name="data-sharing-operator")

    return session


def _partition(region: str) -> str:
    from config.regions import partition_of

    return partition_of(region)
