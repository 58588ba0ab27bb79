"""The project's customer-managed keys: one per dataset in the source account, one for the query results in a
consumer account. Each rotates, outlives its stack, and lets CloudFormation manage it by its own policy."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from bootstrap.policies import KEY_ACTIONS

# The data (and what decrypts it) outlives its stack and any update that would replace it, but not a failed first
# create: its rollback deletes what it made, so a retry does not fail on names "already exist". The table's deletion
# protection still refuses that delete (DynamoDB refuses DeleteTable while it is on): a first create that fails after
# the table exists ends in ROLLBACK_FAILED on the table alone; docs/first-deployment.md, "When a first deploy fails".
RETAINED = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


def project_key(scope: Construct, id: str, *, alias: str, description: str, execution_role_arn: str) -> kms.Key:
    """A key of the project. The execution policy allows CloudFormation nothing on keys (a tag is no fence for them):
    the key's own policy lets the account's execution role do what the stacks' handlers do with it, and nothing else;
    its default statement lets the account's IAM policies grant its use."""
    key = kms.Key(scope, id, alias=alias, description=description, enable_key_rotation=True, removal_policy=RETAINED)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudFormationManagesTheKey",
            principals=[iam.ArnPrincipal(execution_role_arn)],
            actions=list(KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" is this key
        )
    )
    return key
