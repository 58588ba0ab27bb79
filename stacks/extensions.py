"""Your own workloads in a consumer's stage: a Glue job, a Step Functions state machine, a function of yours that
reads the datasets the consumer is given.

Register a function under a workload's name, list that name in the consumer's `workloads` in the config, and the
consumer stack calls it with itself. Give the workload its role with one call, `stack.workload_role(name, service)`:
the same as the demo function's and task's, PROJECT-ENV-consumer-NAME with the consumer's datasets, which every
grant of those datasets in the source account admits (by that exact ARN, in the consumer's account only).

    @extension("nightly-export")
    def nightly_export(stack: ConsumerStack) -> None:
        role = stack.workload_role("nightly-export", "lambda.amazonaws.com")
        lambda_.Function(stack, "NightlyExport", role=role, ...)

The roles the project writes carry its permissions boundary (make bootstrap), which allows the datasets and little
else; and the bootstrap execution policy lets CloudFormation create only the resource types the stacks use
(config/bootstrap_policies.py): a workload of another type (AWS::Glue::Job, AWS::StepFunctions::StateMachine)
needs its type added there, then make bootstrap (a synth check names any type it lacks). An action the workload needs
beyond the datasets goes into EXTENSION_BOUNDARY there (a synth check names any action the boundary lacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.model import Config
    from stacks.consumer_stack import ConsumerStack

Extension = Callable[["ConsumerStack"], None]

# workload name -> the function that adds it to a consumer stack
EXTENSIONS: dict[str, Extension] = {}


def extension(name: str) -> Callable[[Extension], Extension]:
    """Registers the decorated function as the workload `name`."""

    def register(build: Extension) -> Extension:
        EXTENSIONS[name] = build
        return build

    return register


class ExtensionError(Exception):
    """A workload the config names that no extension adds, or one that does not give itself its role; the message
    says which and how to fix it."""


def check_registered(config: Config) -> None:
    """Every workload the config lists has its extension: told before the CDK builds anything (or stages an asset)."""
    for environment in config.environments:
        for consumer in environment.consumers:
            for workload in consumer.workloads:
                if workload not in EXTENSIONS:
                    raise ExtensionError(
                        f"{consumer.name}'s workloads list {workload!r}, but no extension of that name is registered "
                        "(stacks/extensions.py)"
                    )


# Your extensions: define them here, or import the modules that do.
