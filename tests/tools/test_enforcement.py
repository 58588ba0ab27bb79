"""The rehearsal's IAM enforcement (tools/rehearsal/enforcement.py): each request of an emulated principal is decided by
the policies the emulator holds before moto serves it, and refused with the service's own error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.rehearsal.emulator import Emulator

SOURCE, CONSUMER, REGION = "222222222222", "333333333333", "eu-west-1"
READER = f"arn:aws:iam::{CONSUMER}:role/reader"
BUCKET = "enforced-data"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.fixture(scope="module")
def emulator():
    with Emulator(enforce=True) as emulator:
        source = emulator.administrator(SOURCE).session(REGION)
        source.client("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        source.client("s3").put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"a,b\n")
        iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
        trust = _policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CONSUMER}:root"}, "Action": "sts:AssumeRole"}
        )
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)
        iam.put_role_policy(
            RoleName="reader",
            PolicyName="data",
            PolicyDocument=_policy(
                _allow(["s3:GetObject"], f"arn:aws:s3:::{BUCKET}/raw/*"),
                _allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Condition={"StringLike": {"s3:prefix": "raw/*"}}),
                _allow(["dynamodb:GetItem"], f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/shared"),
                _allow("kms:Decrypt", f"arn:aws:kms:{REGION}:{SOURCE}:key/*"),
                _allow("sts:AssumeRole", f"arn:aws:iam::{SOURCE}:role/*"),
            ),
        )
        yield emulator


def _reader(emulator: Emulator, service: str) -> Any:
    return emulator.credentials(READER).session(REGION).client(service)


def _bucket_policy(emulator: Emulator, *statements: dict[str, Any]) -> None:
    s3 = emulator.administrator(SOURCE).session(REGION).client("s3")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(*statements))


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def test_a_cross_account_read_needs_the_buckets_policy_too_and_is_refused_as_s3_refuses(emulator):
    s3 = _reader(emulator, "s3")
    assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv")) == (
        "AccessDenied",
        403,
        "User: arn:aws:sts::333333333333:assumed-role/reader/rehearsal is not authorized to perform: s3:GetObject on "
        f"resource: arn:aws:s3:::{BUCKET}/raw/a.csv because no policy allows it",
    )
    admitted = {"Principal": {"AWS": READER}}
    _bucket_policy(
        emulator,
        _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", **admitted),
        _allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Condition={"StringLike": {"s3:prefix": "raw/*"}}, **admitted),
    )
    assert s3.get_object(Bucket=BUCKET, Key="raw/a.csv")["Body"].read() == b"a,b\n"
    # The request's own s3:prefix decides a listing: under the prefix, not the whole bucket.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["Contents"]] == ["raw/a.csv"]
    assert _error(lambda: s3.list_objects_v2(Bucket=BUCKET))[0] == "AccessDenied"
    # An explicit deny of the bucket's (TLS-only statements and the like) refuses whatever else allows.
    _bucket_policy(
        emulator,
        _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", **admitted),
        {
            "Effect": "Deny",
            "Principal": {"AWS": READER},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    )
    assert "with an explicit deny in a policy" in _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv"))[2]


def test_an_object_under_a_key_is_read_only_with_the_keys_policy_or_a_grant(emulator):
    source = emulator.administrator(SOURCE).session(REGION)
    kms = source.client("kms")
    root_only = _policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "kms:*",
                         "Resource": "*"})  # fmt: skip
    key = kms.create_key(Policy=root_only)["KeyMetadata"]["Arn"]
    source.client("s3").put_object(
        Bucket=BUCKET, Key="raw/secret.csv", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )
    _bucket_policy(emulator, _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", Principal={"AWS": READER}))
    s3 = _reader(emulator, "s3")
    code, _, message = _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/secret.csv"))
    assert code == "AccessDenied" and f"kms:Decrypt on resource: {key}" in message
    # HeadObject decrypts nothing: S3 answers the object's metadata without the key.
    assert s3.head_object(Bucket=BUCKET, Key="raw/secret.csv")["ContentLength"] == 1
    grant = kms.create_grant(KeyId=key, GranteePrincipal=READER, Operations=["Decrypt"])
    assert s3.get_object(Bucket=BUCKET, Key="raw/secret.csv")["Body"].read() == b"x"
    kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
    # The key's policy, through S3 only (kms:ViaService, which the request to S3 carries).
    through_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    kms.put_key_policy(
        KeyId=key,
        PolicyName="default",
        Policy=_policy(
            json.loads(root_only)["Statement"][0],
            _allow("kms:Decrypt", "*", Principal={"AWS": READER}, Condition=through_s3),
        ),
    )
    assert s3.get_object(Bucket=BUCKET, Key="raw/secret.csv")["Body"].read() == b"x"
    # Not directly: the same key refuses a Decrypt the reader asks of KMS itself.
    direct = _reader(emulator, "kms")
    assert _error(lambda: direct.describe_key(KeyId=key))[0] == "AccessDeniedException"


def test_a_table_named_by_its_arn_needs_its_resource_policy(emulator):
    source = emulator.administrator(SOURCE).session(REGION).client("dynamodb")
    source.create_table(
        TableName="shared",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/shared"
    dynamodb = _reader(emulator, "dynamodb")
    code, status, message = _error(lambda: dynamodb.get_item(TableName=arn, Key={"pk": {"S": "a"}}))
    assert (code, status) == ("AccessDeniedException", 400) and f"dynamodb:GetItem on resource: {arn}" in message
    source.put_resource_policy(
        ResourceArn=arn, Policy=_policy(_allow("dynamodb:GetItem", arn, Principal={"AWS": READER}))
    )
    assert "Item" not in dynamodb.get_item(TableName=arn, Key={"pk": {"S": "a"}})
    # Another action than the policy's: refused.
    assert _error(lambda: dynamodb.describe_table(TableName=arn))[0] == "AccessDeniedException"


def _trusting(principal_arn: str) -> str:
    """A trust policy for the consumer account's role of that ARN only."""
    return _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CONSUMER}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": principal_arn}},
        }
    )


