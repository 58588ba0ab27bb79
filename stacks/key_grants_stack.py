"""One consumer's use of the existing keys that encrypt the datasets it reaches through access points.

An existing key's policy is its owner's: the stacks never write it. KMS grants give each of the consumer's roles
(the demo workloads', its own, its extensions') exactly the key use its access needs (read: Decrypt; read-write: also
GenerateDataKey), one grant per role and dataset, created by a custom resource of this stack and revoked when the
stack or the grant goes. KMS checks that a grant's principal exists when the grant is made: the roles are the consumer
stack's, so this stack is deployed in the source account after it, in the same stage. The key's policy must let the
source account's IAM policies allow kms:CreateGrant (the default key policy does; `make doctor` checks it)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.findings import acknowledge
from cdk_constructs.sdk_calls import sdk_call_role
from config import actions
from config.model import Config, Consumer, Environment
from config.naming import Names, grantee_digest, permissions_boundary_name


class KeyGrantsStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: Config, environment: Environment, consumer: Consumer, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        names = Names.of(config, environment)
        iam.PermissionsBoundary.of(self).apply(
            iam.ManagedPolicy.from_managed_policy_name(self, "PermissionsBoundary", permissions_boundary_name(config))
        )
        grants = names.key_grant_datasets(environment, consumer)
        keys = sorted({n.dataset.bucket.kms_key for n, _ in grants if n.dataset.bucket and n.dataset.bucket.kms_key})
        roles = names.consumer_role_arns(consumer)
        name = names.key_grants(consumer)
        role, log_group = sdk_call_role(
            self, name, f"Grants {names.project} {names.environment} consumer {consumer.name} its existing keys"
        )
        # Grants for exactly the consumer's roles, of exactly the operations its datasets need; revoked by their ids.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=keys,
                conditions={
                    "StringEquals": {"kms:GranteePrincipal": roles},
                    "ForAllValues:StringEquals": {"kms:GrantOperations": actions.grant_operations("read-write")},
                },
            )
        )
        # Revoked on any key of the source account and region, not only the listed ones: when a dataset's key leaves
        # the config, CloudFormation updates this policy before it deletes the old grant's resource, whose revoke
        # would otherwise be refused and leave the grant behind.
        role.add_to_policy(iam.PolicyStatement(actions=["kms:RevokeGrant"], resources=[names.key_arn_pattern]))
        for n, access in grants:
            key = n.dataset.bucket.kms_key if n.dataset.bucket else None
            operations = actions.grant_operations(access)
            for grantee in roles:
                create = cr.AwsSdkCall(
                    service="KMS",
                    action="createGrant",
                    parameters={
                        "KeyId": key,
                        "GranteePrincipal": grantee,
                        "Operations": operations,
                        "Name": names.grant_name(n.name, consumer, grantee, operations),
                    },
                    physical_resource_id=cr.PhysicalResourceId.from_response("GrantId"),
                )
                resource = cr.AwsCustomResource(
                    self,
                    # By the grantee, never by its position: a role added or removed leaves the others' grants alone.
                    f"{actions.sid(n.name)}Grant{grantee_digest(grantee)}",
                    on_create=create,
                    # A change of access makes a new grant (its name says its operations, so KMS does not hand back
                    # the old one); CloudFormation then deletes the old one's resource, which revokes it.
                    on_update=create,
                    on_delete=cr.AwsSdkCall(
                        service="KMS",
                        action="revokeGrant",
                        parameters={"KeyId": key, "GrantId": cr.PhysicalResourceIdReference()},
                        # Revoked already (by the key's owner, say): nothing left to revoke.
                        ignore_error_codes_matching="NotFoundException|InvalidGrantIdException",
                    ),
                    role=role,
                    function_name=name,
                    log_group=log_group,
                    install_latest_aws_sdk=False,
                )
                resource.node.add_dependency(role)
        acknowledge(self, {"AwsSolutions-L1": "The CDK chooses the custom resource's runtime for its SDK calls."})
        acknowledge(
            role,
            {
                f"AwsSolutions-IAM5[Resource::{names.key_arn_pattern}]": (
                    "Revoking only: a grant outlives its key's place in the config (CloudFormation deletes it after "
                    "the policy's update), and a revoke takes away access, never gives it."
                )
            },
        )
