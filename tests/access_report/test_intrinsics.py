from __future__ import annotations

import pytest

from access_report.intrinsics import Resolver, Unresolvable

TEMPLATE = {
    "Parameters": {"Trusted": {"Type": "CommaDelimitedList", "Default": ""}, "Qualifier": {"Default": "hnb659fds"}},
    "Conditions": {
        "HasTrusted": {"Fn::Not": [{"Fn::Equals": ["", {"Fn::Join": ["", {"Ref": "Trusted"}]}]}]},
        "Both": {"Fn::And": [{"Condition": "HasTrusted"}, {"Fn::Equals": ["hnb659fds", {"Ref": "Qualifier"}]}]},
    },
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "shared"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    },
}


def _resolver(**parameters) -> Resolver:
    return Resolver(TEMPLATE, "222222222222", "eu-west-1", parameters=parameters, where="t")


def test_arns_of_named_and_unnamed_resources():
    r = _resolver()
    assert r.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == "arn:aws:s3:::shared"
    assert r.resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "arn:aws:iam::222222222222:role/Role"
    assert r.resolve({"Fn::GetAtt": ["Key", "Arn"]}) == "arn:aws:kms:eu-west-1:222222222222:key/stand-in-Key"


def test_join_sub_and_pseudo_parameters():
    r = _resolver()
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    assert r.resolve(joined) == "arn:aws:iam::222222222222:root"
    assert r.resolve({"Fn::Sub": "cdk-${Qualifier}-deploy-role-${AWS::AccountId}-${AWS::Region}"}) == (
        "cdk-hnb659fds-deploy-role-222222222222-eu-west-1"
    )
    assert r.resolve({"Fn::Sub": ["${B}/*", {"B": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}) == "arn:aws:s3:::shared/*"


def test_conditions_choose_branches_and_no_value_disappears():
    statement = {"Fn::If": ["Both", {"Principal": {"AWS": {"Ref": "Trusted"}}}, {"Ref": "AWS::NoValue"}]}
    assert _resolver().resolve([statement, "kept"]) == ["kept"]
    assert _resolver(Trusted=["111111111111"]).resolve([statement]) == [{"Principal": {"AWS": ["111111111111"]}}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::ImportValue": "x"}, "Fn::ImportValue is not supported"),
        ({"Ref": "Missing"}, "Ref to unknown Missing"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "Ref to Queue .AWS::SQS::Queue. has no known physical id"),
        ({"Fn::GetAtt": ["Bucket", "DomainName"]}, "Fn::GetAtt Bucket.DomainName is not supported"),
    ],
)
def test_what_cannot_be_resolved_is_an_error(value, message):
    with pytest.raises(Unresolvable, match=message):
        _resolver().resolve({"Resource": value})
