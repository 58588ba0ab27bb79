"""The CDK's built-in CloudFormation validation, run once per family of stacks built alike.

The CDK validates every synthesized template against the CloudFormation resource schemas and its default
rules (`@aws-cdk/core:validateAgainstDefaultRules` makes their findings errors). That costs about 35 ms per
template: 35 s for a thousand consumer stacks. But the consumer stacks of one environment and region are
built by the same code from the same inputs; they differ only in the consumer's account id and name, which the
config model has already validated. So one stack of each family is validated, together with every stack that
belongs to no family (the pipeline, the sharing stacks).

This is a subclass of the CDK's own plugin, registered on the App: the CDK then neither registers its default
instance nor treats the findings differently (same plugin name, same severity handling, same
acknowledgements).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from functools import cache

import jsii
from aws_cdk import (
    CloudFormationValidatePlugin,
    IPolicyValidationContext,
    PolicyValidationPluginReport,
    PolicyValidationStack,
    Validations,
)
from constructs import IConstruct


@jsii.implements(IPolicyValidationContext)
class _Selection:
    """The context the CDK passed, narrowed to some of its stacks."""

    def __init__(self, context: IPolicyValidationContext, stacks: Sequence[PolicyValidationStack]) -> None:
        self._app = context.app_construct
        self._stacks = list(stacks)

    @property
    def app_construct(self) -> IConstruct:
        return self._app

    @property
    def stack_templates(self) -> list[PolicyValidationStack]:
        return self._stacks

    @property
    def template_paths(self) -> list[str]:
        return [stack.template_path for stack in self._stacks]

    @property
    def account_id(self) -> str | None:
        return None

    @property
    def region(self) -> str | None:
        return None


class FamilyTemplateValidation(CloudFormationValidatePlugin):
    """One instance per process, registered on every App: each instance loads its own validation engine
    (WebAssembly, about 2 s and 100 MB that jsii never frees), so the families are kept per App."""

    def __init__(self) -> None:
        super().__init__()
        # App -> stack construct path -> family
        self._families: weakref.WeakKeyDictionary[IConstruct, dict[str, str]] = weakref.WeakKeyDictionary()

    def add_to_family(self, app: IConstruct, stack_path: str, family: str) -> None:
        """Stacks of one family are built by the same code from the same inputs but their account and name."""
        self._families.setdefault(app, {})[stack_path] = family

    def select(self, app: IConstruct, stacks: Sequence[PolicyValidationStack]) -> list[PolicyValidationStack]:
        """Every stack without a family, and the first stack of each family."""
        families = self._families.get(app, {})
        seen: set[str] = set()
        selected = []
        for stack in stacks:
            family = families.get(stack.stack_construct_path)
            if family is None or family not in seen:
                selected.append(stack)
            if family is not None:
                seen.add(family)
        return selected

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        selected = self.select(context.app_construct, context.stack_templates)
        return super().validate(_Selection(context, selected))


@cache
def _the_plugin() -> FamilyTemplateValidation:
    return FamilyTemplateValidation()


def template_validation(app: IConstruct) -> FamilyTemplateValidation | None:
    """The process's plugin, registered on `app`; None where validation is turned off as the CDK allows
    (`CDK_VALIDATION=false`, which `cdk synth --no-validation` sets)."""
    if os.environ.get("CDK_VALIDATION") == "false":
        return None
    plugin = _the_plugin()
    # On the App: the CDK accepts its CloudFormation plugin nowhere else.
    Validations.of(app).add_plugins(plugin)
    return plugin
