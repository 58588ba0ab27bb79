"""Acknowledging a security finding: always with the reason, next to the construct it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Aws, Validations
from constructs import IConstruct

# How cdk-nag writes the pseudo parameters in a finding (a stack of a StackSet learns its account only when deployed).
PSEUDO_PARAMETERS = {Aws.ACCOUNT_ID: "<AWS::AccountId>", Aws.REGION: "<AWS::Region>", Aws.PARTITION: "<AWS::Partition>"}


def acknowledge(construct: IConstruct, findings: Mapping[str, str]) -> None:
    """`findings` maps each finding to its reason. A finding is a cdk-nag rule id, with the finding in
    brackets where a rule reports several (AwsSolutions-IAM5[Resource::...]).

    One call per construct: every call crosses to the CDK's JavaScript process, and consumer stacks are
    built a thousand times."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=as_named(finding), reason=reason) for finding, reason in findings.items())
    )


def as_named(finding: str) -> str:
    """A finding as cdk-nag names it: the account and region, where they are the stack's tokens, by their names."""
    for token, name in PSEUDO_PARAMETERS.items():
        finding = finding.replace(token, name)
    return finding
