"""Broken grants fail the rehearsal's test step with the refusal named: the example deployed once on the enforced
emulator, each grant broken in the emulated accounts as an out-of-band edit would, the step run again for the
consumer it concerns, then the grant restored. The unbroken example passes first."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from access_report import policies
from config import DEFAULT_CONFIG, load_config
from config.naming import Names, permissions_boundary_name
from tests.conftest import EXAMPLE
from tools.rehearsal.runner import Rehearsal
from tools.rehearsal.waves import WaveRun

pytestmark = pytest.mark.e2e

SOURCE, ANALYTICS, REPORTING = "444444444444", "555555555555", "666666666666"
Change = Callable[[dict[str, Any]], dict[str, Any]]


class Deployed:
    def __init__(self, rehearsal: Rehearsal, wave: WaveRun) -> None:
        self.rehearsal, self.wave = rehearsal, wave
        self.waves: list[WaveRun] = [wave]
        self.config = rehearsal.config
        self.prod = next(e for e in self.config.environments if e.name == "prod")
        self.names = Names.of(self.config, self.prod)

    def session(self, account: str) -> Any:
        region = "eu-central-1" if account == REPORTING else "eu-west-1"
        return self.rehearsal.emulator.administrator(account).session(region)

    def prove(self, consumer: str) -> tuple[bool, str]:
        return self.rehearsal.prove_again(self.wave, {consumer})

    def bucket(self, dataset: str) -> str:
        return self.names.dataset(next(d for d in self.prod.datasets if d.name == dataset)).bucket


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    rehearsal = Rehearsal(
        config=load_config(EXAMPLE),
        config_path=DEFAULT_CONFIG,
        outdir=tmp_path_factory.mktemp("broken") / "cdk.out",
        approve=True,
        destroy=False,
        out=io.StringIO(),
    )
    waves = rehearsal._synth()
    with rehearsal.accounts(waves):
        for wave in waves:
            rehearsal._wave(wave)  # the unbroken example: every step passes (a Stop would fail the fixture)
        found = Deployed(rehearsal, next(w for w in waves if any(t.name == "Prove-prod" for t in w.tests)))
        found.waves = waves
        yield found


def _without_account(document: dict[str, Any], account: str) -> dict[str, Any]:
    """The policy without any statement naming the account (its principals, or conditions on its roles)."""
    kept = [
        s for s in document["Statement"] if account not in json.dumps({k: v for k, v in s.items() if k != "Resource"})
    ]
    return {**document, "Statement": kept}


def _denied(out: str, who: str, action: str, resource: str) -> bool:
    return f"assumed-role/{who}" in out and f"is not authorized to perform: {action} on resource: {resource}" in out


def test_the_unbroken_example_proves_every_grant_and_refusal(deployed):
    ok, out = deployed.prove("reporting")
    assert ok, out
    assert "PASS  reporting (task): sales read, reference read; refused events, lake-curated, lake-raw, orders" in out


def test_the_emulator_holds_the_policies_the_templates_define(deployed):
    """What the enforcement decides by is what the stacks deploy: every bucket policy, role trust, permissions
    boundary and inline role policy of every deployed template, resolved, equals what the emulated account holds
    (documents that name a key are left out: the resolver names keys by stand-in ids, moto by random ones)."""
    compared = 0
    for stack in {s.stack_name: s for wave in deployed.waves for s in wave.stacks}.values():
        session = deployed.rehearsal.emulator.administrator(stack.account).session(stack.region)
        body = session.client("cloudformation").get_template(StackName=stack.stack_name)["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else json.loads(json.dumps(body))
        resolve = policies.resolver(template, stack.account, stack.region, stack.stack_name)
        iam, s3 = session.client("iam"), session.client("s3")
        for logical_id, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::S3::BucketPolicy":
                bucket = resolve.resolve(properties["Bucket"], logical_id)
                held = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
                assert held == resolve.resolve(properties["PolicyDocument"], logical_id), (stack.stack_name, bucket)
                compared += 1
            elif resource["Type"] == "AWS::IAM::Role" and "RoleName" in properties:
                role = iam.get_role(RoleName=resolve.resolve(properties["RoleName"], logical_id))["Role"]
                assert role["AssumeRolePolicyDocument"] == resolve.resolve(properties["AssumeRolePolicyDocument"], "")
                boundary = resolve.resolve(properties.get("PermissionsBoundary"), logical_id)
                assert role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == boundary, role["RoleName"]
                compared += 1
            elif resource["Type"] == "AWS::IAM::Policy":
                document = resolve.resolve(properties["PolicyDocument"], logical_id)
                if "stand-in-" in json.dumps(document):
                    continue
                for role in properties.get("Roles", []):
                    name = resolve.resolve(role, logical_id)
                    held = iam.get_role_policy(RoleName=name, PolicyName=properties["PolicyName"])["PolicyDocument"]
                    assert held == document, (stack.stack_name, name, properties["PolicyName"])
                    compared += 1
    assert compared > 40


def test_a_consumer_role_missing_from_the_buckets_policy_fails_with_the_refusal_named(deployed):
    with _bucket_policy(deployed, "sales", lambda document: _without_account(document, REPORTING)):
        ok, out = deployed.prove("reporting")
    assert not ok
    bucket = deployed.bucket("sales")
    assert _denied(out, "datashare-prod-consumer-task/", "s3:ListBucket", f"arn:aws:s3:::{bucket}"), out
    assert "STOPPED: test step Prove-prod failed for reporting" in out


def test_a_key_policy_without_the_consumer_fails_its_reads_through_s3(deployed):
    source = deployed.session(SOURCE)
    bucket = deployed.bucket("sales")
    rule = source.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    key = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    kms = source.client("kms")
    with _changed(
        lambda: json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]),
        lambda document: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(document)),
        lambda document: _without_account(document, REPORTING),
    ):
        ok, out = deployed.prove("reporting")
    assert not ok
    assert "sales: read-object: AccessDenied" in out and "is not authorized to perform: kms:Decrypt on resource" in out


def test_a_proof_role_trusting_another_role_refuses_the_step(deployed):
    iam = deployed.session(REPORTING).client("iam")
    role = "datashare-prod-pipeline-proof"
    with _changed(
        lambda: iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
        lambda document: iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(document)),
        lambda document: json.loads(json.dumps(document).replace("datashare-prod-proof-step-1", "someone-else")),
    ):
        ok, out = deployed.prove("reporting")
    assert not ok
    assert _denied(out, "datashare-prod-proof-step-1/", "sts:AssumeRole", f"arn:aws:iam::{REPORTING}:role/{role}"), out


@contextlib.contextmanager
def _changed(
    read: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], Any], change: Change
) -> Iterator[None]:
    """A policy changed for the block, as an out-of-band edit would, then restored."""
    original = read()
    write(change(original))
    try:
        yield
    finally:
        write(original)


def _bucket_policy(deployed: Deployed, dataset: str, change: Change) -> contextlib.AbstractContextManager[None]:
    s3 = deployed.session(SOURCE).client("s3")
    bucket = deployed.bucket(dataset)
    return _changed(
        lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]),
        lambda document: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document)),
        change,
    )


def _managed_policy(
    deployed: Deployed, account: str, name: str, change: Change
) -> contextlib.AbstractContextManager[None]:
    """A managed policy of the account, changed by a new default version."""
    iam = deployed.session(account).client("iam")
    arn = f"arn:aws:iam::{account}:policy/{name}"

    def read() -> dict[str, Any]:
        default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]["Document"]
        return json.loads(document) if isinstance(document, str) else dict(document)

    def write(document: dict[str, Any]) -> None:
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)

    return _changed(read, write, change)


def _added(statement: dict[str, Any]) -> Change:
    return lambda document: {**document, "Statement": [*document["Statement"], statement]}


def test_a_dataset_leaked_to_a_consumer_not_given_it_fails_its_refusal(deployed):
    """Both sides grant reporting the events bucket, which the config does not give it: its refusal check fails."""
    roles = [f"arn:aws:iam::{REPORTING}:role/datashare-prod-consumer-{r}" for r in ("function", "task")]
    leak = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{deployed.bucket('events')}"}
    shared = deployed.names.shared_data_policy
    with (
        _bucket_policy(deployed, "events", _added({**leak, "Principal": {"AWS": roles}})),
        _managed_policy(deployed, REPORTING, shared, _added(leak)),
    ):
        ok, out = deployed.prove("reporting")
    assert not ok
    assert "events: refused list-objects as own role: allowed: a dataset not given to this consumer answered" in out


def _without_prefix_conditions(document: dict[str, Any]) -> dict[str, Any]:
    statements = []
    for statement in document["Statement"]:
        condition = {
            k: {n: v for n, v in c.items() if n != "s3:prefix"} for k, c in statement.get("Condition", {}).items()
        }
        condition = {k: c for k, c in condition.items() if c}
        statements.append(
            {
                **{k: v for k, v in statement.items() if k != "Condition"},
                **({"Condition": condition} if condition else {}),
            }
        )
    return {**document, "Statement": statements}


def test_a_prefix_widened_on_both_sides_fails_the_check_of_the_rest_of_the_bucket(deployed):
    shared = deployed.names.shared_data_policy
    with (
        _bucket_policy(deployed, "events", _without_prefix_conditions),
        _managed_policy(deployed, ANALYTICS, shared, _without_prefix_conditions),
    ):
        ok, out = deployed.prove("analytics")
    assert not ok
    assert "events: refused list-outside-prefix: allowed: a dataset not given to this consumer answered" in out


def test_a_boundary_that_forbids_what_a_workload_needs_fails_with_the_refusal_named(deployed):
    def without_reads(document: dict[str, Any]) -> dict[str, Any]:
        def statement(s: dict[str, Any]) -> dict[str, Any]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            return {**s, "Action": [a for a in actions if a != "s3:GetObject"] or ["s3:GetBucketLocation"]}

        return {**document, "Statement": [statement(s) if s["Effect"] == "Allow" else s for s in document["Statement"]]}

    with _managed_policy(deployed, REPORTING, permissions_boundary_name(deployed.config), without_reads):
        ok, out = deployed.prove("reporting")
    assert not ok
    assert "sales: read-object: AccessDenied" in out and "is not authorized to perform: s3:GetObject" in out


def _api(deployed: Deployed) -> tuple[Any, str]:
    """The API Gateway client of the source account, and the id of the example's API."""
    client = deployed.session(SOURCE).client("apigateway")
    (api,) = [a["id"] for a in client.get_rest_apis()["items"] if a["name"] == "datashare-prod-orders"]
    return client, api


