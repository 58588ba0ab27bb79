"""The emulated organization of a config with consumer groups: the config's organization id and organizational units
(their ids as the config names them), every account of the config in it, and in each unit of a group some member
accounts of its own, half of them in a unit under it; the tooling account a delegated administrator of StackSets,
with StackSets' trusted access enabled, as make doctor checks them. Built in moto's Organizations (the management
account's), which the StackSets of the emulator read (tools/rehearsal/stack_sets.py); the enforcement reads each
account's path in it (aws:PrincipalOrgPaths)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config.model import Config, root_of
from tools.rehearsal.stack_sets import STACKSETS

# The management account: in no config (a config's accounts are members; StackSets never deploys to it).
MANAGEMENT = "990000000000"
FIRST_MEMBER = 700_000_000_000  # the emulated member accounts of the groups' units: 700000000000, 700000000001, ...


@dataclass
class EmulatedOrganization:
    config: Config
    backend: Any  # moto's OrganizationsBackend of the management account
    members: dict[str, list[str]] = field(default_factory=dict)  # unit -> the accounts made in it (and under it)
    _next: int = FIRST_MEMBER

    @classmethod
    def build(cls, config: Config, accounts_per_unit: int) -> EmulatedOrganization:
        from moto.organizations.models import organizations_backends

        if config.organization_id is None:
            raise ValueError("an emulated organization needs the config's organization_id")
        units = sorted({u for e in config.environments for g in e.consumer_groups for u in g.organizational_units})
        backend: Any = organizations_backends[MANAGEMENT]["aws"]
        backend.create_organization(region="us-east-1", FeatureSet="ALL")
        backend.org.id = config.organization_id
        root = backend.ou[0]
        root.id = backend.org.root_id = root_of(units[0]) if units else root.id
        organization = cls(config, backend)
        for unit in units:
            if unit.startswith("r-"):
                continue
            made = backend.create_organizational_unit(ParentId=root.id, Name=unit)
            organization._ou(made["OrganizationalUnit"]["Id"]).id = unit
        config_accounts = {config.tooling.account}
        for environment in config.environments:
            config_accounts |= {environment.source.account, *(c.account for c in environment.consumers)}
        for account in sorted(config_accounts):
            organization._account(account, root.id)
        backend.enable_aws_service_access(ServicePrincipal=STACKSETS)
        backend.register_delegated_administrator(AccountId=config.tooling.account, ServicePrincipal=STACKSETS)
        for unit in units:
            # Half of a unit's accounts in a unit under it: a group's grants and its StackSet reach them too.
            below = unit if unit.startswith("r-") else organization.add_unit(f"{unit}-below", unit)
            for index in range(accounts_per_unit):
                organization.join(unit if index % 2 == 0 else below, member_of=unit)
        return organization

    def add_unit(self, name: str, parent: str) -> str:
        made = self.backend.create_organizational_unit(ParentId=parent, Name=name)
        return str(made["OrganizationalUnit"]["Id"])

    def join(self, unit: str, *, member_of: str | None = None) -> str:
        """A new account of the organization, in `unit` (moved there from the root, as an account joins a unit):
        the StackSets that target the unit deploy to it by themselves."""
        while True:
            account = f"{self._next:012d}"
            self._next += 1
            if not any(a.id == account for a in self.backend.accounts):
                break
        self._account(account, self.backend.org.root_id)
        self.backend.move_account(AccountId=account, SourceParentId=self.backend.org.root_id, DestinationParentId=unit)
        self.members.setdefault(member_of or unit, []).append(account)
        return account

    def paths(self) -> dict[str, str]:
        """Each account's aws:PrincipalOrgPaths: o-ID/r-ID/ou-.../ down to its unit, with a slash at the end."""
        parents = {ou.id: getattr(ou, "parent_id", None) for ou in self.backend.ou}
        found = {}
        for account in self.backend.accounts:
            chain, unit = [], account.parent_id
            while unit is not None:
                chain.append(unit)
                unit = parents.get(unit)
            found[account.id] = f"{self.backend.org.id}/" + "".join(f"{u}/" for u in reversed(chain))
        return found

    def _ou(self, unit: str) -> Any:
        return next(ou for ou in self.backend.ou if ou.id == unit)

    def _account(self, account: str, parent: str) -> None:
        from moto.organizations.models import organizations_backends

        self.backend.create_account(AccountName=f"account {account}", Email=f"{account}@example.com")
        made = self.backend.accounts[-1]
        organizations_backends.master_accounts.pop(made.id, None)
        made.id, made.parent_id = account, parent
        organizations_backends.master_accounts[account] = (MANAGEMENT, "aws")
