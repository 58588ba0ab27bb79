"""A consumer group's stacks: one StackSet per group in the tooling account, and the consumer template it deploys to
every account of the group's units, which needs nothing of the CDK's bootstrap there."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk import Aws

from cdk_constructs import findings
from cdk_constructs.inline_code import inline_package
from config.loader import ConfigError, parse_config
from pipeline.app import synthesize
from stacks.group_consumer_stack import PACKAGE, PACKAGE_HANDLER
from tests.templates import inline_statements, resources, role_named
from toolchain import RUNTIME_DIR


def _groups(organization: Any) -> Any:
    return organization.pipeline.deployables.groups["prod"].stack


def _group_template(organization: Any) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(_groups(organization).templates["branches"].read_text())
    return template


def test_a_group_is_one_service_managed_stack_set_of_its_units_made_as_delegated_administrator(organization):
    template = organization.template_json(_groups(organization))
    (stack_set,) = resources(template, "AWS::CloudFormation::StackSet").values()
    properties = stack_set["Properties"]
    assert properties["StackSetName"] == "orgshare-prod-branches"
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["CallAs"] == "DELEGATED_ADMIN"
    # Accounts that join a unit get the stack by themselves; one that leaves loses it.
    assert properties["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert properties["StackInstancesGroup"] == [
        {"DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-11111111", "ou-ab12-22222222"]},
         "Regions": ["eu-west-1"]}
    ]  # fmt: skip
    # The config's rollout, with its defaults.
    assert properties["OperationPreferences"] == {
        "MaxConcurrentPercentage": 25,
        "FailureTolerancePercentage": 10,
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
        "RegionConcurrencyType": "PARALLEL",
    }
    assert properties["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert properties["ManagedExecution"] == {"Active": True}
    # The template is an asset of the tooling account's stack: published by the pipeline's asset step.
    url = json.dumps(properties["TemplateURL"])
    assert "cdk-" in url and "assets-111111111111-eu-west-1" in url


def test_the_groups_stage_deploys_after_the_sharing_stage_in_the_tooling_account(organization):
    stage = organization.pipeline.deployables.groups["prod"]
    assert (stage.account, stage.region) == ("111111111111", "eu-west-1")
    pipeline = organization.template_json(organization.pipeline)
    (codepipeline,) = resources(pipeline, "AWS::CodePipeline::Pipeline").values()
    names = [s["Name"] for s in codepipeline["Properties"]["Stages"]]
    assert names.index("prod-sharing") < names.index("prod-groups") < names.index("prod-consumers")


def test_the_group_template_needs_no_bootstrap_and_no_asset(organization):
    template = _group_template(organization)
    # No bootstrap version check (the group's accounts are not bootstrapped), and nothing from an asset bucket.
    assert "BootstrapVersion" not in template.get("Parameters", {}) and "Rules" not in template
    assert "cdk-" not in json.dumps(template)
    (function,) = resources(template, "AWS::Lambda::Function").values()
    assert set(function["Properties"]["Code"]) == {"ZipFile"}
    assert function["Properties"]["Handler"] == "index.handler"
    # Named log groups go with the stack: one kept after a failed first create, or after the account left the group's
    # units, would stop every later create of the stack in that account.
    log_groups = resources(template, "AWS::Logs::LogGroup").values()
    assert log_groups and {g["DeletionPolicy"] for g in log_groups} == {"Delete"}
    # StackSets deploys with its own execution role there: no permissions boundary of the project's to name.
    assert not [r for r in resources(template, "AWS::IAM::Role").values() if "PermissionsBoundary" in r["Properties"]]


def test_the_group_template_has_the_roles_its_grants_admit_and_reads_as_the_group(organization):
    template = _group_template(organization)
    names = sorted(r["Properties"]["RoleName"] for r in resources(template, "AWS::IAM::Role").values())
    assert names == [
        "orgshare-prod-consumer-function", "orgshare-prod-consumer-task", "orgshare-prod-consumer-task-exec",
        "orgshare-prod-pipeline-proof",
    ]  # fmt: skip
    (function,) = resources(template, "AWS::Lambda::Function").values()
    environment = function["Properties"]["Environment"]["Variables"]
    assert environment["CONSUMER_NAME"] == "branches"
    assert environment["SOURCE_ROLE_ARN"] == "arn:aws:iam::222222222222:role/orgshare-prod-source-branches"
    given = {entry["n"]: entry.get("a") for entry in json.loads(environment["DATASETS"])}
    assert given == {"lake": "read", "finance": "read", "events": "read-write"}
    # Only the group's test step may use the proof role, from the tooling account.
    proof = resources(template, "AWS::IAM::Role")[role_named(template, "orgshare-prod-pipeline-proof")]
    (trust,) = proof["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/orgshare-prod-proof-branches"}
    }
    statements = inline_statements(template, role_named(template, "orgshare-prod-pipeline-proof"))
    assert {s["Sid"] for s in statements} >= {"InvokeTheFunction", "RunTheTaskInItsCluster"}


def test_the_inline_code_imports_the_runtime_package_from_its_archive(tmp_path):
    code = inline_package(RUNTIME_DIR, PACKAGE, PACKAGE_HANDLER, description="test")
    (tmp_path / "index.py").write_text(code)
    probe = "import index, consumer_app.handler as h; print(h.__file__); print(index.handler is h.handler)"
    # Run where the repository's runtime/ is not importable: only the archive can provide the package.
    found = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found[0].startswith("/tmp/consumer_app-") and ".zip/consumer_app/handler.py" in found[0]
    assert found[1] == "True"
    # The same files make the same code: an unchanged runtime leaves the group's stacks as they are.
    assert inline_package(RUNTIME_DIR, PACKAGE, PACKAGE_HANDLER, description="test") == code


def test_the_group_template_is_checked_as_every_stack(tmp_path, monkeypatch):
    """cdk-nag runs on the group's template too: a finding it does not see acknowledged stops the synth."""
    from tests.conftest import ORGANIZATION_CONFIG

    def misnamed(finding: str) -> str:  # the proof role's findings, named otherwise than cdk-nag names them
        return finding.replace(Aws.ACCOUNT_ID, "<account>").replace(Aws.REGION, "<region>")

    monkeypatch.setattr(findings, "as_named", misnamed)
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        synthesize(parse_config(ORGANIZATION_CONFIG), tmp_path)
    assert "Group/Proof/Role" in str(raised.value) and "AwsSolutions-IAM5" in str(raised.value)