def _api_policy(deployed: Deployed, change: Change) -> contextlib.AbstractContextManager[None]:
    client, api = _api(deployed)
    return _changed(
        lambda: json.loads(client.get_rest_api(restApiId=api)["policy"]),
        lambda document: client.update_rest_api(
            restApiId=api, patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(document)}]
        ),
        change,
    )


def test_the_apis_calls_are_decided_by_its_policy_and_the_callers(deployed):
    """The unbroken example: the reader's write and a consumer not given the API were refused by the enforcement (the
    writer nothing), with API Gateway's answer."""
    _, api = _api(deployed)
    enforcer = deployed.rehearsal.emulator.enforcer
    assert enforcer is not None
    refusals = {
        (r.caller.split(":")[4], r.caller.split("/")[1], r.resource.split(f"{api}/live/")[1].split("/")[0])
        for r in enforcer.refusals
        if r.action == "execute-api:Invoke"
    }
    assert (ANALYTICS, "datashare-prod-consumer-function", "PUT") in refusals  # a reader's write
    assert (REPORTING, "datashare-prod-consumer-task", "GET") in refusals  # a consumer not given it
    assert not any(account == "777777777777" for account, _, _ in refusals)  # the writer: nothing refused
    ok, out = deployed.prove("analytics")
    assert ok and "orders read (its writes refused)" in out, out


