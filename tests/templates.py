"""Looking things up in synthesized templates (plain JSON dicts), shared by the template tests: what the checks
read with (checks/templates.py), and what only the tests ask."""

from __future__ import annotations

from typing import Any

from checks.templates import Template, resources

__all__ = ["Template", "by_sid", "inline_statements", "only", "resources", "role_named"]


def only(template: Template, kind: str) -> dict[str, Any]:
    found = list(resources(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement.get("Sid", f"#{i}"): statement for i, statement in enumerate(document["Statement"])}


def role_named(template: Template, name: str) -> str:
    """The logical id of the role with that physical name."""
    (logical_id,) = [
        k for k, r in resources(template, "AWS::IAM::Role").items() if r["Properties"].get("RoleName") == name
    ]
    return logical_id


def inline_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Statements of the AWS::IAM::Policy resources attached to a role."""
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
