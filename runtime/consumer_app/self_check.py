"""The self-check that the pipeline's test step runs in every consumer: proof, from inside the consumer account,
that it gets each dataset it is given at its access (read; write where read-write, cleaning up what it wrote) and
is refused each dataset it is not given."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from consumer_app import settings as settings_module
from consumer_app.api_client import Answer, ApiClient
from consumer_app.queries import QueryFailed, delete_results, first_row_sql, run_query
from consumer_app.settings import DatasetSettings
from consumer_app.shared_data import Dataset, SharedData

# Where a consumer proves its writes: one object and one item of its own per dataset, deleted after, so the proof
# never touches what users stored.
PROOF_PREFIX = "__consumer-self-check__/"
# A key that never exists, under an existing bucket's prefix: its 404 proves the read permission.
ABSENT_KEY = PROOF_PREFIX + "absent"
# Reads fetch at most this much: the proof is that S3 returned (and KMS decrypted) bytes, not the bytes.
READ_BYTES = 1024
# Objects listed under an existing prefix to find one with content to read a byte of: folder markers and empty objects
# come first in key order.
LISTED_FOR_READ = 20
# What AWS answers a request no policy allows (S3, DynamoDB, STS, KMS through them).
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "403", "Forbidden", "UnauthorizedOperation"})
# An item id of the APIs' that the self-check never writes: a GET of it answers 404 from the API's function.
ABSENT_ITEM = "__consumer-self-check__.absent"
# What proves an API refused a call: IAM's refusal (consumer_app/api_client.py), not a 403 of a stage, resource or
# method API Gateway does not have, nor a web ACL's.
API_DENIED = frozenset({"AccessDenied"})
# How the checks of a dataset whose grant has ended say so (the test step's summary reads it).
GRANT_ENDED = "grant ended"
# What the self-check's own items say in their "note" attribute.
SELF_CHECK_NOTE = "the consumer's self-check"
# The key value of the self-check's own entries in a table, by attribute type.
OWN_KEY_VALUES: dict[str, Any] = {"S": "__consumer-self-check__", "B": b"__consumer-self-check__"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    dataset: str | None = None
    refusal: bool = False  # a check that passes when AWS refuses


READS_ONLY = "reads-only"  # a check that says the writes of a read-write dataset are not proven, and why
NOT_WRITTEN = "not proven: the config asks for a proof of the reads only (proof: read-only), so nothing is written"


def run(data: SharedData, *, run_id: str | None = None) -> dict[str, Any]:
    # Each run writes under a name of its own: the function and the task of a consumer run at the same time, and
    # one's delete must not remove what the other is about to read back.
    run_id = run_id or uuid.uuid4().hex[:12]
    at = settings_module.now()
    checks: list[Check] = []
    role_until = data.settings.source_role_until
    if data.source_session is not None and role_until is not None and at >= role_until:
        # Every grant it reached through its source role has ended: so has the role's trust in it.
        checks.append(_refusal("assume-source-role", lambda: _assume_source_role(data)))
    elif data.source_session is not None:
        checks.append(_attempt("assume-source-role", lambda: _assume_source_role(data)))
    for settings in data.settings.datasets:
        if settings.ended(at):
            # A grant that has ended by itself is refused, as a dataset never given is: AWS decides it by the time.
            checks += _refused(data, settings, ended=True)
        else:
            checks += _given(data, Dataset(data, settings), run_id)
    for settings in data.settings.refused:
        checks += _refused(data, settings)
    return {
        "consumer": data.settings.consumer,
        "ok": all(check.ok for check in checks),
        "checks": [asdict(check) for check in checks],
    }


def _given(data: SharedData, dataset: Dataset, run_id: str) -> list[Check]:
    settings = dataset.settings
    checks = []
    if settings.bucket:
        checks += [
            _attempt("list-objects", lambda: _list(dataset), settings.name),
            _attempt("read-object", lambda: _read_object(data, dataset), settings.name),
        ]
        # Given a prefix, the rest of the bucket stays closed: listing all of it is refused, unless the consumer is
        # also given the whole bucket, or reaches it through the source role (an existing bucket, whose owner's policy
        # may let the source account list it all: that is the owner's to grant, not the project's to refuse).
        whole = any(other.bucket == settings.bucket and not other.prefix for other in data.settings.datasets)
        if settings.prefix and not whole and not settings.via_role:
            checks.append(_refusal("list-outside-prefix", dataset.list_whole_bucket, settings.name))
        if settings.writes:
            checks.append(_attempt("write-object", lambda: _write_object(data, dataset, run_id), settings.name))
        elif settings.reads_only:
            checks.append(_attempt(READS_ONLY, lambda: NOT_WRITTEN, settings.name))
    if settings.catalog_table:
        checks.append(_attempt("query-table", lambda: _query_table(data, settings), settings.name))
    if settings.api_url:
        api = data.api(settings)
        checks.append(_attempt("call-api", lambda: _call_api(api), settings.name))
        if settings.writes:
            checks.append(_attempt("write-api", lambda: _write_api(data, api, run_id), settings.name))
        else:
            # A reader's write is refused by the API's resource policy and its own identity policy alike.
            own = _own_item_id(data, run_id)
            write = partial(api.put_item, own, {"note": SELF_CHECK_NOTE})
            checks.append(_refusal("write-api", write, settings.name, API_DENIED))
    if settings.table_arn:
        checks += [
            _attempt(
                "describe-table", lambda: f"table status {dataset.describe_table()['TableStatus']}", settings.name
            ),
            _attempt("read-table", lambda: _read_table(data, dataset), settings.name),
        ]
        if settings.writes:
            checks.append(_attempt("write-table", lambda: _write_table(data, dataset, run_id), settings.name))
        elif settings.reads_only:
            checks.append(_attempt(READS_ONLY, lambda: NOT_WRITTEN, settings.name))
    return checks


def _refused(data: SharedData, settings: DatasetSettings, *, ended: bool = False) -> list[Check]:
    """A dataset not given (or whose grant has ended): every identity the consumer has is refused its objects and its
    table."""
    checks: list[Check] = []
    for who, via_role in data.credentials():
        if ended:
            who += f" ({GRANT_ENDED} {settings.until:%Y-%m-%dT%H:%M:%SZ})"
        dataset = Dataset(data, settings, via_role=via_role)
        if settings.bucket:
            canary = dataset.key(PROOF_PREFIX + "canary")
            checks += [
                _refusal(f"list-objects as {who}", partial(dataset.list_keys, limit=1), settings.name),
                _refusal(f"read-object as {who}", partial(dataset.read_object, canary, first_bytes=1), settings.name),
            ]
        if settings.table_arn:
            checks.append(_refusal(f"read-table as {who}", partial(dataset.get_item, _canary_key(data)), settings.name))
        if settings.api_url and not via_role:  # the source role is no caller of the APIs: nothing grants it them
            call = partial(data.api(settings).item, ABSENT_ITEM)
            checks.append(_refusal(f"call-api as {who}", call, settings.name, API_DENIED))
    return checks


def _attempt(name: str, probe: Callable[[], str], dataset: str | None = None) -> Check:
    try:
        return Check(name, True, probe(), dataset)
    except _CheckFailed as failure:
        return Check(name, False, str(failure), dataset)
    except ClientError as error:
        return Check(name, False, _error(error), dataset)
    except (BotoCoreError, RuntimeError) as error:
        return Check(name, False, f"{type(error).__name__}: {error}", dataset)


def _refusal(name: str, probe: Callable[[], Any], dataset: str | None = None, denied: frozenset[str] = DENIED) -> Check:
    """Passes when AWS refuses the request; anything it answers otherwise is a failure (and says what it was)."""
    try:
        probe()
    except ClientError as error:
        code = str(error.response["Error"].get("Code"))
        if code in denied:
            return Check(f"refused {name}", True, f"refused: {code}", dataset, refusal=True)
        return Check(f"refused {name}", False, f"expected AccessDenied, got {_error(error)}", dataset, refusal=True)
    except (BotoCoreError, RuntimeError) as error:
        return Check(f"refused {name}", False, f"{type(error).__name__}: {error}", dataset, refusal=True)
    return Check(f"refused {name}", False, "allowed: a dataset not given to this consumer answered", dataset, True)


def _error(error: ClientError) -> str:
    return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"


class _CheckFailed(Exception):
    pass


def _list(dataset: Dataset) -> str:
    keys = dataset.list_keys(limit=1)
    where = f"{dataset.settings.bucket}/{dataset.settings.prefix}"
    return f"listed {where} ({'empty' if not keys else 'not empty'})"


def _read_object(data: SharedData, dataset: Dataset) -> str:
    if dataset.settings.canary:
        # The sharing stage's canary under the dataset's prefix, encrypted like the dataset: reading it proves
        # s3:GetObject and, through S3, kms:Decrypt, whatever users have stored.
        if not data.settings.canary_key:
            raise _CheckFailed("CANARY_KEY is not set")
        key = dataset.key(data.settings.canary_key)
        body = dataset.read_object(key, first_bytes=READ_BYTES)
        return f"read the canary {key} ({len(body)} bytes, decrypted through S3)"
    # An existing bucket has no canary (nothing is written there at deploy). An object listed under the prefix: its
    # first byte, which S3 decrypts for the caller (through KMS, with the key policy's or a grant's permission), and
    # nothing more of the users' data.
    # The first object with content among the first few listed: a "folder" marker (key ending in /) or an empty
    # object, common at the top of a prefix, has no byte to decrypt.
    listed = dataset.list_objects(limit=LISTED_FOR_READ)
    readable = [key for key, size in listed if size > 0 and not key.endswith("/")]
    if readable:
        try:
            dataset.read_object(readable[0], first_bytes=1)
        except ClientError as error:
            if error.response["Error"].get("Code") != "InvalidRange":
                raise
        else:
            return f"read the first byte of {readable[0]}: s3:GetObject is allowed, and decryption through S3"
    if listed:
        key = next((key for key, _ in listed if not key.endswith("/")), listed[0][0])
        # No byte to read: HeadObject needs s3:GetObject on the object too, and decrypts nothing.
        dataset.head_object(key)
        return f"HeadObject of the empty {key} answered: s3:GetObject is allowed (no decryption proven)"
    if dataset.settings.prefix:
        # A missing key's 404 needs s3:ListBucket on the bucket for a GetObject, which carries no s3:prefix: a grant
        # limited to the prefix answers 403 there.
        return f"nothing under {dataset.settings.prefix} to read yet: s3:GetObject not proven"
    # A key that never exists answers 404 only to a caller allowed s3:GetObject and s3:ListBucket; anyone else 403.
    key = dataset.key(ABSENT_KEY)
    try:
        dataset.read_object(key, first_bytes=1)
    except ClientError as error:
        if error.response["Error"].get("Code") in {"NoSuchKey", "404"}:
            return f"{key} answered 404: s3:GetObject is allowed (no object read, so no decryption proven)"
        raise
    raise _CheckFailed(f"{key} exists, which the self-check does not expect")


def _query_table(data: SharedData, settings: DatasetSettings) -> str:
    """One row of the dataset's table in the consumer's own catalog, queried in its workgroup with the role's own
    credentials (Athena lists and reads the objects with them, across accounts); its results deleted after."""
    workgroup, database, region = (
        data.settings.query_workgroup,
        data.settings.catalog_database,
        data.settings.query_region,
    )
    if not (workgroup and database and settings.catalog_table):
        raise _CheckFailed("QUERY_WORKGROUP or CATALOG_DATABASE is not set")
    athena = data.own_client("athena", region_name=region)
    sql = first_row_sql(database, settings.catalog_table)
    try:
        result = run_query(athena, sql=sql, workgroup=workgroup)
    except QueryFailed as failure:
        raise _CheckFailed(str(failure)) from None
    deleted = delete_results(data.own_client("s3", region_name=region), result.output_location)
    rows = "1 row" if result.rows == 1 else "no rows (the table has no data yet)"
    cleaned = f"its {len(deleted)} result objects deleted" if deleted else "no result objects to delete"
    return f"{sql} in workgroup {workgroup} answered {rows}; {cleaned}"


def _assume_source_role(data: SharedData) -> str:
    if data.source_session is None or not data.settings.source_role_arn:
        raise _CheckFailed("this consumer has no source role (SOURCE_ROLE_ARN is not set)")
    identity = data.source_session.client("sts").get_caller_identity()
    source_account = data.settings.source_account or data.settings.source_role_arn.split(":")[4]
    if identity["Account"] != source_account:
        raise _CheckFailed(f"assumed identity {identity['Arn']} is not in the source account {source_account}")
    return f"acting as {identity['Arn']}"


def _call_api(api: ApiClient) -> str:
    """GET of an item the self-check never writes: its 404 comes from the API's function, so API Gateway let the call
    through (IAM authorization and the resource policy)."""
    answer = api.item(ABSENT_ITEM)
    if answer.status not in {200, 404}:
        raise _CheckFailed(f"GET /items/{ABSENT_ITEM} answered {answer.status}: {answer.body}")
    return f"GET /items/{ABSENT_ITEM} answered {answer.status}: execute-api:Invoke allowed, the function reached"


def _own_item_id(data: SharedData, run_id: str) -> str:
    return f"__consumer-self-check__.{data.settings.consumer}.{run_id}"


def _write_api(data: SharedData, api: ApiClient, run_id: str) -> str:
    """PUT, GET and DELETE of an item of the self-check's own."""
    item_id = _own_item_id(data, run_id)
    value = {"note": SELF_CHECK_NOTE, "run": run_id}
    steps: list[tuple[str, Callable[[], Answer], set[int]]] = [
        ("PUT", partial(api.put_item, item_id, value), {200}),
        ("GET", partial(api.item, item_id), {200}),
        ("DELETE", partial(api.delete_item, item_id), {200, 204}),
    ]
    for step, answer, expected in steps:
        got = answer()
        if got.status not in expected:
            raise _CheckFailed(f"{step} /items/{item_id} answered {got.status}: {got.body}")
        if step == "GET" and (not isinstance(got.body, dict) or got.body.get("value") != value):
            raise _CheckFailed(f"GET /items/{item_id} answered {got.body}, not what was written")
    return f"wrote, read back and deleted item {item_id} through the API"


