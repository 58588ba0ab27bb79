"""The bootstrap policies of a target account: the execution policy covers what the stacks' resource handlers call
and no more in IAM than the project's own roles and policies, every role the stacks create is named under the
project's prefix and carries the boundary, and the boundary covers what those roles are granted."""

from __future__ import annotations

import fnmatch

import pytest

from bootstrap.policies import (
    ACCOUNT_WIDE,
    CUSTOM_RESOURCE_TYPES,
    IAM_RESOURCE_TYPES,
    STACK_RESOURCE_TYPES,
    boundary_actions,
    execution_policies,
    handler_permissions,
    permissions_boundary,
)
from checks.limits import size
from checks.templates import PolicyKind, policy_documents, resources
from config.naming import permissions_boundary_name


def _target_templates(synthesized):
    for environment in synthesized.config.environments:
        yield synthesized.template_json(synthesized.sharing(environment.name))
        for index in range(len(environment.consumers)):
            yield synthesized.template_json(synthesized.consumer(environment.name, index))


@pytest.mark.parametrize("fixture", ["example", "organization"])
def test_every_resource_type_of_the_stacks_is_known(request, fixture):
    synthesized = request.getfixturevalue(fixture)
    types = {r["Type"] for t in _target_templates(synthesized) for r in t["Resources"].values()}
    assert types <= set(STACK_RESOURCE_TYPES) | set(IAM_RESOURCE_TYPES) | set(CUSTOM_RESOURCE_TYPES)
    assert all(handler_permissions(t, "eu-west-1") for t in types - set(CUSTOM_RESOURCE_TYPES))


@pytest.mark.parametrize("fixture", ["example", "organization"])
def test_every_role_is_the_projects_and_carries_the_boundary(request, fixture):
    synthesized = request.getfixturevalue(fixture)
    project = synthesized.config.project
    boundary = permissions_boundary_name(synthesized.config)
    for template in _target_templates(synthesized):
        for role in resources(template, "AWS::IAM::Role").values():
            properties = role["Properties"]
            assert properties["RoleName"].startswith(f"{project}-")
            assert properties["PermissionsBoundary"].endswith(f":policy/{boundary}")
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
            assert policy["Properties"]["ManagedPolicyName"].startswith(f"{project}-")


@pytest.mark.parametrize("fixture", ["example", "organization"])
def test_the_boundary_covers_what_the_roles_are_granted(request, fixture):
    synthesized = request.getfixturevalue(fixture)
    granted = set()
    for template in _target_templates(synthesized):
        for policy in policy_documents(template):
            if policy.kind in (PolicyKind.INLINE, PolicyKind.MANAGED):
                for statement in policy.document["Statement"]:
                    actions = statement["Action"]
                    granted |= set(actions if isinstance(actions, list) else [actions])
    boundary = boundary_actions(synthesized.config)
    uncovered = {a for a in granted if not any(fnmatch.fnmatchcase(a, b) for b in boundary)}
    assert uncovered == set()


def test_each_policy_fits_a_managed_policy(example):
    documents = execution_policies(example.config, "333333333333", "eu-west-1", "aws-us-gov")
    documents["boundary"] = permissions_boundary(example.config, "aws-us-gov")
    for name, document in documents.items():
        assert size(document) <= 6144, name


def test_ecs_account_settings_are_left_out_though_the_cluster_schema_lists_them(example):
    # AWS::ECS::Cluster's update handler lists them; they change every cluster of the account, and the stacks set none.
    assert handler_permissions("AWS::ECS::Cluster", "eu-west-1") >= {a for a in ACCOUNT_WIDE if a.startswith("ecs:")}
    assert handler_permissions("AWS::Logs::LogGroup", "eu-west-1") >= {a for a in ACCOUNT_WIDE if a.startswith("logs:")}
    documents = execution_policies(example.config, "333333333333", "eu-west-1", "aws")
    granted = {
        action
        for document in documents.values()
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert "ecs:CreateCluster" in granted and not ACCOUNT_WIDE & granted


# The name each fenced resource type takes, which the execution policy requires under the project's prefix.
NAMED = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::ECS::TaskDefinition": "Family",
}


@pytest.mark.parametrize("fixture", ["example", "organization"])
def test_every_resource_the_fences_cover_is_named_or_tagged_as_the_projects(request, fixture):
    """The execution policy denies CloudFormation any bucket, table, function, log group, cluster or task family not
    named PROJECT-..., and any key without the project tag: a resource of the stacks outside them would fail its
    deploy."""
    synthesized = request.getfixturevalue(fixture)
    project = synthesized.config.project
    for template in _target_templates(synthesized):
        for kind, name in NAMED.items():
            for logical_id, resource in resources(template, kind).items():
                assert resource["Properties"].get(name, "").startswith(f"{project}-"), (logical_id, kind)
        for logical_id, key in resources(template, "AWS::KMS::Key").items():
            assert {"Key": "project", "Value": project} in key["Properties"]["Tags"], logical_id
        for alias in resources(template, "AWS::KMS::Alias").values():
            assert alias["Properties"]["AliasName"].startswith(f"alias/{project}/")


