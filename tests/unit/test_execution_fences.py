"""The execution policy keeps CloudFormation to the project's own resources: every handler action it allows on "*" is
denied on any bucket, table, function, log group, cluster, task family or key that is not the project's, on the
datasets' existing resources and on the CDK's bootstrap resources, and still allowed on the project's (else a deploy
would fail). Decided by the offline IAM engine, with the policies as `make bootstrap` writes them."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from access_report.cells import Cell, Request
from access_report.engine import evaluate
from bootstrap.policies import (
    KEY_ACTIONS,
    MANAGED_POLICY_CHARACTERS,
    PROJECT_TAG,
    STACK_RESOURCE_TYPES,
    UnfencedService,
    _authorization_data,
    _fences,
    check_fences,
    execution_policies,
    kms_handler_actions,
    project_arns,
    resource_types,
)
from config.naming import bootstrap_role
from tests.templates import resources

ACCOUNT, REGION = "222222222222", "eu-west-1"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{bootstrap_role('cfn-exec', ACCOUNT, REGION, qualifier='orgshare')}"


# A key's policy that lets the account's IAM policies decide (the CDK's default for the keys it creates): KMS asks the
# key policy first, so without it no identity policy could allow or deny anything.
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    ],
}


def _cell(documents, action: str, resource: str, context=None, expected="deny", key_policy=KEY_POLICY) -> Cell:
    key = action.startswith("kms:") and ":key/" in resource
    return Cell(
        environment="execution policy",
        who="CloudFormation",
        principal=EXECUTION_ROLE,
        principal_account=ACCOUNT,
        request=Request("execution", action, resource, key_policy if key else None, context or {}),
        resource_account=ACCOUNT,
        expected=expected,
        identity_policies=tuple(documents.values()),
    )


def _statements(documents):
    return [statement for document in documents.values() for statement in document["Statement"]]


def _actions(statement) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_writes_outside_the_project_are_denied_and_the_projects_allowed(organization):
    """The organization config names an existing bucket, table and key: never CloudFormation's, though a template
    could import them."""
    documents = execution_policies(organization.config, ACCOUNT, REGION, "aws")
    key = "arn:aws:kms:eu-west-1:222222222222:key/"
    existing_key = next(
        d.bucket.kms_key for e in organization.config.environments for d in e.datasets if d.bucket and d.bucket.kms_key
    )
    cases = [
        ("s3:PutBucketPolicy", "arn:aws:s3:::payroll-data", {}, "deny"),
        ("s3:DeleteBucket", "arn:aws:s3:::payroll-data", {}, "deny"),
        ("s3:GetObject", "arn:aws:s3:::payroll-data/salaries.csv", {}, "deny"),
        ("s3:PutBucketPolicy", "arn:aws:s3:::corp-finance-data", {}, "deny"),  # an existing dataset's
        ("s3:PutBucketPolicy", f"arn:aws:s3:::cdk-orgshare-assets-{ACCOUNT}-{REGION}", {}, "deny"),
        ("s3:PutObject", f"arn:aws:s3:::cdk-orgshare-assets-{ACCOUNT}-{REGION}/x.zip", {}, "deny"),
        ("s3:PutBucketPolicy", "arn:aws:s3:::orgshare-prod-lake-222222222222-eu-west-1", {}, "allow"),
        # Lambda reads the function's code from the CDK's asset bucket with CloudFormation's credentials.
        ("s3:GetObject", f"arn:aws:s3:::cdk-orgshare-assets-{ACCOUNT}-{REGION}/x.zip", {}, "allow"),
        # Another key whose policy lets the account's IAM policies decide: nothing (the project's keys say so
        # themselves, below); an existing dataset's key is denied outright.
        ("kms:PutKeyPolicy", f"{key}1234", {}, "deny"),
        ("kms:ScheduleKeyDeletion", f"{key}1234", {}, "deny"),
        ("kms:CreateGrant", f"{key}1234", {}, "deny"),
        ("kms:Decrypt", f"{key}1234", {}, "deny"),
        ("kms:DisableKey", existing_key, {}, "deny"),
        ("kms:CreateKey", "*", {f"aws:RequestTag/{PROJECT_TAG}": "payroll"}, "deny"),
        ("kms:CreateKey", "*", {f"aws:RequestTag/{PROJECT_TAG}": "orgshare"}, "allow"),
        ("kms:CreateAlias", "arn:aws:kms:eu-west-1:222222222222:alias/payroll", {}, "deny"),
        ("kms:CreateAlias", "arn:aws:kms:eu-west-1:222222222222:alias/orgshare/prod/lake", {}, "allow"),
        ("dynamodb:PutResourcePolicy", "arn:aws:dynamodb:eu-west-1:222222222222:table/payroll", {}, "deny"),
        ("dynamodb:DeleteTable", "arn:aws:dynamodb:eu-west-1:222222222222:table/payroll", {}, "deny"),
        ("dynamodb:PutResourcePolicy", "arn:aws:dynamodb:eu-west-1:222222222222:table/finance-ledger", {}, "deny"),
        ("dynamodb:PutResourcePolicy", "arn:aws:dynamodb:eu-west-1:222222222222:table/orgshare-prod-lake", {}, "allow"),
        ("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:222222222222:function:payroll", {}, "deny"),
        ("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:222222222222:function:payroll", {}, "deny"),
        (
            "lambda:InvokeFunction",
            "arn:aws:lambda:eu-west-1:222222222222:function:orgshare-prod-canary-writer",
            {},
            "allow",
        ),
        ("logs:DeleteLogGroup", "arn:aws:logs:eu-west-1:222222222222:log-group:audit-trail", {}, "deny"),
        ("logs:PutResourcePolicy", "*", {}, "deny"),  # account-wide: never allowed
        ("ecs:DeleteCluster", "arn:aws:ecs:eu-west-1:222222222222:cluster/payments", {}, "deny"),
    ]
    verdicts = evaluate([_cell(documents, a, r, c, e) for a, r, c, e in cases])
    wrong = [f"{v.cell.action} {v.cell.resource} {v.cell.context()}: {v.result}" for v in verdicts if not v.as_expected]
    assert wrong == []


def test_each_key_of_the_stacks_lets_cloudformation_do_what_its_handlers_do_and_no_other_key_does(example):
    """Keys are fenced by their own policies: the execution policy allows CloudFormation no key action, and each
    dataset key's policy grants the account's execution role every KMS action a handler of the stacks calls on a key
    (KMS's own, DynamoDB's with the key, the aliases'). Checked against the handlers' documented permissions."""
    on_a_key = {a for a in kms_handler_actions(REGION) if resource_types(a) and "key" in (resource_types(a) or ())}
    assert on_a_key == set(KEY_ACTIONS)
    template = example.template_json(example.sharing("prod"))
    source = "444444444444"
    role = f"arn:aws:iam::{source}:role/{bootstrap_role('cfn-exec', source, REGION, qualifier='datashare')}"
    keys = resources(template, "AWS::KMS::Key").values()
    granted = [
        s
        for k in keys
        for s in k["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudFormationManagesTheKey"
    ]
    assert len(granted) == len(keys) == 4
    assert all(s["Principal"] == {"AWS": role} and sorted(s["Action"]) == sorted(KEY_ACTIONS) for s in granted)
    documents = execution_policies(example.config, source, REGION, "aws")
    ours = {"Version": "2012-10-17", "Statement": [granted[0]]}
    cells = []
    for action in KEY_ACTIONS:
        for policy, expected in ((ours, "allow"), (KEY_POLICY, "deny")):
            cell = _cell(documents, action, f"arn:aws:kms:{REGION}:{source}:key/1234", {}, expected, policy)
            cells.append(replace(cell, principal=role, principal_account=source, resource_account=source))
    wrong = [f"{v.cell.action} {v.cell.expected}: {v.result}" for v in evaluate(cells) if not v.as_expected]
    assert wrong == []


def test_without_the_fences_those_writes_would_be_allowed(organization, monkeypatch):
    """The test above fails without them: the handlers' actions are allowed on "*"."""
    import bootstrap.policies as policies

    monkeypatch.setattr(policies, "_fence_statements", lambda *args: [])
    documents = execution_policies(organization.config, ACCOUNT, REGION, "aws")
    (verdict,) = evaluate([_cell(documents, "s3:PutBucketPolicy", "arn:aws:s3:::corp-finance-data")])
    assert verdict.actual == "allow"


def test_every_fenced_action_is_still_allowed_on_the_projects_resources(example):
    """A fence that denied an action on the project's own resource type would fail that resource's deploy: each action
    a fence names is allowed on the project's resources of every type it fences."""
    project = example.config.project
    documents = execution_policies(example.config, ACCOUNT, REGION, "aws")
    fenced = {a for s in _statements(documents) if s["Effect"] == "Deny" and "NotResource" in s for a in _actions(s)}
    patterns = [p for ps in _fences(project, ACCOUNT, "aws").values() for p in ps]
    cells = []
    for action in sorted(fenced):
        types = resource_types(action)
        if not types:  # not in IAM's authorization data: no request is ever authorized by that name
            continue
        ours = [
            arn
            for arn in [
                a.replace(f"alias/{project}-x", f"alias/{project}/x")
                for a in project_arns(action, project, ACCOUNT, "aws")
            ]
            if any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), arn) for p in patterns)
        ]
        assert ours, f"{action}: none of its resource types {types} is one of the project's"
        cells += [_cell(documents, action, arn, {}, "allow") for arn in ours]
    verdicts = evaluate(cells)
    assert len(verdicts) > 150
    # IAM's data lists some of API Gateway's types as two ARNs in one (an HTTP API's and a REST API's authorizers,
    # comma-separated), which the evaluator cannot match a request to: it says so, and those cells are left out.
    unmatched = [v for v in verdicts if "no.resource.types" in str(v.result)]
    listed_twice = [
        re.compile(re.sub(r"\\\$\\\{[^}]+\\\}", "[^/]+", re.escape(form.strip())))
        for kind in _authorization_data("resourceTypes", "apigateway").values()
        if "," in kind["arn"]
        for form in kind["arn"].split(",")
    ]
    assert all(
        v.cell.action.startswith("apigateway:") and any(p.fullmatch(v.cell.resource) for p in listed_twice)
        for v in unmatched
    ), [(v.cell.action, v.cell.resource) for v in unmatched]
    wrong = [f"{v.cell.action} {v.cell.resource}: {v.result}" for v in verdicts if not v.as_expected]
    assert wrong == [f"{v.cell.action} {v.cell.resource}: {v.result}" for v in unmatched]