def _canary_key(data: SharedData) -> dict[str, Any]:
    return data.settings.canary_item or {"pk": {"S": "__consumer-self-check__"}, "sk": {"S": "canary"}}


def _own_key(dataset: Dataset, suffix: str) -> dict[str, Any]:
    """A key of the self-check's own in the table, from the table's key schema: "__consumer-self-check__" and the
    suffix (the run's), in whichever key attributes hold strings, or values no user is likely to have chosen."""
    table = dataset.describe_table()
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    schema = [(e["AttributeName"], e["KeyType"], types[e["AttributeName"]]) for e in table["KeySchema"]]
    range_is_string = any(kind == "RANGE" and t == "S" for _, kind, t in schema)
    number = f"-9.{int(hashlib.sha256(suffix.encode()).hexdigest()[:12], 16)}e-120"
    key: dict[str, Any] = {}
    for name, kind, t in schema:
        if t == "S":
            value: Any = suffix if kind == "RANGE" else OWN_KEY_VALUES["S"] + ("" if range_is_string else f"/{suffix}")
        elif t == "N":
            value = number
        else:
            value = OWN_KEY_VALUES["B"] + b"/" + suffix.encode()
        key[name] = {t: value}
    return key


def _read_table(data: SharedData, dataset: Dataset) -> str:
    if dataset.settings.canary_item:
        if dataset.get_item(_canary_key(data)) is None:
            raise _CheckFailed("the canary item the sharing stage writes is not in the table")
        return "read the canary item"
    # A table the project does not own has no canary: GetItem of a key of the self-check's own proves
    # dynamodb:GetItem is allowed, without reading users' items.
    item = dataset.get_item(_own_key(dataset, "absent"))
    return "GetItem of the self-check's own key answered" + (" (an item is there)" if item else "")


def _write_object(data: SharedData, dataset: Dataset, run_id: str) -> str:
    """s3:PutObject and, through S3, kms:GenerateDataKey; the object read back (kms:Decrypt); then deleted."""
    key = dataset.key(f"{PROOF_PREFIX}{data.settings.consumer}-{run_id}")
    body = f"written by {data.settings.consumer}'s self-check\n".encode()
    dataset.write_object(key, body)
    if dataset.read_object(key, first_bytes=READ_BYTES) != body:
        raise _CheckFailed(f"{key} read back differs from what was written")
    dataset.delete_object(key)
    return f"wrote, read back and deleted {key}"


def _write_table(data: SharedData, dataset: Dataset, run_id: str) -> str:
    key = _own_key(dataset, f"written-by-{data.settings.consumer}-{run_id}")
    # Never over an item that exists but the self-check's own (a user's, in a table the project does not own).
    dataset.put_item({**key, "note": {"S": SELF_CHECK_NOTE}}, unless_someone_elses=True)
    if dataset.get_item(key) is None:
        raise _CheckFailed("the item written is not there")
    dataset.delete_item(key)
    return f"wrote, read back and deleted item {json_key(key)}"


def json_key(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={next(iter(value.values()))!s}" for name, value in key.items())