def test_a_reader_missing_from_the_apis_policy_fails_with_the_refusal_named(deployed):
    _, api = _api(deployed)
    with _api_policy(deployed, lambda document: _without_account(document, ANALYTICS)):
        ok, out = deployed.prove("analytics")
    assert not ok
    resource = f"arn:aws:execute-api:eu-west-1:{SOURCE}:{api}/live/GET/items/__consumer-self-check__.absent"
    assert _denied(out, "datashare-prod-consumer-task/", "execute-api:Invoke", resource), out
    assert "orders: call-api: AccessDenied" in out


def test_a_reader_given_the_apis_writes_fails_its_refusal(deployed):
    """The write statement widened to the reader's account, and its identity policy given PUT: its write answers."""
    _, api = _api(deployed)

    def widened(document: dict[str, Any]) -> dict[str, Any]:
        statements = {s["Sid"]: s for s in document["Statement"]}
        statements["ConsumersWriteApi"]["Principal"] = statements["ConsumersReadApi"]["Principal"]
        return {**document, "Statement": list(statements.values())}

    put = f"arn:aws:execute-api:eu-west-1:{SOURCE}:{api}/live/PUT/items/*"
    with (
        _api_policy(deployed, widened),
        _managed_policy(
            deployed, ANALYTICS, deployed.names.shared_data_policy,
            _added({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": put}),
        ),
    ):  # fmt: skip
        ok, out = deployed.prove("analytics")
    assert not ok
    assert "orders: refused write-api: allowed: a dataset not given to this consumer answered" in out