def test_a_role_is_assumed_only_as_its_trust_says_and_the_refusal_is_stss(emulator):
    iam = emulator.administrator(SOURCE).session(REGION).client("iam")
    iam.create_role(RoleName="source-role", AssumeRolePolicyDocument=_trusting(f"arn:aws:iam::{CONSUMER}:role/other"))
    sts = _reader(emulator, "sts")
    role = f"arn:aws:iam::{SOURCE}:role/source-role"
    code, status, message = _error(lambda: sts.assume_role(RoleArn=role, RoleSessionName="proof"))
    assert (code, status) == ("AccessDenied", 403) and f"sts:AssumeRole on resource: {role}" in message
    iam.update_assume_role_policy(RoleName="source-role", PolicyDocument=_trusting(READER))
    assert sts.assume_role(RoleArn=role, RoleSessionName="proof")["AssumedRoleUser"]["Arn"].endswith("/proof")
    assert sts.get_caller_identity()["Account"] == CONSUMER  # needs no permission


def test_a_permissions_boundary_caps_what_the_identity_policy_allows(emulator):
    iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
    boundary = iam.create_policy(PolicyName="cap", PolicyDocument=_policy(_allow("s3:ListBucket", "*")))["Policy"]
    _bucket_policy(emulator, _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", Principal={"AWS": READER}))
    s3 = _reader(emulator, "s3")
    assert s3.get_object(Bucket=BUCKET, Key="raw/a.csv")["Body"].read() == b"a,b\n"
    iam.put_role_permissions_boundary(RoleName="reader", PermissionsBoundary=boundary["Arn"])
    try:
        assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv"))[0] == "AccessDenied"
    finally:
        iam.delete_role_permissions_boundary(RoleName="reader")


def test_the_summary_counts_what_was_decided_what_was_not_and_the_operators_requests_apart(emulator):
    enforcer = emulator.enforcer
    before = (enforcer.evaluated, dict(enforcer.undecided), enforcer.operator)
    _reader(emulator, "ec2").describe_vpcs()  # not decided: counted by service
    emulator.administrator(SOURCE).session(REGION).client("s3").list_buckets()  # the operator: exempt
    assert enforcer.undecided["ec2"] == before[1].get("ec2", 0) + 1
    assert enforcer.operator > before[2]
    lines = enforcer.summary()
    assert lines[0].startswith(f"{enforcer.evaluated} requests of the project's principals evaluated (")
    assert f"refused; {sum(enforcer.undecided.values())} not evaluated: " in lines[0] and "ec2 " in lines[0]
    assert lines[-1].endswith("requests of the operator's identities (bootstrap, deploy, emulated services), exempt")


def test_a_grant_allows_what_no_policy_allows_but_never_what_one_denies(emulator):
    source = emulator.administrator(SOURCE).session(REGION)
    kms = source.client("kms")
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "kms:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Principal": {"AWS": READER}, "Action": "kms:Decrypt", "Resource": "*"}
    key = kms.create_key(Policy=_policy(root, deny))["KeyMetadata"]["Arn"]
    source.client("s3").put_object(
        Bucket=BUCKET, Key="raw/denied.csv", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )
    _bucket_policy(emulator, _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", Principal={"AWS": READER}))
    kms.create_grant(KeyId=key, GranteePrincipal=READER, Operations=["Decrypt"])
    code, _, message = _error(lambda: _reader(emulator, "s3").get_object(Bucket=BUCKET, Key="raw/denied.csv"))
    assert code == "AccessDenied" and "kms:Decrypt" in message and "explicit deny" in message


def test_a_missing_object_answers_404_only_to_a_caller_who_may_list_the_bucket(emulator):
    s3 = _reader(emulator, "s3")
    get = {
        "Effect": "Allow",
        "Principal": {"AWS": READER},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    _bucket_policy(emulator, get)
    code, status, message = _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/none.csv"))
    assert (code, status) == ("AccessDenied", 403) and "s3:ListBucket" in message
    _bucket_policy(emulator, get, _allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Principal={"AWS": READER}))
    iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
    iam.put_role_policy(RoleName="reader", PolicyName="list", PolicyDocument=_policy(_allow("s3:ListBucket", "*")))
    try:
        assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/none.csv"))[0] == "NoSuchKey"
        # A version of an object is its own action: s3:GetObjectVersion, which nothing here allows.
        code, _, message = _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv", VersionId="null"))
        assert code == "AccessDenied" and "s3:GetObjectVersion" in message
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="list")


