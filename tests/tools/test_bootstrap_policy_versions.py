"""make bootstrap keeps the project's policies as the project writes them: created with their description, given a
new default version when they differ, and never past IAM's five versions."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from tools.operator.bootstrap import _ensure_policy

NAME = "my-proj-cdk-execution"  # a project name with a hyphen
ARN = f"arn:aws:iam::123456789012:policy/{NAME}"


def _document(action: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


def _default(iam) -> dict:
    version = iam.get_policy(PolicyArn=ARN)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=ARN, VersionId=version)["PolicyVersion"]["Document"]
    return document if isinstance(document, dict) else json.loads(document)


def test_created_then_updated_in_place_within_five_versions():
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        iam = session.client("iam")
        _ensure_policy(session, NAME, _document("s3:GetObject"))
        policy = iam.get_policy(PolicyArn=ARN)["Policy"]
        assert policy["Description"].startswith("What CloudFormation may do for the data-sharing stacks")
        _ensure_policy(session, NAME, _document("s3:GetObject"))  # the same: nothing to do
        assert len(iam.list_policy_versions(PolicyArn=ARN)["Versions"]) == 1
        for index in range(6):
            _ensure_policy(session, NAME, _document(f"s3:Action{index}"))
        assert _default(iam) == _document("s3:Action5")
        assert len(iam.list_policy_versions(PolicyArn=ARN)["Versions"]) == 5