def test_a_groups_test_step_may_list_its_instances_and_assume_its_proof_roles_only(organization):
    pipeline = organization.template_json(organization.pipeline)
    role_id = role_named(pipeline, "orgshare-prod-proof-branches")
    statements = inline_statements(pipeline, role_id)
    allowed = {
        (a, json.dumps(s["Resource"]))
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if not a.startswith(("logs:", "codebuild:", "s3:", "kms:"))  # CodeBuild's own: logs, reports, artifacts
    }
    assert allowed == {
        ("cloudformation:ListStackInstances",
         '"arn:aws:cloudformation:eu-west-1:*:stackset/orgshare-prod-branches:*"'),
        ("organizations:ListDelegatedAdministrators", '"*"'),
        ("sts:AssumeRole", '"arn:aws:iam::*:role/orgshare-prod-pipeline-proof"'),
    }  # fmt: skip
    (codepipeline,) = resources(pipeline, "AWS::CodePipeline::Pipeline").values()
    (stage,) = [s for s in codepipeline["Properties"]["Stages"] if s["Name"] == "prod-groups"]
    assert [a["Name"] for a in stage["Actions"]][-1] == "Prove-prod-branches"


def test_a_group_template_larger_than_a_stack_set_takes_is_refused(tmp_path):
    import aws_cdk as cdk

    from config import quotas
    from stacks.groups_stack import GroupsStack, GroupTemplateTooLarge
    from tests.conftest import ORGANIZATION_CONFIG

    config = parse_config(ORGANIZATION_CONFIG)
    big = tmp_path / "group.json"
    big.write_text(" " * (quotas.CLOUDFORMATION_STACK_SET_TEMPLATE_BYTES + 1))
    with pytest.raises(GroupTemplateTooLarge, match="460,801 bytes, a StackSet takes at most 460,800"):
        GroupsStack(cdk.App(), "Groups", config=config, environment=config.environments[0], templates={"branches": big})
    # A config error, so the app says it in one line (pipeline_app.py reports ConfigError so, exit 2).
    assert issubclass(GroupTemplateTooLarge, ConfigError)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from config import load_config
    from toolchain import ROOT

    return synthesize(load_config(ROOT / "config" / "fleet.yaml"), tmp_path_factory.mktemp("fleet"))


def test_the_daily_proof_proves_the_groups_too(fleet):
    """With a schedule, the environment's daily proof lists each group's instances and proves them: its role may list
    the group's stack set, and the group's proof roles trust it beside the group's test step."""
    pipeline = fleet.template_json(fleet.pipeline)
    role_id = role_named(pipeline, "fleetshare-prod-daily-proof")
    statements = inline_statements(pipeline, role_id)
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"cloudformation:ListStackInstances", "organizations:ListDelegatedAdministrators"} <= actions
    (project,) = [
        r["Properties"] for r in resources(pipeline, "AWS::CodeBuild::Project").values()
        if r["Properties"].get("Name") == "fleetshare-prod-daily-proof"
    ]  # fmt: skip
    variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
    assert [g["stack_set"] for g in json.loads(variables["PROOF_GROUPS"])] == ["fleetshare-prod-branches"]
    template = json.loads(fleet.pipeline.deployables.groups["prod"].stack.templates["branches"].read_text())
    proof = resources(template, "AWS::IAM::Role")[role_named(template, "fleetshare-prod-pipeline-proof")]
    (trust,) = proof["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        "arn:aws:iam::111111111111:role/fleetshare-prod-proof-branches",
        "arn:aws:iam::111111111111:role/fleetshare-prod-daily-proof",
    ]