def test_a_presigned_url_is_decided_as_its_signer(emulator):
    import urllib.error
    import urllib.request

    _bucket_policy(emulator)
    url = _reader(emulator, "s3").generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "raw/a.csv"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403


def test_a_role_that_does_not_exist_is_never_assumed(emulator):
    sts = _reader(emulator, "sts")
    code, status, message = _error(
        lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{CONSUMER}:role/nowhere", RoleSessionName="proof")
    )
    assert (code, status) == ("AccessDenied", 403) and "role/nowhere" in message


def test_an_index_is_decided_by_its_own_arn(emulator):
    source = emulator.administrator(SOURCE).session(REGION).client("dynamodb")
    source.create_table(
        TableName="indexed",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:{REGION}:{SOURCE}:table/indexed"
    source.put_resource_policy(
        ResourceArn=arn, Policy=_policy(_allow("dynamodb:Query", "*", Principal={"AWS": READER}))
    )
    iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
    iam.put_role_policy(RoleName="reader", PolicyName="query", PolicyDocument=_policy(_allow("dynamodb:Query", arn)))
    try:
        dynamodb = _reader(emulator, "dynamodb")
        condition = {"KeyConditionExpression": "pk = :v", "ExpressionAttributeValues": {":v": {"S": "a"}}}
        assert dynamodb.query(TableName=arn, **condition)["Items"] == []
        by_g = {"KeyConditionExpression": "g = :v", "ExpressionAttributeValues": {":v": {"S": "a"}}}
        code, _, message = _error(lambda: dynamodb.query(TableName=arn, IndexName="by-g", **by_g))
        assert code == "AccessDeniedException" and f"{arn}/index/by-g" in message
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="query")


