"""The consumer's data access and self-check, run against moto in two accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from consumer_app import __main__ as task_main
from consumer_app import handler as lambda_handler
from consumer_app.self_check import run
from consumer_app.settings import Settings, SettingsError
from consumer_app.shared_data import Dataset, SharedData
from tests.runtime.conftest import (
    BUCKET,
    CANARY,
    CONSUMER,
    EVENTS,
    EVENTS_BUCKET,
    EVENTS_PREFIX,
    FINANCE,
    LEDGER,
    REGION,
    SALES,
    SOURCE,
    TABLE,
    table_arn,
)
from tools.rehearsal.emulator import mend_tables_by_arn


def _data(accounts, datasets=None, refused=None, **overrides) -> SharedData:
    settings = Settings.from_environment(accounts.environment(datasets, refused, **overrides))
    return SharedData(settings, own_session=accounts.consumer)


def _checks(result) -> dict[str, dict]:
    return {
        f"{check['dataset']}: {check['name']}" if check["dataset"] else check["name"]: check
        for check in result["checks"]
    }


def test_self_check_proves_each_given_dataset_by_its_canary_and_a_refusal_for_each_other(accounts):
    accounts.source.client("s3").put_object(Bucket=BUCKET, Key="a-user-file.csv", Body=b"x" * 10)
    checks = _checks(run(_data(accounts)))
    assert list(checks) == [
        "assume-source-role",
        "sales: list-objects", "sales: read-object", "sales: describe-table", "sales: read-table",
        "events: list-objects", "events: read-object", "events: refused list-outside-prefix",
        "secret: refused list-objects as own role", "secret: refused read-object as own role",
        "secret: refused list-objects as source role", "secret: refused read-object as source role",
    ]  # fmt: skip
    assert all(check["ok"] for name, check in checks.items() if "refused" not in name), checks
    # Given a prefix, the rest of the bucket is to be refused (moto answers it: the check fails here, as below).
    assert checks["events: refused list-outside-prefix"]["refusal"] is True
    assert f":{SOURCE}:assumed-role/datashare-prod-source-analytics/" in checks["assume-source-role"]["detail"]
    assert checks["sales: read-object"]["detail"] == f"read the canary {CANARY} (11 bytes, decrypted through S3)"
    assert checks["sales: read-table"]["detail"] == "read the canary item"
    assert checks["events: read-object"]["detail"].startswith(f"read the canary {EVENTS_PREFIX}{CANARY} ")
    # moto enforces no policy: what AWS refuses, it answers; the check says so and fails (the step counts it apart).
    refusal = checks["secret: refused list-objects as own role"]
    assert refusal["refusal"] is True and refusal["ok"] is False
    assert refusal["detail"] == "allowed: a dataset not given to this consumer answered"


def test_a_refusal_passes_only_on_access_denied(accounts, monkeypatch):
    def denied(self, **_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    monkeypatch.setattr(Dataset, "list_keys", denied)
    checks = _checks(run(_data(accounts, datasets=[SALES])))
    assert checks["secret: refused list-objects as own role"] == {
        "name": "refused list-objects as own role",
        "ok": True,
        "detail": "refused: AccessDenied",
        "dataset": "secret",
        "refusal": True,
    }
    # Any other error is no proof of a refusal.
    missing = _checks(run(_data(accounts, datasets=[SALES], refused=[{"n": "gone", "b": "no-such-bucket-x"}])))
    assert "expected AccessDenied, got NoSuchBucket" in missing["gone: refused read-object as own role"]["detail"]


def test_a_grant_that_has_ended_is_checked_as_refused_and_so_is_the_source_role_once_all_it_served_have(
    accounts, monkeypatch
):
    from consumer_app import settings as runtime_settings

    ends = "2031-04-01T00:00:00Z"
    sales = {**SALES, "x": ends}
    before = _checks(run(_data(accounts, datasets=[sales, EVENTS], refused=[], SOURCE_ROLE_UNTIL=ends)))
    monkeypatch.setattr(runtime_settings, "now", lambda: datetime(2031, 4, 1, tzinfo=UTC))
    after = _checks(run(_data(accounts, datasets=[sales, EVENTS], refused=[], SOURCE_ROLE_UNTIL=ends)))
    # Before its end the grant is proven as given (moto answers all of it).
    assert "sales: read-object" in before and before["assume-source-role"]["ok"] is True
    assert not any(check["refusal"] for name, check in before.items() if name.startswith("sales"))
    # From its end on, every identity must be refused it, the checks say why, and the source role must be refused too.
    assert [name for name in after if name.startswith("sales")] == [
        f"sales: refused list-objects as own role (grant ended {ends})",
        f"sales: refused read-object as own role (grant ended {ends})",
        f"sales: refused read-table as own role (grant ended {ends})",
        f"sales: refused list-objects as source role (grant ended {ends})",
        f"sales: refused read-object as source role (grant ended {ends})",
        f"sales: refused read-table as source role (grant ended {ends})",
    ]
    assert after["refused assume-source-role"]["refusal"] is True
    assert "events: list-objects" in after  # a grant that does not end is proven as before
    # moto enforces nothing: what AWS would refuse it answers, and the check fails, as for a dataset never given.
    assert after[f"sales: refused read-object as own role (grant ended {ends})"]["ok"] is False


def test_a_prefix_dataset_lists_under_its_prefix_only(accounts):
    data = _data(accounts, datasets=[EVENTS], refused=[])
    seen = []
    dataset = data.dataset("events")
    dataset.s3.meta.events.register("provide-client-params.s3.ListObjectsV2", lambda params, **_: seen.append(params))
    dataset.list_keys(limit=1)
    assert seen[0]["Prefix"] == EVENTS_PREFIX
    assert dataset.key("x.csv") == f"{EVENTS_PREFIX}x.csv"


def test_a_read_write_dataset_proves_its_writes_and_cleans_up_and_a_read_one_tries_none(accounts):
    writer = [{**SALES, "a": "read-write"}, {**EVENTS, "a": "read-write"}]
    result = run(_data(accounts, datasets=writer), run_id="r1")
    checks = _checks(result)
    assert (
        checks["sales: write-object"]["detail"] == "wrote, read back and deleted __consumer-self-check__/analytics-r1"
    )
    assert checks["events: write-object"]["detail"] == (
        f"wrote, read back and deleted {EVENTS_PREFIX}__consumer-self-check__/analytics-r1"
    )
    assert checks["sales: write-table"]["detail"] == (
        "wrote, read back and deleted item pk=__consumer-self-check__, sk=written-by-analytics-r1"
    )
    # Runs write under names of their own (the function and the task of a consumer run at once).
    assert "analytics-" in _checks(run(_data(accounts, datasets=writer)))["sales: write-object"]["detail"]
    # Nothing is left behind but the canaries.
    s3, dynamodb = accounts.source.client("s3"), accounts.source.client("dynamodb")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [CANARY]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=EVENTS_BUCKET)["Contents"]] == [EVENTS_PREFIX + CANARY]
    assert dynamodb.scan(TableName=TABLE)["Count"] == 1
    assert not any("write" in name for name in _checks(run(_data(accounts))))


def test_an_existing_table_is_proven_with_a_key_of_the_self_checks_own_and_a_users_item_is_never_overwritten(accounts):
    data = _data(accounts, datasets=[FINANCE], refused=[])
    checks = _checks(run(data))
    # No canary in a table the project does not own: GetItem of its own key, by the table's key schema.
    assert checks["finance: read-table"] == {
        "name": "read-table",
        "ok": True,
        "detail": "GetItem of the self-check's own key answered",
        "dataset": "finance",
        "refusal": False,
    }
    writer = _data(accounts, datasets=[{**FINANCE, "a": "read-write"}], refused=[])
    assert _checks(run(writer, run_id="r1"))["finance: write-table"]["ok"] is True
    dynamodb = accounts.source.client("dynamodb")
    assert dynamodb.scan(TableName=LEDGER)["Count"] == 0  # written, then deleted
    # A user's item at that very key: the conditional write fails the check and leaves it as it was.
    (key,) = [
        {name: {kind: value} for name, (kind, value) in zip(("account", "entry"), pair, strict=True)}
        for pair in [(("N", _number_of("written-by-analytics-r1")), ("S", "written-by-analytics-r1"))]
    ]
    users = {**key, "amount": {"N": "12"}}
    dynamodb.put_item(TableName=LEDGER, Item=users)
    result = _checks(run(writer, run_id="r1"))
    assert result["finance: write-table"]["ok"] is False
    assert "ConditionalCheckFailed" in result["finance: write-table"]["detail"]
    assert dynamodb.get_item(TableName=LEDGER, Key=key)["Item"] == users
    # The self-check's own item left by a stopped run is written over (and deleted).
    dynamodb.put_item(TableName=LEDGER, Item={**key, "note": {"S": "the consumer's self-check"}})
    assert _checks(run(writer, run_id="r1"))["finance: write-table"]["ok"] is True


def _number_of(suffix: str) -> str:
    import hashlib

    return f"-9.{int(hashlib.sha256(suffix.encode()).hexdigest()[:12], 16)}e-120"


def test_an_existing_bucket_gets_no_canary_and_is_proven_by_a_missing_key_and_written_with_its_key(accounts):
    existing = {"n": "lake", "a": "read-write", "b": EVENTS_BUCKET, "p": "team/", "r": 1,
                "k": "arn:aws:kms:eu-west-1:444444444444:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}  # fmt: skip
    data = _data(accounts, datasets=[existing], refused=[])
    dataset = data.dataset("lake")
    seen = []
    dataset.s3.meta.events.register("provide-client-params.s3.PutObject", lambda params, **_: seen.append(params))
    checks = _checks(run(data, run_id="r1"))
    assert checks["lake: read-object"]["detail"] == "nothing under team/ to read yet: s3:GetObject not proven"
    # Through the source role, the rest of the owner's bucket is the owner's to grant: no refusal is asked.
    assert "lake: refused list-outside-prefix" not in checks
    # With an object under the prefix: its first byte (s3:GetObject, and decryption through S3), nothing more.
    ranges = []
    dataset.s3.meta.events.register("provide-client-params.s3.GetObject", lambda params, **_: ranges.append(params))
    accounts.source.client("s3").put_object(Bucket=EVENTS_BUCKET, Key="team/users.csv", Body=b"x,y\n1,2\n")
    checks = _checks(run(data, run_id="r2"))
    assert checks["lake: read-object"]["detail"] == (
        "read the first byte of team/users.csv: s3:GetObject is allowed, and decryption through S3"
    )
    assert [p.get("Range") for p in ranges if p["Key"] == "team/users.csv"] == ["bytes=0-0"]  # the rest: its own
    # A folder marker and an empty object listed before it are passed over for the first object with content.
    accounts.source.client("s3").put_object(Bucket=EVENTS_BUCKET, Key="team/", Body=b"")
    accounts.source.client("s3").put_object(Bucket=EVENTS_BUCKET, Key="team/a-empty.csv", Body=b"")
    checks = _checks(run(data, run_id="r3"))
    assert checks["lake: read-object"]["detail"] == (
        "read the first byte of team/users.csv: s3:GetObject is allowed, and decryption through S3"
    )
    # Only empty objects: HeadObject of the first, which decrypts nothing.
    accounts.source.client("s3").put_object(Bucket=EVENTS_BUCKET, Key="team/users.csv", Body=b"")
    checks = _checks(run(data, run_id="r3"))
    assert checks["lake: read-object"]["detail"] == (
        "HeadObject of the empty team/a-empty.csv answered: s3:GetObject is allowed (no decryption proven)"
    )
    # A whole existing bucket: a missing key's 404 (S3 answers it only to a caller allowed GetObject and ListBucket).
    empty_bucket = {**existing, "b": "datashare-prod-secret-444444444444-eu-west-1"}
    whole = _data(accounts, datasets=[{k: v for k, v in empty_bucket.items() if k != "p"}], refused=[])
    assert "__consumer-self-check__/absent answered 404" in _checks(run(whole))["lake: read-object"]["detail"]
    assert seen and seen[0]["ServerSideEncryption"] == "aws:kms" and seen[0]["SSEKMSKeyId"] == existing["k"]
    assert dataset.s3 is data.client("s3", via_role=True)  # through the source role


def test_a_read_only_proof_of_an_existing_dataset_writes_nothing_and_says_so(accounts):
    """proof: read-only (an existing bucket with Object Lock, a table with a stream): the self-check proves the reads
    of a read-write dataset and writes nothing there, and says the writes are not proven."""
    existing = {"n": "lake", "a": "read-write", "b": EVENTS_BUCKET, "p": "team/", "r": 1, "ro": 1}
    data = _data(accounts, datasets=[existing], refused=[])
    writes = []
    data.dataset("lake").s3.meta.events.register("before-call.s3.PutObject", lambda **kwargs: writes.append(kwargs))
    checks = _checks(run(data, run_id="r1"))
    assert "lake: write-object" not in checks and writes == []
    assert checks["lake: reads-only"]["ok"] is True
    assert checks["lake: reads-only"]["detail"].startswith("not proven: the config asks for a proof of the reads only")
    assert checks["lake: list-objects"]["ok"] is True


def test_a_missing_canary_fails_the_check_of_that_dataset_only(accounts):
    accounts.source.client("s3").delete_object(Bucket=BUCKET, Key=CANARY)
    accounts.source.client("dynamodb").delete_item(
        TableName=TABLE, Key={"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}
    )
    result = run(_data(accounts, refused=[]))
    checks = _checks(result)
    assert result["ok"] is False
    assert checks["sales: read-object"]["ok"] is False and "NoSuchKey" in checks["sales: read-object"]["detail"]
    assert checks["sales: read-table"]["detail"] == "the canary item the sharing stage writes is not in the table"
    assert checks["events: read-object"]["ok"] is True


def test_self_check_fails_when_the_table_is_not_in_the_assumed_account(accounts):
    # A role in the wrong account (here the consumer's own): the table is not there.
    result = run(_data(accounts, SOURCE_ROLE_ARN=f"arn:aws:iam::{CONSUMER}:role/datashare-prod-source-analytics"))
    checks = _checks(result)
    assert result["ok"] is False
    assert checks["assume-source-role"]["ok"] is False
    assert checks["sales: describe-table"]["ok"] is False
    assert "ResourceNotFound" in checks["sales: describe-table"]["detail"]


def test_tables_by_role_are_reached_in_the_source_account_and_objects_with_the_consumers_own_credentials(accounts):
    data = _data(accounts)
    sales = data.dataset("sales")
    item = {"pk": {"S": "customer#1"}, "sk": {"S": "profile"}, "name": {"S": "Ada"}}
    sales.put_item(item)
    stored = accounts.source.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "customer#1"}, "sk": {"S": "profile"}}
    )
    assert stored["Item"]["name"] == {"S": "Ada"}  # in the source account's table, not one of the consumer's
    sales.write_object("in/from-consumer.txt", b"hello")
    assert sales.read_object("in/from-consumer.txt") == b"hello"
    assert sales.s3 is data.client("s3", via_role=False) and sales.s3.meta.region_name == "eu-west-1"
    assert data.own_client("sts").get_caller_identity()["Account"] == CONSUMER
    assert data.source_session.client("sts").get_caller_identity()["Account"] == SOURCE


def test_a_table_shared_by_its_own_policy_is_addressed_by_arn_with_own_credentials(accounts):
    direct = {"n": "sales", "a": "read", "t": TABLE, "ci": 1}
    data = _data(accounts, datasets=[direct], refused=[], SOURCE_ROLE_ARN="")
    assert data.source_session is None
    sales = data.dataset("sales")
    assert sales.table_id == table_arn(TABLE)
    # DynamoDB serves a table named by its ARN from the ARN's account; moto needs the rehearsal's mend for it (it
    # looked the table up in the caller's account). The resource policy itself is not evaluated.
    mend_tables_by_arn()
    assert sales.get_item({"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}) is not None
    checks = _checks(run(data))
    assert "assume-source-role" not in checks and checks["sales: read-table"]["ok"] is True


def test_missing_or_malformed_environment_is_one_clear_error():
    with pytest.raises(SettingsError, match="missing environment variables: SOURCE_REGION, DATASETS"):
        Settings.from_environment({"CONSUMER_NAME": "x"})
    with pytest.raises(SettingsError, match="DATASETS or REFUSED_DATASETS is not the list of datasets expected"):
        Settings.from_environment({"CONSUMER_NAME": "x", "SOURCE_REGION": "eu-west-1", "DATASETS": '[{"nom": 1}]'})


@pytest.fixture
def lambda_environment(accounts, monkeypatch):
    # moto enforces no policy: AWS's refusal of the bucket outside the events prefix stands in.
    def refused(self, **_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "outside the prefix"}}, "ListObjectsV2")

    monkeypatch.setattr(Dataset, "list_whole_bucket", refused)
    for name, value in accounts.environment(refused=[]).items():
        monkeypatch.setenv(name, value)
    credentials = accounts.consumer.get_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials.token)
    lambda_handler.shared_data.cache_clear()
    yield accounts
    lambda_handler.shared_data.cache_clear()


def test_the_function_runs_the_self_check_and_nothing_an_invoker_chooses(lambda_environment):
    """Whoever may invoke the function (the pipeline's proof role) acts with the consumer's access through it: it takes
    no key, item or dataset, so it can read no object and overwrite no item of a dataset."""
    assert lambda_handler.handler({})["ok"] is True  # self-check is the default action
    assert lambda_handler.handler({"action": "self-check"})["ok"] is True
    for event in (
        {"action": "read-object", "dataset": "sales", "key": "k.txt"},
        {"action": "put-item", "dataset": "sales", "item": {"pk": {"S": "p"}}},
        {"action": "self-check", "key": "salaries.csv"},
    ):
        with pytest.raises(ValueError, match="the function runs the self-check only"):
            lambda_handler.handler(event)


def test_ecs_entry_point_prints_the_result_and_exits_by_it(lambda_environment, capsys):
    assert task_main.main([]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert task_main.main(["bogus"]) == 2


def test_ecs_entry_point_exits_non_zero_when_the_check_fails(lambda_environment, monkeypatch, capsys):
    monkeypatch.setenv("DATASETS", json.dumps([{**SALES, "b": "missing-bucket-name"}]))
    assert task_main.main(["self-check"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_the_runtime_reads_the_datasets_as_the_consumer_stack_writes_them(example_environment):
    # The entries' one-letter keys are kept in two places that cannot import each other: written by
    # cdk_constructs/documents.py, read by consumer_app/settings.py.
    settings = Settings.from_environment(example_environment)
    read = [(d.name, d.access, d.bucket, d.prefix, d.canary, d.table_arn, d.table_via_role) for d in settings.datasets]
    assert read == [
        ("sales", "read", "datashare-prod-sales-444444444444-eu-west-1", "", True,
         "arn:aws:dynamodb:eu-west-1:444444444444:table/datashare-prod-sales", True),
        ("events", "read", "datashare-prod-events-444444444444-eu-west-1", "raw/events/", True, None, False),
        ("reference", "read", None, "", False, "arn:aws:dynamodb:eu-west-1:444444444444:table/datashare-prod-reference",
         False),
        ("lake-raw", "read", "arn:aws:s3:eu-west-1:444444444444:accesspoint/datashare-prod-lake-raw", "raw/", False,
         None, False),
        ("lake-curated", "read", "arn:aws:s3:eu-west-1:444444444444:accesspoint/datashare-prod-lake-curated",
         "curated/", False, None, False),
        ("orders", "read", None, "", False, None, False),
    ]  # fmt: skip
    # The API by its stage's URL, with a stand-in of its id where no stack has read it.
    assert settings.dataset("orders").api_url == "https://a0b1c2d3e4.execute-api.eu-west-1.amazonaws.com/live"
    assert [d.name for d in settings.refused] == []
    assert settings.source_role_arn == "arn:aws:iam::444444444444:role/datashare-prod-source-analytics"
    assert settings.source_account == "444444444444"
    # events and lake-curated describe a table: queried in the consumer's own workgroup and database, in its region.
    assert [d.catalog_table for d in settings.datasets] == [None, "events", None, None, "lake_curated", None]
    assert (settings.query_workgroup, settings.catalog_database, settings.query_region) == (
        "datashare-prod-queries",
        "datashare_prod",
        "eu-west-1",
    )


def test_a_dataset_with_a_table_is_queried_in_the_consumers_workgroup_and_its_results_deleted(accounts):
    """The query goes to the consumer's own account (its workgroup, with its own credentials: moto refuses a workgroup
    the account does not have); moto runs no SQL and answers with no rows and no results location, which the check
    reports as such."""
    queried = []
    accounts.consumer.client("athena").create_work_group(Name="datashare-prod-queries")  # the consumer stack's
    accounts.consumer.events.register(
        "provide-client-params.athena.StartQueryExecution", lambda params, **_: queried.append(params)
    )
    data = _data(
        accounts,
        datasets=[{**EVENTS, "q": "events"}],
        refused=[],
        QUERY_WORKGROUP="datashare-prod-queries",
        CATALOG_DATABASE="datashare_prod",
        QUERY_REGION=REGION,
    )
    checks = _checks(run(data))
    assert list(checks) == [
        "assume-source-role", "events: list-objects", "events: read-object", "events: refused list-outside-prefix",
        "events: query-table",
    ]  # fmt: skip
    query = checks["events: query-table"]
    assert query["ok"], query
    assert [(q["QueryString"], q["WorkGroup"]) for q in queried] == [
        ('SELECT * FROM "datashare_prod"."events" LIMIT 1', "datashare-prod-queries")
    ]
    assert query["detail"].endswith(
        "in workgroup datashare-prod-queries answered no rows (the table has no data yet); no result objects to delete"
    )


def test_a_dataset_with_a_table_fails_its_query_check_without_the_workgroups_settings(accounts):
    checks = _checks(run(_data(accounts, datasets=[{**EVENTS, "q": "events"}], refused=[])))
    assert checks["events: query-table"] == {
        "name": "query-table", "ok": False, "detail": "QUERY_WORKGROUP or CATALOG_DATABASE is not set",
        "dataset": "events", "refusal": False,
    }  # fmt: skip


@pytest.fixture
def example_environment():
    from cdk_constructs.documents import runtime_environment
    from config import load_config
    from config.naming import Names
    from tests.conftest import EXAMPLE

    config = load_config(EXAMPLE)
    prod = config.environments[1]
    return runtime_environment(Names.of(config, prod), prod, prod.consumers[0])


def test_the_runtime_and_the_stacks_name_the_self_checks_prefix_alike():
    """The runtime imports nothing of the infrastructure code: its copy of the prefix, where the self-check writes and
    the canary is, must be the config's (which refuses a dataset prefix under it)."""
    from config.model import SELF_CHECK_PREFIX
    from config.naming import CANARY_ITEM, CANARY_KEY
    from consumer_app.self_check import OWN_KEY_VALUES, PROOF_PREFIX

    assert PROOF_PREFIX == SELF_CHECK_PREFIX and CANARY_KEY.startswith(PROOF_PREFIX)
    assert CANARY_ITEM["pk"]["S"] == OWN_KEY_VALUES["S"]
