"""Acknowledging a security finding: always with the reason, next to the construct it concerns."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """`finding` is a cdk-nag rule id, with the finding in brackets where a rule reports several
    (AwsSolutions-IAM5[Resource::...])."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))