def test_through_an_access_point_the_buckets_deny_applies_and_a_direct_grant_serves_as_delegation(emulator):
    source = emulator.administrator(SOURCE).session(REGION)
    point = f"arn:aws:s3:{REGION}:{SOURCE}:accesspoint/enforced-point"
    source.client("s3control").create_access_point(AccountId=SOURCE, Name="enforced-point", Bucket=BUCKET)
    source.client("s3control").put_access_point_policy(
        AccountId=SOURCE,
        Name="enforced-point",
        Policy=_policy(_allow("s3:GetObject", f"{point}/object/raw/*", Principal={"AWS": READER})),
    )
    iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
    iam.put_role_policy(
        RoleName="reader", PolicyName="point", PolicyDocument=_policy(_allow("s3:GetObject", f"{point}/object/raw/*"))
    )
    s3 = _reader(emulator, "s3")
    delegation = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
                  "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                  "Condition": {"StringEquals": {"s3:DataAccessPointAccount": SOURCE}}}  # fmt: skip
    try:
        _bucket_policy(emulator)  # no delegation: the bucket refuses
        assert _error(lambda: s3.get_object(Bucket=point, Key="raw/a.csv"))[0] == "AccessDenied"
        _bucket_policy(emulator, delegation)
        assert s3.get_object(Bucket=point, Key="raw/a.csv")["Body"].read() == b"a,b\n"
        deny = {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/raw/*",
        }
        _bucket_policy(emulator, delegation, deny)
        assert "explicit deny" in _error(lambda: s3.get_object(Bucket=point, Key="raw/a.csv"))[2]
        # Another account's access points are not this delegation's.
        _bucket_policy(emulator, {**delegation, "Condition": {"StringEquals": {"s3:DataAccessPointAccount": CONSUMER}}})
        assert _error(lambda: s3.get_object(Bucket=point, Key="raw/a.csv"))[0] == "AccessDenied"
        # The bucket granting the caller itself serves too (the S3 guide's other way).
        _bucket_policy(emulator, _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", Principal={"AWS": READER}))
        assert s3.get_object(Bucket=point, Key="raw/a.csv")["Body"].read() == b"a,b\n"
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="point")


def test_an_access_points_configuration_is_read_with_s3_get_access_point_on_any_resource(emulator):
    iam = emulator.administrator(SOURCE).session(REGION).client("iam")
    trust = _policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName="locator", AssumeRolePolicyDocument=trust)
    control = emulator.administrator(SOURCE).session(REGION).client("s3control")
    control.create_access_point(AccountId=SOURCE, Name="located-point", Bucket=BUCKET)
    locator = emulator.credentials(f"arn:aws:iam::{SOURCE}:role/locator").session(REGION).client("s3control")
    code, status, _ = _error(lambda: locator.get_access_point(AccountId=SOURCE, Name="located-point"))
    assert (code, status) == ("AccessDenied", 403)
    iam.put_role_policy(RoleName="locator", PolicyName="p", PolicyDocument=_policy(_allow("s3:GetAccessPoint", "*")))
    assert locator.get_access_point(AccountId=SOURCE, Name="located-point")["Bucket"] == BUCKET


def test_a_trust_by_organization_admits_the_members_of_the_emulated_organization_only(emulator):
    iam = emulator.administrator(SOURCE).session(REGION).client("iam")
    by_organization = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}},
        }
    )
    iam.create_role(RoleName="org-role", AssumeRolePolicyDocument=by_organization)
    sts, role = _reader(emulator, "sts"), f"arn:aws:iam::{SOURCE}:role/org-role"
    assert _error(lambda: sts.assume_role(RoleArn=role, RoleSessionName="proof"))[0] == "AccessDenied"
    emulator.enforcer.organizations[CONSUMER] = "o-exampleorg1"
    try:
        assert sts.assume_role(RoleArn=role, RoleSessionName="proof")["AssumedRoleUser"]["Arn"].endswith("/proof")
    finally:
        del emulator.enforcer.organizations[CONSUMER]


def test_an_invoke_is_decided_by_the_callers_policy_and_the_functions(emulator):
    from tools.rehearsal.enforcement import Caller
    from tools.rehearsal.iam_requests import lambda_invoke

    function = f"arn:aws:lambda:{REGION}:{CONSUMER}:function:consumer"
    caller = Caller(READER, "pipeline-consumer-proof")
    refusal = emulator.enforcer.decide(caller, lambda_invoke(function))
    assert refusal is not None and refusal.action == "lambda:InvokeFunction" and refusal.resource == function
    iam = emulator.administrator(CONSUMER).session(REGION).client("iam")
    iam.put_role_policy(
        RoleName="reader", PolicyName="invoke", PolicyDocument=_policy(_allow("lambda:InvokeFunction", function))
    )
    try:
        assert emulator.enforcer.decide(caller, lambda_invoke(function)) is None
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="invoke")


def test_running_a_task_needs_to_pass_both_its_roles_to_ecs_tasks(emulator):
    admin = emulator.administrator(CONSUMER).session(REGION)
    cluster = admin.client("ecs").create_cluster(clusterName="consumer")["cluster"]["clusterArn"]
    task_role = f"arn:aws:iam::{CONSUMER}:role/task"
    definition = admin.client("ecs").register_task_definition(
        family="consumer",
        taskRoleArn=task_role,
        containerDefinitions=[{"name": "c", "image": "consumer:1", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    iam = admin.client("iam")
    run = _allow("ecs:RunTask", f"arn:aws:ecs:{REGION}:{CONSUMER}:task-definition/consumer:*",
                 Condition={"ArnEquals": {"ecs:cluster": cluster}})  # fmt: skip
    iam.put_role_policy(RoleName="reader", PolicyName="run", PolicyDocument=_policy(run))
    try:
        ecs = _reader(emulator, "ecs")
        code, status, message = _error(lambda: ecs.run_task(cluster="consumer", taskDefinition=definition))
        assert (code, status) == ("AccessDeniedException", 400)
        assert f"iam:PassRole on resource: {task_role}" in message
        # In another cluster than the policy's: ecs:cluster, from the request, refuses the task itself.
        code, _, message = _error(lambda: ecs.run_task(cluster="elsewhere", taskDefinition=definition))
        assert f"ecs:RunTask on resource: {definition}" in message
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="run")


def test_a_grant_is_created_only_for_the_grantee_and_operations_the_policy_names(emulator):
    """What a key-grants custom resource asks: kms:CreateGrant, decided with the grant's own context keys."""
    source = emulator.administrator(SOURCE).session(REGION)
    key = source.client("kms").create_key()["KeyMetadata"]["Arn"]  # the default policy: the account's IAM policies
    iam = source.client("iam")
    trust = _policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName="granter", AssumeRolePolicyDocument=trust)
    grant_to_reader = _allow(
        "kms:CreateGrant",
        key,
        Condition={
            "StringEquals": {"kms:GranteePrincipal": READER},
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]},
        },
    )
    iam.put_role_policy(RoleName="granter", PolicyName="p", PolicyDocument=_policy(grant_to_reader))
    kms = emulator.credentials(f"arn:aws:iam::{SOURCE}:role/granter").session(REGION).client("kms")
    assert kms.create_grant(KeyId=key, GranteePrincipal=READER, Operations=["Decrypt"])["GrantId"]
    code, _, message = _error(lambda: kms.create_grant(KeyId=key, GranteePrincipal=READER, Operations=["Encrypt"]))
    assert code == "AccessDeniedException" and "kms:CreateGrant" in message
    other = f"arn:aws:iam::{CONSUMER}:role/other"
    assert _error(lambda: kms.create_grant(KeyId=key, GranteePrincipal=other, Operations=["Decrypt"]))[0] == (
        "AccessDeniedException"
    )


def test_a_query_needs_the_workgroup_the_catalog_and_the_objects_as_the_caller(emulator):
    """Athena reads the catalog and the table's objects with the caller's own credentials: each is decided, and so is
    the key of each object, as S3 uses it."""
    source, consumer = emulator.administrator(SOURCE).session(REGION), emulator.administrator(CONSUMER).session(REGION)
    source.client("s3").put_object(Bucket=BUCKET, Key="queried/a.csv", Body=b"a\n")
    consumer.client("athena").create_work_group(Name="queries", Configuration={})
    glue = consumer.client("glue")
    glue.create_database(DatabaseInput={"Name": "shared"})
    location = f"s3://{BUCKET}/queried/"
    glue.create_table(
        DatabaseName="shared",
        TableInput={
            "Name": "rows",
            "StorageDescriptor": {"Location": location, "Columns": [{"Name": "a", "Type": "string"}]},
        },
    )
    athena = _reader(emulator, "athena")

    def query() -> Any:
        return athena.start_query_execution(QueryString='SELECT * FROM "shared"."rows" LIMIT 1', WorkGroup="queries")

    assert "athena:StartQueryExecution" in _error(query)[2]
    glue_arn = f"arn:aws:glue:{REGION}:{CONSUMER}"
    objects = f"arn:aws:s3:::{BUCKET}/queried/*"
    under_prefix = {"StringLike": {"s3:prefix": "queried/*"}}
    iam = consumer.client("iam")
    iam.put_role_policy(
        RoleName="reader",
        PolicyName="query",
        PolicyDocument=_policy(
            _allow("athena:StartQueryExecution", f"arn:aws:athena:{REGION}:{CONSUMER}:workgroup/queries"),
            _allow(
                ["glue:GetDatabase", "glue:GetTable"],
                [f"{glue_arn}:catalog", f"{glue_arn}:database/shared", f"{glue_arn}:table/shared/rows"],
            ),
            _allow("s3:GetObject", objects),
            _allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Condition=under_prefix),
        ),
    )
    try:
        _bucket_policy(emulator)  # the objects' bucket admits no one
        code, _, message = _error(query)
        assert code == "AccessDeniedException" and f"s3:ListBucket on resource: arn:aws:s3:::{BUCKET}" in message
        admitted = {"Principal": {"AWS": READER}}
        _bucket_policy(
            emulator,
            _allow("s3:GetObject", objects, **admitted),
            _allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", Condition=under_prefix, **admitted),
        )
        assert query()["QueryExecutionId"]
        # An object under a key whose policy admits only its own account: Athena cannot decrypt it for the caller.
        root = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
        key = source.client("kms").create_key(Policy=_policy(root))["KeyMetadata"]["Arn"]
        source.client("s3").put_object(
            Bucket=BUCKET, Key="queried/locked.csv", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key
        )
        code, _, message = _error(query)
        assert code == "AccessDeniedException" and f"kms:Decrypt on resource: {key}" in message
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="query")


def test_a_condition_on_a_key_the_request_does_not_carry_is_counted_and_the_tls_version_is_set(emulator):
    s3 = _reader(emulator, "s3")
    read = _allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/*", Principal={"AWS": READER})
    # Only from a VPC endpoint: the rehearsal's requests come from none, as a request over the internet would.
    _bucket_policy(emulator, {**read, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv"))[0] == "AccessDenied"
    line = next(line for line in emulator.enforcer.summary() if "aws:SourceVpce" in line)
    assert line.endswith("IAM requests: aws:SourceVpce in a policy of s3:GetObject, absent from the request")
    # S3 sets the TLS version of each request: the runtime's clients negotiate 1.2 at least.
    below = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    _bucket_policy(emulator, read, {**below, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}})
    assert s3.get_object(Bucket=BUCKET, Key="raw/a.csv")["Body"].read() == b"a,b\n"
    _bucket_policy(emulator, read, {**below, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.3"}}})
    assert _error(lambda: s3.get_object(Bucket=BUCKET, Key="raw/a.csv"))[0] == "AccessDenied"
