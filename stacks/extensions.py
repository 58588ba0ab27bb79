"""The registry of your own workloads (a Glue job, a Step Functions state machine, a function of yours that reads the
datasets a consumer is given). The workloads themselves live in extensions/ (its __init__.py imports them, and
extensions/nightly_export/ is the example to start from): each registers a function under the workload's name with
@extension, and a consumer that lists that name in its `workloads` in the config gets it in its stack.

The function is called with the consumer stack (stacks/consumer_stack.py ConsumerStack). Its one call to be granted
the consumer's datasets is `stack.workload_role(name, service)`, the role PROJECT-ENV-consumer-NAME, which every grant
of those datasets admits by that exact ARN; `stack.workload_name(name)` names its other resources under the project's
prefix, as the bootstrap execution policy requires (bootstrap/policies.py FENCES).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from config.loader import ConfigError

if TYPE_CHECKING:
    from config.model import Config, Consumer

# Called with the ConsumerStack (not named here: the stack module imports this one).
Extension = Callable[[Any], None]
Build = TypeVar("Build", bound=Extension)

# workload name -> the function that adds it to a consumer stack
EXTENSIONS: dict[str, Extension] = {}


def extension(name: str) -> Callable[[Build], Build]:
    """Registers the decorated function as the workload `name`."""

    def register(build: Build) -> Build:
        EXTENSIONS[name] = build
        return build

    return register


class ExtensionError(ConfigError):
    """A workload the config names that no extension adds, or one that does not give itself its role; the message
    says which and how to fix it."""


def registered(consumer: Consumer, workload: str) -> Extension:
    """The extension that adds a workload the consumer lists; ExtensionError where none is registered."""
    build = EXTENSIONS.get(workload)
    if build is None:
        raise ExtensionError(
            f"{consumer.name}'s workloads list {workload!r}, but no extension of that name is registered (define it "
            "in extensions/ and import it in extensions/__init__.py)"
        )
    return build


def check_registered(config: Config) -> None:
    """Every workload the config lists has its extension: told before the CDK builds anything (or stages an asset)."""
    for environment in config.environments:
        for consumer in environment.consumers:
            for workload in consumer.workloads:
                registered(consumer, workload)
