"""The extension point: a workload of your own in a consumer's stage gets the consumer's datasets with one call,
and every grant of those datasets admits its role; a workload the config and the code disagree on is one line."""

from __future__ import annotations

import importlib
import json

import pytest
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn

from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.matrix import build
from cdk_constructs.consumer import lambda_runtime
from cdk_constructs.findings import acknowledge
from config.loader import parse_config
from pipeline.app import synthesize, synthesize_or_report
from stacks import extensions
from tests.configs import config_text
from tests.templates import by_sid, resources
from toolchain import ROOT

CONFIG = config_text(
    "ext",
    """\
  - name: prod
    source: {account: "222222222222", region: eu-west-1}
    datasets:
      - {name: sales, bucket: {}, table: {}}
      - {name: events, bucket: {prefix: raw/}}
    consumers:
      - {name: analytics, account: "333333333333", region: eu-west-1, grants: {sales: read}, workloads: [export]}
      - {name: ingest, account: "444444444444", region: eu-west-1, grants: {events: read-write}}
""",
)
ROLE = "arn:aws:iam::333333333333:role/ext-prod-consumer-export"


def _traced(stack) -> None:
    """A workload that sends X-Ray traces: an action the boundary allows only once an extension declares it."""
    role = stack.workload_role("export", "lambda.amazonaws.com")
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]))
    acknowledge(role, {"AwsSolutions-IAM5[Resource::*]": "X-Ray's PutTraceSegments takes no resource."})


@pytest.fixture
def registered(monkeypatch):
    """The example of extensions/ that the README shows, registered as importing it in extensions/__init__.py does."""
    monkeypatch.setattr(extensions, "EXTENSIONS", {})
    importlib.reload(importlib.import_module("extensions.nightly_export"))
    assert set(extensions.EXTENSIONS) == {"nightly-export"}


EXAMPLE = CONFIG.replace("workloads: [export]", "workloads: [nightly-export]")
EXAMPLE_ROLE = "arn:aws:iam::333333333333:role/ext-prod-consumer-nightly-export"


