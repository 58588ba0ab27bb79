"""Property: for random datasets and random grants of them to consumers, the synthesized stacks pass every check
(cdk-nag, quotas) and the access report, evaluated on their real policies, finds each consumer able to reach exactly
the datasets the config gives it, at exactly that access, and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access_report.engine import evaluate
from access_report.inputs import Inputs
from access_report.matrix import build
from config.loader import parse_config
from pipeline.app import synthesize

WRITES = {"s3:PutObject", "s3:DeleteObject", "dynamodb:PutItem", "dynamodb:DeleteItem", "kms:GenerateDataKey"}
ACCOUNTS = ["333333333333", "444444444444", "555555555555"]

buckets = st.sampled_from([None, {}, {"prefix": "raw/"}, {"existing": "corp-lake", "prefix": "team/"}])
tables = st.sampled_from([None, {}, {"access": "resource-policy"}, {"existing": "corp-ledger"}])


@st.composite
def lakes(draw) -> str:
    datasets = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        bucket, table = draw(buckets), draw(tables)
        if bucket is None and table is None:
            bucket = {}
        if bucket and "existing" in bucket:
            bucket = {**bucket, "prefix": f"team{index}/"}  # disjoint prefixes of the one existing bucket
        if table and "existing" in table:
            table = {"existing": f"corp-ledger-{index}"}
        datasets.append({"name": f"d{index}", **({"bucket": bucket} if bucket is not None else {}),
                         **({"table": table} if table is not None else {})})  # fmt: skip
    consumers = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        given_ = draw(st.lists(st.sampled_from([d["name"] for d in datasets]), min_size=1, unique=True))
        grants = {name: draw(st.sampled_from(["read", "read-write"])) for name in given_}
        consumers.append(
            {
                "name": f"c{index}",
                "account": ACCOUNTS[index],
                "region": "eu-west-1",
                "grants": grants,
                **({"roles": ["etl"]} if draw(st.booleans()) else {}),
            }
        )
    for dataset in datasets:  # every dataset granted to someone
        if not any(dataset["name"] in c["grants"] for c in consumers):
            consumers[0]["grants"][dataset["name"]] = "read"
    config = {
        "project": "prop",
        "tooling": {"account": "111111111111", "region": "eu-west-1"},
        "repository": {"codecommit_repository": "data-sharing"},
        "consumer_image": "public.ecr.aws/example/consumer:1.0",
        **({"organization_id": "o-abcdefghij"} if draw(st.booleans()) else {}),
        "environments": [
            {
                "name": "prod",
                "source": {"account": "222222222222", "region": "eu-west-1"},
                "datasets": datasets,
                "consumers": consumers,
            }
        ],
    }
    return yaml.dump(config, Dumper=_Plain)


class _Plain(yaml.SafeDumper):
    """No anchors and aliases for values that repeat: the loader refuses them."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _observed(verdicts, consumer: str, dataset: str) -> str | None:
    """What the evaluation lets the consumer's function role do with the dataset (itself, or through its source
    role): None, read or read-write."""
    cells = [
        o
        for o in verdicts
        if o.cell.dataset == dataset
        and o.actual == "allow"
        and (o.cell.who == f"{consumer} function role" or o.cell.who == f"{consumer} source role")
        and o.cell.action != "sts:AssumeRole"
    ]
    if not cells:
        return None
    return "read-write" if any(o.cell.action in WRITES for o in cells) else "read"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lakes())
def test_random_grants_synthesize_and_the_evaluation_allows_exactly_what_the_config_gives(text):
    config = parse_config(text)
    with tempfile.TemporaryDirectory() as outdir:
        synthesized = synthesize(config, Path(outdir))  # raises on any cdk-nag or quota finding
        verdicts = evaluate(build(Inputs.from_synthesized(synthesized)))
    assert [o.cell.name for o in verdicts if not o.as_expected] == []
    (environment,) = config.environments
    for consumer in environment.consumers:
        for dataset in environment.datasets:
            assert _observed(verdicts, consumer.name, dataset.name) == consumer.access_to(dataset.name), (
                consumer.name,
                dataset.name,
            )
