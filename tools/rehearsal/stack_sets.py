"""StackSets with service-managed permissions, as a delegated administrator makes them, in the emulator.

moto creates a service-managed stack set's instances in the accounts of the organizational units it is given, but
only from the organization's management account, one level of units down, including the management account, and
it knows neither AWS::CloudFormation::StackSet in a template nor CallAs nor auto-deployment. Mended here, in the
emulator, as AWS documents them:

- `AWS::CloudFormation::StackSet` in a template: its template read from its TemplateURL (an object of the emulated
  S3), the stack set made in the organization's management account (where a delegated administrator's stack sets
  live), refused where the stack's account is not a registered delegated administrator of StackSets;
- its instances in every account of the units and of the units under them, never in the management account;
- CallAs DELEGATED_ADMIN on CloudFormation's API, answered from the management account's stack sets (refused for an
  account that is not a delegated administrator), and DescribeOrganizationsAccess;
- auto-deployment: an account moved into a targeted unit gets its instances (its stacks created), one moved out of
  all of them loses them;
- StackSets as a service that may have a delegated administrator (moto lists six others).

Not emulated: OperationPreferences (every instance is created at once), StackSets' execution role in each account
(the stacks are created as moto creates any stack), drift, and the instances' statuses other than SUCCEEDED.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
_mended = False
# Stack sets with auto-deployment: (management account, region, stack set name).
_AUTO: set[tuple[str, str, str]] = set()
_RESOURCES: list[type] = []


def mend() -> None:
    global _mended
    if _mended:
        return
    _allow_stacksets_administrators()
    _deploy_to_every_unit_below()
    _answer_delegated_administrators()
    _auto_deploy()
    _add_stack_set_resource()
    _mended = True


def reset() -> None:
    """With moto's reset: no stack set is left to auto-deploy."""
    _AUTO.clear()


def management_account(account: str, partition: str = "aws") -> str | None:
    """The management account of the organization where `account` is a delegated administrator of StackSets."""
    from moto.organizations.models import organizations_backends

    for owner, backends in organizations_backends.items():
        backend = backends.get(partition) if hasattr(backends, "get") else None
        if backend is None or backend.org is None:
            continue
        for admin in backend.admins:
            if admin.account.id == account and STACKSETS in admin.services:
                return str(owner)
    return None


def units_below(backend: Any, units: list[str]) -> set[str]:
    """The units and every unit under them (and, for the root, every unit)."""
    found = set(units)
    while True:
        more = {ou.id for ou in backend.ou if getattr(ou, "parent_id", None) in found} - found
        if not more:
            return found
        found |= more