def test_a_workload_of_your_own_gets_the_consumers_datasets_and_every_grant_admits_it(registered, tmp_path):
    synthesized = synthesize(parse_config(EXAMPLE), tmp_path)
    consumer = synthesized.template_json(synthesized.consumer("prod", 0))
    (role,) = [
        r
        for r in resources(consumer, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "ext-prod-consumer-nightly-export"
    ]
    (policy_id,) = resources(consumer, "AWS::IAM::ManagedPolicy")
    assert {"Ref": policy_id} in role["Properties"]["ManagedPolicyArns"]  # the consumer's datasets, as the demo's
    sharing = synthesized.template_json(synthesized.sharing("prod"))
    granting = [
        p for p in resources(sharing, "AWS::S3::BucketPolicy").values() if "ConsumersList" in str(p["Properties"])
    ]
    assert len(granting) == 2
    for bucket_policy in granting:
        statements = by_sid(bucket_policy["Properties"]["PolicyDocument"])
        admitted = statements["ConsumersList"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
        # In the bucket of sales, given to analytics; not in that of events, which analytics is not given.
        assert (EXAMPLE_ROLE in admitted) == ("sales" in str(bucket_policy["Properties"]["Bucket"]).lower())
    trust = [
        r["Properties"]["AssumeRolePolicyDocument"]
        for r in resources(sharing, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "ext-prod-source-analytics"
    ]
    assert EXAMPLE_ROLE in trust[0]["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    # The access report evaluates it like the demo workloads: its datasets, and nothing of the others.
    verdicts = evaluate(build(Inputs.from_synthesized(synthesized)))
    assert [v.cell.name for v in verdicts if not v.as_expected] == []
    mine = [v for v in verdicts if v.cell.who.startswith("analytics nightly-export role")]
    assert {v.cell.dataset for v in mine if v.actual == "allow"} == {"sales"}
    assert all(v.actual == "deny" for v in mine if v.cell.dataset == "events")


@pytest.mark.parametrize(
    ("extension", "says"),
    [
        (None, "analytics's workloads list 'export', but no extension of that name is registered"),
        (lambda stack: None, "the extension 'export' gave itself no role: call stack.workload_role('export', SERVICE)"),
        (
            lambda stack: stack.workload_role("other", "lambda.amazonaws.com"),
            "a role for the workload 'other' of analytics, which its workloads in the config do not list (export)",
        ),
        (
            lambda stack: sfn.StateMachine(
                stack,
                "Machine",
                role=stack.workload_role("export", "states.amazonaws.com"),
                definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Nothing")),
            ),
            "analytics's stack creates AWS::StepFunctions::StateMachine, which the bootstrap execution policy does "
            "not let CloudFormation create",
        ),
        (
            _traced,
            "analytics's stack grants xray:PutTraceSegments (prod-analytics/Consumer/WorkloadExport/Role/DefaultPolicy"
            "/Resource), which the permissions boundary of every project role does not allow: add a statement for it "
            "to EXTENSION_BOUNDARY",
        ),
    ],
    ids=[
        "not registered",
        "no role",
        "role of an unlisted workload",
        "a resource type bootstrap does not allow",
        "an action the boundary does not allow",
    ],
)
def test_a_workload_the_config_and_the_code_disagree_on_is_one_line_and_nothing_synthesized(
    monkeypatch, tmp_path, capsys, extension, says
):
    if extension is not None:
        monkeypatch.setitem(extensions.EXTENSIONS, "export", extension)
    assert synthesize_or_report(parse_config(CONFIG), tmp_path, config_path="ext.yaml") is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ext.yaml: ") and says in err[0]
    assert not list(tmp_path.glob("*.template.json"))


def test_a_workload_named_as_the_demos_is_refused():
    with pytest.raises(Exception, match=r"consumers\[analytics\]\.workloads\[0\]: 'task' names a workload the project"):
        parse_config(CONFIG.replace("workloads: [export]", "workloads: [task]"))


# The README's example, as written there.
TRACES = {
    "Sid": "Traces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def test_an_extension_declares_the_boundary_statements_its_workload_needs(monkeypatch, tmp_path, capsys):
    from bootstrap import policies as bootstrap_policies
    from tools import summary

    monkeypatch.setitem(extensions.EXTENSIONS, "export", _traced)
    monkeypatch.setattr(bootstrap_policies, "EXTENSION_BOUNDARY", [TRACES])
    config = parse_config(CONFIG)
    synthesized = synthesize(config, tmp_path)
    boundary = by_sid(bootstrap_policies.permissions_boundary(config, "aws"))
    assert boundary["Traces"] == {**TRACES, "Resource": ["*"]}
    summary.render(synthesized)
    assert "Traces: xray:PutTraceSegments, xray:PutTelemetryRecords on *" in capsys.readouterr().out
    readme = (ROOT / "docs" / "extending.md").read_text()
    assert "EXTENSION_BOUNDARY = [\n" + "".join(f"    {line}\n" for line in _dict_lines(TRACES)) in readme


def _dict_lines(statement: dict) -> list[str]:
    """The statement as the README writes it (ruff's layout)."""
    return ["{", *(f'    "{k}": {json.dumps(v)},' for k, v in statement.items()), "},"]


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ({**TRACES, "Sid": None}, "EXTENSION_BOUNDARY[0] has no Sid"),
        ({**TRACES, "Effect": "Deny"}, "Traces is not an Allow"),
        ({**TRACES, "Action": ["xray:Put*"]}, "Traces has the wildcard action xray:Put*: list the actions"),
        (
            {**TRACES, "Action": ["glue:GetJob"]},
            "Traces names Resource * for actions IAM grants on a resource: name the resources",
        ),
    ],
    ids=["no sid", "deny", "wildcard", "star resource"],
)
def test_a_boundary_statement_the_boundary_cannot_take_is_one_line(monkeypatch, capsys, tmp_path, statement, says):
    from bootstrap import policies as bootstrap_policies

    statement = {k: v for k, v in statement.items() if v is not None}
    monkeypatch.setattr(bootstrap_policies, "EXTENSION_BOUNDARY", [statement])
    assert (
        synthesize_or_report(parse_config(CONFIG.replace(", workloads: [export]", "")), tmp_path, config_path="e.yaml")
        is None
    )
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"error: e.yaml: bootstrap/policies.py EXTENSION_BOUNDARY: {says}"


def _unnamed_function(stack) -> None:
    lambda_.Function(
        stack,
        "Export",
        role=stack.workload_role("export", "lambda.amazonaws.com"),
        runtime=lambda_runtime(),
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
    )


def _function_logging_to_its_default_group(stack) -> None:
    lambda_.Function(
        stack,
        "Export",
        function_name=stack.workload_name("export"),
        role=stack.workload_role("export", "lambda.amazonaws.com"),
        runtime=lambda_runtime(),
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
    )


@pytest.mark.parametrize(
    ("extension", "says"),
    [
        (
            _unnamed_function,
            "analytics's stack creates AWS::Lambda::Function prod-analytics/Consumer/Export/Resource named by "
            "CloudFormation, outside the project's prefix ext-, where the bootstrap execution policy does not let "
            "CloudFormation create it: name it stack.workload_name(WORKLOAD)",
        ),
        (
            _function_logging_to_its_default_group,
            "analytics's function prod-analytics/Consumer/Export/Resource has no log group of its own",
        ),
    ],
    ids=["a generated name", "the default log group"],
)
def test_a_workload_named_where_it_could_not_be_deployed_is_one_line(monkeypatch, tmp_path, capsys, extension, says):
    monkeypatch.setitem(extensions.EXTENSIONS, "export", extension)
    assert synthesize_or_report(parse_config(CONFIG), tmp_path, config_path="ext.yaml") is None
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert says in line


def _glue_job(acknowledged: str | None):
    def build(stack) -> None:
        job = glue.CfnJob(
            stack,
            "Job",
            name=stack.workload_name("export"),
            role=stack.workload_role("export", "glue.amazonaws.com").role_arn,
            command=glue.CfnJob.JobCommandProperty(name="glueetl", script_location="s3://ext-scripts/export.py"),
        )
        reasons = {"AwsSolutions::AwsSolutions-GL1": "r", "AwsSolutions-GL3": "r"}
        acknowledge(job, {k: v for k, v in reasons.items() if acknowledged != "none"})

    return build


def test_a_finding_of_cdk_nag_on_your_workload_is_acknowledged_in_the_form_it_prints(monkeypatch, tmp_path):
    """cdk-nag's report says `Acknowledge with 'AwsSolutions::AwsSolutions-GL1'`: acknowledge() takes that as written,
    as it takes the rule id alone."""
    from bootstrap import policies as bootstrap_policies
    from stacks import consumer_stack

    types = (*bootstrap_policies.STACK_RESOURCE_TYPES, "AWS::Glue::Job")
    monkeypatch.setattr(consumer_stack, "STACK_RESOURCE_TYPES", types)
    monkeypatch.setitem(bootstrap_policies.FENCES, "glue", ("arn:{partition}:glue:*:{account}:job/{project}-*",))
    monkeypatch.setitem(extensions.EXTENSIONS, "export", _glue_job("both forms"))
    synthesize(parse_config(CONFIG), tmp_path / "acknowledged")
    monkeypatch.setitem(extensions.EXTENSIONS, "export", _glue_job("none"))
    with pytest.raises(RuntimeError, match="Acknowledge with 'AwsSolutions::AwsSolutions-GL1'"):
        synthesize(parse_config(CONFIG), tmp_path / "not")


def test_the_check_before_the_cdk_loads_extensions_when_a_consumer_lists_a_workload(monkeypatch):
    """extensions/__init__.py imports the modules that register the workloads: the check before construction (what
    `make synth` and the app run first) imports it, or every listed workload would be unknown."""
    import sys

    from pipeline.preflight import preflight

    monkeypatch.delitem(sys.modules, "extensions", raising=False)
    preflight(parse_config(CONFIG.replace(", workloads: [export]", "")))
    assert "extensions" not in sys.modules  # no workload: the CDK need not load
    monkeypatch.setitem(extensions.EXTENSIONS, "export", _traced)
    preflight(parse_config(CONFIG))
    assert "extensions" in sys.modules


def test_an_extension_statement_of_the_projects_resources_keeps_to_the_configs_accounts(monkeypatch):
    """A bucket named PROJECT-x is the project's only in the config's accounts (anyone can make one): an extension's
    statement of the project's resources gets the boundary's account condition; one of other resources keeps its own."""
    from bootstrap import policies as bootstrap_policies

    scripts = {
        "Sid": "Scripts",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:{partition}:s3:::{project}-scripts/*",
    }
    other = {
        "Sid": "Shared",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": "arn:{partition}:s3:::shared-lake/*",
    }
    monkeypatch.setattr(bootstrap_policies, "EXTENSION_BOUNDARY", [scripts, other])
    config = parse_config(CONFIG)
    statements = by_sid(bootstrap_policies.permissions_boundary(config, "aws"))
    accounts = statements["Scripts"]["Condition"]["StringEquals"]["aws:ResourceAccount"]
    assert accounts == ["${aws:PrincipalAccount}", "222222222222"]
    assert "Condition" not in statements["Shared"]