def test_a_service_no_fence_keeps_to_the_project_is_refused(monkeypatch):
    import bootstrap.policies as policies

    monkeypatch.setattr(policies, "STACK_RESOURCE_TYPES", (*STACK_RESOURCE_TYPES, "AWS::SQS::Queue"))
    with pytest.raises(UnfencedService, match=r"call sqs, which bootstrap/policies\.py does not keep"):
        check_fences(REGION)
    monkeypatch.setitem(policies.FENCES, "sqs", ("arn:{partition}:sqs:*:{account}:{project}-*",))
    check_fences(REGION)


def test_the_largest_set_still_fits_in_managed_policies(example, monkeypatch):
    """Resource types added for extensions grow the handlers' actions and the fences: the statements are packed into as
    many managed policies as they need, each within IAM's 6,144 characters, and within the role's ten."""
    import bootstrap.policies as policies

    base = execution_policies(example.config, ACCOUNT, REGION, "aws")
    extra = (
        "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Events::Rule", "AWS::StepFunctions::StateMachine",
        "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::Glue::Job", "AWS::Glue::Database",
    )  # fmt: skip
    monkeypatch.setattr(policies, "STACK_RESOURCE_TYPES", (*STACK_RESOURCE_TYPES, *extra))
    while True:  # a fence for each service they call, as an extension's author would add
        try:
            check_fences(REGION)
            break
        except UnfencedService as error:
            service = str(error).split(" call ")[1].split(",")[0].split(" ")[0]
            monkeypatch.setitem(
                policies.FENCES, service, (f"arn:{{partition}}:{service}:*:{{account}}:*{{project}}-*",)
            )
    grown = execution_policies(example.config, ACCOUNT, REGION, "aws")
    sizes = [len(json.dumps(d, separators=(",", ":"))) for d in grown.values()]
    assert sum(sizes) > sum(len(json.dumps(d, separators=(",", ":"))) for d in base.values()), sizes
    assert all(size <= MANAGED_POLICY_CHARACTERS for size in sizes) and len(sizes) <= 10, sizes
