"""Acknowledging a security finding: always with the reason, next to the construct it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, findings: Mapping[str, str]) -> None:
    """`findings` maps each finding to its reason. A finding is a cdk-nag rule id, with the finding in
    brackets where a rule reports several (AwsSolutions-IAM5[Resource::...]).

    One call per construct: every call crosses to the CDK's JavaScript process, and consumer stacks are
    built a thousand times."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding, reason in findings.items())
    )
