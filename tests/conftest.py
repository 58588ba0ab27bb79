"""Each app is synthesized once per test run: session-scoped fixtures shared by every test."""

from __future__ import annotations

import os

import pytest

from config import load_config
from config.loader import parse_config
from tests.synth import ROOT, Synthesized, synthesize

# Tests never reach AWS: any client built without moto fails instead of using real credentials.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.pop("AWS_PROFILE", None)

EXAMPLE = ROOT / "config" / "example.yaml"

# The other modes: grants by organization, and the table shared through its own resource policy.
ORGANIZATION_CONFIG = """
project: orgshare
tooling: {account: "111111111111", region: eu-west-1}
repository: {codecommit_repository: data-sharing, branch: main}
organization_id: o-abcdefghij
consumer_image: public.ecr.aws/example/consumer:1.0
environments:
  - name: prod
    approval: true
    source: {account: "222222222222", region: eu-west-1}
    consumers:
      - {name: analytics, account: "333333333333", region: eu-west-1}
      - {name: reporting, account: "444444444444", region: eu-west-1}
    share: {bucket: read, table: read-write, table_access: resource-policy}
"""


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(load_config(EXAMPLE), tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="session")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(parse_config(ORGANIZATION_CONFIG), tmp_path_factory.mktemp("organization"))
