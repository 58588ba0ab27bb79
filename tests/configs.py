"""Configs the tests write: the lines every small config of theirs starts with, up to its environments."""

from __future__ import annotations

HEADER = """
project: {project}
tooling: {{account: "111111111111", region: eu-west-1}}
repository: {{codecommit_repository: data-sharing}}
consumer_image: public.ecr.aws/example/consumer:1.0
environments:
"""


def config_text(project: str, environments: str) -> str:
    """A config of that project, its tooling account and repository the tests' own, and these environments (YAML
    list items, indented by two spaces)."""
    return HEADER.format(project=project) + environments