def _allow_stacksets_administrators() -> None:
    from moto.organizations.exceptions import OrganizationsClientError
    from moto.organizations.models import FakeDelegatedAdministrator, OrganizationsBackend

    if STACKSETS not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS)
    describe = OrganizationsBackend.describe_organizational_unit

    def describe_organizational_unit(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
        # Only the management account (or a delegated administrator of Organizations) may describe units: moto answers
        # a member from its own, empty, organization data ("not found").
        if self.org is None:
            raise OrganizationsClientError(
                "AccessDeniedException", "You don't have permissions to access this resource."
            )
        return describe(self, **kwargs)

    OrganizationsBackend.describe_organizational_unit = describe_organizational_unit  # type: ignore[method-assign]


def _deploy_to_every_unit_below() -> None:
    from moto.cloudformation.models import StackInstance, StackInstances

    def create_instances(
        self: StackInstances,
        accounts: list[str],
        regions: list[str],
        parameters: list[dict[str, Any]] | None,
        deployment_targets: dict[str, Any],
        permission_model: str,
    ) -> list[dict[str, Any]]:
        backend = self.org_backend
        units = units_below(backend, list(deployment_targets.get("OrganizationalUnitIds", [])))
        targets = list(accounts)
        # StackSets never deploys to the management account, whatever the units.
        targets += [a.id for a in backend.accounts if a.parent_id in units and a.id != self.account_id]
        created = []
        for region in regions:
            for account in targets:
                if self.get_instance(account, region) is not None:
                    continue
                instance = StackInstance(
                    account_id=account,
                    region_name=region,
                    stackset_id=self.stackset_id,
                    stack_name=self.stack_name,
                    name=self.stackset_name,
                    template=self.template,
                    parameters=parameters,
                    permission_model=permission_model,
                )
                self.stack_instances.append(instance)
                created.append(instance.to_dict())
        return created

    StackInstances.create_instances = create_instances  # type: ignore[method-assign]  # a patch of moto's class


def _answer_delegated_administrators() -> None:
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.organizations.models import organizations_backends

    own = CloudFormationResponse.cloudformation_backend

    def backend(self: CloudFormationResponse) -> Any:
        if self._get_param("CallAs") == "DELEGATED_ADMIN":
            management = management_account(self.current_account)
            if management is None:  # as StackSets answers an account that is not one
                raise ValidationError(
                    message="Account used is not a delegated administrator of StackSets (CallAs DELEGATED_ADMIN)"
                )
            return cloudformation_backends[management][self.region]
        return own.fget(self)  # type: ignore[attr-defined]

    def describe_organizations_access(self: CloudFormationResponse) -> ActionResult:
        """Whether StackSets' trusted access with Organizations is on, as its delegated administrator asks."""
        management = self.cloudformation_backend.account_id
        backend = organizations_backends[management]["aws"]
        enabled = any(service["ServicePrincipal"] == STACKSETS for service in backend.services)
        return ActionResult({"Status": "ENABLED" if enabled else "DISABLED"})

    CloudFormationResponse.cloudformation_backend = property(backend)  # type: ignore[assignment,method-assign]
    CloudFormationResponse.describe_organizations_access = describe_organizations_access  # type: ignore[attr-defined]


def _auto_deploy() -> None:
    from moto.cloudformation.models import cloudformation_backends
    from moto.organizations.models import OrganizationsBackend

    move = OrganizationsBackend.move_account

    def move_account(self: OrganizationsBackend, **kwargs: Any) -> None:
        move(self, **kwargs)
        account = kwargs["AccountId"]
        parent = kwargs["DestinationParentId"]
        for management, region, name in sorted(_AUTO):
            if management != self.account_id:
                continue
            found = cloudformation_backends[management][region].stacksets.values()
            live = [ss for ss in found if ss.name == name and ss.status != "DELETED"]
            if not live:  # deleted since
                continue
            stack_set: Any = live[0]
            targets = units_below(self, stack_set.deployment_targets.get("OrganizationalUnitIds", []))
            instances = stack_set.instances
            if parent in targets:
                instances.create_instances([account], stack_set.regions, [], {}, stack_set.permission_model)
            else:
                gone = [r for r in stack_set.regions if instances.get_instance(account, r) is not None]
                if gone:
                    instances.delete([account], gone)

    OrganizationsBackend.move_account = move_account  # type: ignore[method-assign]  # a patch of moto's class


def _template(url: str) -> str:
    """The object a TemplateURL names, from the emulated S3 (https://s3.REGION.amazonaws.com/BUCKET/KEY, or
    https://BUCKET.s3.REGION.amazonaws.com/KEY)."""
    from moto.s3.models import s3_backends

    parsed = urllib.parse.urlparse(url)
    host, path = parsed.netloc, parsed.path.lstrip("/")
    if host.startswith("s3.") or host.startswith("s3-"):
        bucket, key = path.split("/", 1)
    else:
        bucket, key = host.split(".s3", 1)[0], path
    for backends in s3_backends.values():
        backend = backends["aws"]
        if bucket in backend.buckets:
            found: Any = backend.get_object(bucket, key)
            return str(found.value.decode())
    raise ValueError(f"TemplateURL {url}: no such object in the emulated S3")


def _add_stack_set_resource() -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.common_models import CloudFormationModel

    class StackSetResource(CloudFormationModel):
        def __init__(self, management: str, region: str, name: str, stack_set_id: str) -> None:
            self.management, self.region, self.name, self.stack_set_id = management, region, name, stack_set_id

        @property
        def physical_resource_id(self) -> str:
            return self.stack_set_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return "StackSetName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudFormation::StackSet"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "StackSetId"

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return self.stack_set_id

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
            properties = cloudformation_json["Properties"]
            management = account_id
            if properties.get("CallAs") == "DELEGATED_ADMIN":
                found = management_account(account_id)
                if found is None:
                    raise ValidationError(
                        message=f"Account {account_id} is not registered as a delegated administrator of StackSets"
                    )
                management = found
            backend = cloudformation_backends[management][region_name]
            name = properties["StackSetName"]
            template = _template(properties["TemplateURL"])
            tags = {t["Key"]: t["Value"] for t in properties.get("Tags", [])}
            stack_set: Any = backend.create_stack_set(
                name=name,
                template=template,
                parameters={},
                tags=tags,
                permission_model=properties.get("PermissionModel", "SELF_MANAGED"),
                admin_role=None,
                exec_role=None,
                description=properties.get("Description"),
            )
            for group in properties.get("StackInstancesGroup", []):
                targets = group["DeploymentTargets"]
                stack_set.deployment_targets = targets
                stack_set.regions = list(group["Regions"])
                backend.create_stack_instances(name, targets.get("Accounts", []), group["Regions"], [], targets)
            if (properties.get("AutoDeployment") or {}).get("Enabled") in (True, "true"):
                _AUTO.add((management, region_name, name))
            return cls(management, region_name, name, stack_set.id)

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        ):
            # A new template reaches every instance: the stacks made again from it.
            cls.delete_from_cloudformation_json(original_resource.name, {}, account_id, region_name)  # type: ignore[no-untyped-call]
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)  # type: ignore[no-untyped-call]

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            management = management_account(account_id) or account_id
            backend = cloudformation_backends[management][region_name]
            stack_set: Any = backend.describe_stack_set(resource_name)
            for instance in list(stack_set.instances.stack_instances):
                stack_set.instances.delete([instance.account_id], [instance.region_name])
            backend.delete_stack_set(resource_name)
            _AUTO.discard((management, region_name, resource_name))

    _RESOURCES.append(StackSetResource)  # moto finds it among CloudFormationModel's subclasses: kept alive
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


__all__ = ["STACKSETS", "management_account", "mend", "reset", "units_below"]