def test_an_account_the_config_deploys_to_in_two_regions_gets_one_set_of_policies(monkeypatch):
    """IAM's policies are the account's: built from every region the config deploys to there, or bootstrapping one
    region would make the other's stale (cfn-lint's schemas, which list the handlers' actions, are per region)."""
    import bootstrap.policies as policies
    from config.loader import parse_config
    from tests.configs import config_text

    config = parse_config(
        config_text(
            "two",
            """  - name: a
    source: {account: "222222222222", region: eu-west-1}
    consumers: [{name: x, account: "333333333333", region: eu-west-1}]
  - name: b
    source: {account: "444444444444", region: eu-central-1}
    consumers: [{name: x, account: "333333333333", region: eu-central-1}]
""",
        )
    )
    real = policies.handler_permissions
    extra = "dynamodb:DescribeContributorInsights"  # as if only eu-central-1's schema of a table listed it
    monkeypatch.setattr(
        policies,
        "handler_permissions",
        lambda kind, region: real(kind, region) | ({extra} if region == "eu-central-1" else set()),
    )
    west = policies.execution_policies(config, "333333333333", "eu-west-1", "aws")
    assert west == policies.execution_policies(config, "333333333333", "eu-central-1", "aws")
    assert extra in str(west)


def test_the_boundary_lets_grants_be_made_on_the_listed_keys_and_revoked_after_a_key_leaves_the_config(organization):
    """CreateGrant only on the existing keys the config names; RevokeGrant on any key of the granting source account,
    since a key that leaves the config leaves the boundary before its grants are revoked. Decided by the offline
    engine with the boundary as `make bootstrap` writes it."""
    from access_report.cells import Cell, Request
    from access_report.engine import evaluate

    source = "222222222222"
    boundary = permissions_boundary(organization.config, "aws")
    listed = "arn:aws:kms:eu-west-1:222222222222:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    other = "arn:aws:kms:eu-west-1:222222222222:key/99999999-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    elsewhere = "arn:aws:kms:eu-west-1:999999999999:key/99999999-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

    def key_policy(key: str) -> dict[str, object]:
        """The default key policy: the key's account's IAM policies decide, and an other account's are trusted."""
        account = key.split(":")[4]
        trusted = [f"arn:aws:iam::{account}:root", f"arn:aws:iam::{source}:root"]
        statement = {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "kms:*", "Resource": "*"}
        return {"Version": "2012-10-17", "Statement": [statement]}

    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
    cases = [
        ("kms:CreateGrant", listed, "allow"),
        ("kms:CreateGrant", other, "deny"),
        ("kms:RevokeGrant", listed, "allow"),
        ("kms:RevokeGrant", other, "allow"),
        ("kms:RevokeGrant", elsewhere, "deny"),
    ]
    cells = [
        Cell(
            environment="boundary",
            who="key grants role",
            principal=f"arn:aws:iam::{source}:role/orgshare-prod-grants-analytics",
            principal_account=source,
            request=Request("grants", action, key, key_policy(key), {}),
            resource_account=key.split(":")[4],
            expected=expected,
            identity_policies=(everything,),
            boundary=boundary,
        )
        for action, key, expected in cases
    ]
    wrong = [f"{v.cell.action} {v.cell.resource}: {v.actual}" for v in evaluate(cells) if not v.as_expected]
    assert wrong == []


def test_the_boundary_lets_a_consumer_groups_source_role_write_the_existing_data_it_is_given_read_write():
    """A group reaches an existing bucket through its source role, which carries the boundary: a group's read-write
    grant must open the writes there as a consumer's does (the access report found them refused)."""
    from bootstrap.policies import permissions_boundary
    from config.loader import parse_config
    from tests.conftest import ORGANIZATION_CONFIG

    def writes(text: str) -> list[str]:
        statements = permissions_boundary(parse_config(text), "aws")["Statement"]
        return [r for s in statements if s.get("Sid") == "ExistingObjectsWritten" for r in s["Resource"]]

    # analytics writes finance; the group reads it: the writes are opened for analytics.
    assert writes(ORGANIZATION_CONFIG) == ["arn:aws:s3:::corp-finance-data/ledger/*"]
    only_the_group = ORGANIZATION_CONFIG.replace("finance: read-write, raw: read}", "raw: read}").replace(
        "grants: {lake: read, finance: read, events:", "grants: {lake: read, finance: read-write, events:"
    )
    assert writes(only_the_group) == ["arn:aws:s3:::corp-finance-data/ledger/*"]
