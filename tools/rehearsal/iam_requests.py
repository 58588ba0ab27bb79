"""What IAM decides for a request the emulator serves: its actions, resources, the resources' policies as the
emulator holds them, and the request's own context keys (s3:prefix, s3:DataAccessPointArn, kms:ViaService, ecs:cluster,
iam:PassedToService). Each function answers a list of IAM requests (all must be allowed), or None for an operation
it does not decide (it then passes, counted by service)."""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from dataclasses import replace
from typing import Any

from access_report.cells import ContextValue, Document
from tools.rehearsal import sql
from tools.rehearsal.enforcement import Asked, Caller, Mapper, _document, _role

_TABLE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<name>.+)$"
)


def _body(response: Any) -> dict[str, Any]:
    if isinstance(response.body, dict):  # moto's DynamoDB parses it first
        return response.body
    try:
        value = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _operation(response: Any) -> str:
    """The operation of a JSON protocol request (X-Amz-Target: DynamoDB_20120810.GetItem)."""
    return str(response.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]


# S3


def _query(response: Any) -> dict[str, list[str]]:
    """The request's own query string (moto's S3 mixes its headers into querystring), without the SDK's x-id."""
    query = urllib.parse.parse_qs(urllib.parse.urlparse(response.uri).query, keep_blank_values=True)
    query.pop("x-id", None)
    # A presigned URL's signature is in its query: not the operation's.
    for signing in ("AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token"):
        query.pop(signing, None)
    return {k: v for k, v in query.items() if not k.startswith("X-Amz-")}


def _s3_action(method: str, key: str, query: dict[str, Any], headers: Any) -> str | None:
    if key:
        versioned = "Version" if "versionId" in query else ""  # of a version: its own action, without the other's
        if method in ("GET", "HEAD") and not set(query) - {"partNumber", "versionId", "response-content-type"}:
            return f"s3:GetObject{versioned}"
        if method == "PUT" and not query and "x-amz-copy-source" not in headers:
            return "s3:PutObject"
        if method == "DELETE" and not set(query) - {"versionId"}:
            return f"s3:DeleteObject{versioned}"
        return None
    if method == "GET" and "location" in query:
        return "s3:GetBucketLocation"
    if method == "GET" and not set(query) - {"list-type", "prefix", "max-keys", "continuation-token", "delimiter",
                                            "start-after", "encoding-type", "fetch-owner"}:  # fmt: skip
        return "s3:ListBucket"
    if method == "HEAD" and not query:
        return "s3:ListBucket"  # HeadBucket
    return None


def access_point_named(name: str) -> tuple[str, Any] | None:
    """(account, access point) of a name S3 routes to an access point, in whichever emulated account holds it:
    NAME-ACCOUNT (the host of a request that names the access point by its ARN) or the access point's alias."""
    from moto.s3control import s3control_backends

    for account in list(s3control_backends.keys()):
        for point in s3control_backends[account]["aws"].access_points.get(account, {}).values():
            if name in (f"{point.name}-{account}", point.alias):
                return account, point
    return None


def _access_point(response: Any) -> tuple[str, Any] | None:
    """The access point a request came by: its NAME-ACCOUNT host, or its alias as the bucket (a host's first label or
    the path's first segment)."""
    host = str(response.headers.get("Host", "")).split(":", 1)[0]
    path = str(getattr(response, "path", "") or "").lstrip("/").split("/", 1)[0]
    return access_point_named(host.split(".", 1)[0]) or (access_point_named(path) if path else None)


def _through_point(
    action: str,
    key: str,
    found: tuple[str, Any],
    bucket_policy: Document | None,
    context: dict[str, ContextValue],
    partition: str,
    region: str,
) -> list[Asked]:
    """A request through an access point: the access point decides (its policy, the caller's), and so does the bucket
    (only its policy, not the caller's): by delegating to the access point, or by granting the caller itself, and any
    Deny of it applies (S3 user guide, "Configuring IAM policies for using access points"). The engine ignores
    s3:DataAccessPoint* on a bucket (AWS's service reference lists them for access points only; S3 sets them on the
    bucket's evaluation too): they are decided here, and the engine decides the rest of each statement."""
    account, point = found
    arn = f"arn:{partition}:s3:{region}:{account}:accesspoint/{point.name}"
    bucket = f"arn:{partition}:s3:::{point.bucket}"
    point_policy = _document(point.policy) if point.policy else None
    through = {**context, "s3:DataAccessPointArn": arn, "s3:DataAccessPointAccount": account,
               "s3:AccessPointNetworkOrigin": "Internet"}  # fmt: skip
    return [
        Asked(action, f"{arn}/object/{key}" if key else arn, account, point_policy, through),
        Asked(
            action,
            f"{bucket}/{key}" if key else bucket,
            account,
            _access_point_conditions_decided(bucket_policy, arn, account),
            context,
            identity=False,
            undecided="s3:DataAccessPoint* of a bucket's policy, decided before the engine (it ignores them there)",
        ),
    ]


_S3_CONTROL = re.compile(r"^/v20180820/accesspoint/(?P<name>[a-z0-9-]+)$")


def s3(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    from moto.s3.models import s3_backends

    control = _S3_CONTROL.match(urllib.parse.urlparse(str(response.uri)).path)
    if control:  # S3 Control (signed as s3): an access point's configuration, in the caller's own account
        if response.method != "GET":
            return None
        # s3:GetAccessPoint takes no resource but "*" (the service reference lists none for it).
        return [Asked("s3:GetAccessPoint", "*", caller.account)]

    bucket, _, key = resource.split(":::", 1)[-1].partition("/")
    if bucket in ("", "*"):
        return None
    query = _query(response)
    action = _s3_action(response.method, key, query, response.headers)
    if action is None:
        return None
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return []  # no such bucket: S3 answers NoSuchBucket, whoever asks
    partition, account = owner
    found = s3_backends[account][partition].buckets.get(bucket)
    policy = _document(found.policy) if found is not None and found.policy else None
    context: dict[str, ContextValue] = {}
    if action == "s3:ListBucket":
        context["s3:prefix"] = query["prefix"][0] if "prefix" in query else None
    missing = action.startswith("s3:GetObject") and found is not None and key not in found.keys
    point = _access_point(response)
    if point is not None:
        asked = _through_point(action, key, point, policy, context, partition, region)
    else:
        asked = [Asked(action, resource, account, policy, context)]
    if missing:  # S3 answers 404 for a missing key only to a caller who may list the bucket; anyone else 403
        asked += (
            _through_point("s3:ListBucket", "", point, policy, {}, partition, region)
            if point is not None
            else [Asked("s3:ListBucket", f"arn:{partition}:s3:::{bucket}", account, policy)]
        )
    key_arn = _s3_key(found, key, action, response.method, response.headers, account, region)
    if key_arn:
        operation = "kms:Decrypt" if action.startswith("s3:GetObject") else "kms:GenerateDataKey"
        asked.append(_key_use(caller, key_arn, operation, "s3", region))
    return asked


_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _access_point_conditions_decided(policy: Document | None, arn: str, account: str) -> Document | None:
    """The bucket's policy for a request through the access point ARN of that account: each statement's
    s3:DataAccessPointArn and s3:DataAccessPointAccount conditions decided (a statement they exclude is left out, a
    statement they admit keeps its other conditions), for the engine to decide the rest."""
    if not policy:
        return policy
    values = {"s3:dataaccesspointarn": arn, "s3:dataaccesspointaccount": account}
    statements = []
    for statement in policy.get("Statement", []):
        applies, kept = True, {}
        for operator, keys in (statement.get("Condition") or {}).items():
            base = operator.removesuffix("IfExists")
            rest = {}
            for key, wanted in keys.items():
                value = values.get(key.lower())
                if value is None or not base.startswith(("String", "Arn")):
                    rest[key] = wanted
                    continue
                patterns = [wanted] if isinstance(wanted, str) else list(wanted)
                like = base.endswith("Like")
                hit = any(fnmatch.fnmatchcase(value, p) if like else value == p for p in patterns)
                applies = applies and (not hit if base in _NEGATED else hit)
            if rest:
                kept[operator] = rest
        if applies:
            decided = {k: v for k, v in statement.items() if k != "Condition"}
            statements.append({**decided, **({"Condition": kept} if kept else {})})
    return {**policy, "Statement": statements}


def _s3_key(bucket: Any, key: str, action: str, method: str, headers: Any, account: str, region: str) -> str | None:
    """The customer-managed key S3 uses for the object, where it uses one: a GetObject of an object under it (not a
    HeadObject: S3 answers its metadata without the key), a PutObject under the named key or the bucket's default."""
    if bucket is None or not key:
        return None
    if action.startswith("s3:GetObject") and method == "GET":
        stored = bucket.keys.get(key)
        if stored is None or getattr(stored, "encryption", None) != "aws:kms" or not stored.kms_key_id:
            return None
        return _key_arn(str(stored.kms_key_id), account, region)
    if action == "s3:PutObject":
        asked = headers.get("x-amz-server-side-encryption")
        if asked is not None and asked != "aws:kms":
            return None  # AES256: S3's own keys
        named = headers.get("x-amz-server-side-encryption-aws-kms-key-id")
        if not named and asked is None:  # the bucket's default encryption
            default = ((bucket.encryption or {}).get("Rule") or {}).get("ApplyServerSideEncryptionByDefault") or {}
            named = default.get("KMSMasterKeyID") if default.get("SSEAlgorithm") == "aws:kms" else None
        # aws:kms without a key: the AWS managed key aws/s3, whose policy the project cannot see (not decided).
        return _key_arn(str(named), account, region) if named else None
    return None


# KMS


def _key_arn(key: str, account: str, region: str) -> str | None:
    """A key's ARN from its ARN, id or alias (in the account and region given where the reference does not name
    them); None for an AWS managed key."""
    from moto.kms.models import kms_backends

    if key.startswith("arn:") and ":key/" in key:
        return key
    parts = key.split(":")
    if key.startswith("arn:"):  # an alias ARN
        account, region, key = parts[4], parts[3], parts[5]
    backend = kms_backends[account][region]
    key_id = backend.get_key_id_from_alias(key) if key.startswith("alias/") else key
    if not key_id or key_id not in backend.keys:
        return None
    found = backend.keys[key_id]
    return None if found.key_manager == "AWS" else str(found.arn)


def _key(arn: str) -> Any:
    from moto.kms.models import kms_backends

    parts = arn.split(":")
    return kms_backends[parts[4]][parts[3]].keys.get(parts[5].removeprefix("key/"))


def _key_use(caller: Caller, arn: str, operation: str, service: str | None, region: str) -> Asked:
    key = _key(arn)
    policy = _document(key.policy) if key is not None and key.policy else None
    context: dict[str, ContextValue] = {"kms:CallerAccount": caller.account}
    if service:
        context["kms:ViaService"] = f"{service}.{region}.amazonaws.com"
    short = operation.removeprefix("kms:")
    granted = key is not None and any(
        grant.grantee_principal == caller.role_arn and short in grant.operations for grant in key.grants.values()
    )
    return Asked(operation, arn, arn.split(":")[4], policy, context, granted=granted)


def kms(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    body = _body(response)
    key = body.get("KeyId")
    if not key:
        return None
    arn = _key_arn(str(key), caller.account, region)
    if not arn:
        return None
    asked = _key_use(caller, arn, f"kms:{_operation(response)}", None, region)
    if _operation(response) == "CreateGrant":  # what the grant is for, which grant policies condition on
        grant: dict[str, ContextValue] = {
            "kms:GranteePrincipal": body.get("GranteePrincipal"),
            "kms:GrantOperations": list(body.get("Operations") or []),
            "kms:RetiringPrincipal": body.get("RetiringPrincipal"),
        }
        asked = replace(asked, context={**asked.context, **{k: v for k, v in grant.items() if v}})
    return [asked]


# DynamoDB

_TABLE_KEY_USE = {"GetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem"}


def dynamodb(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    from moto.dynamodb.models import dynamodb_backends

    operation = _operation(response)
    body = _body(response)
    tables = [body["TableName"]] if body.get("TableName") else list((body.get("RequestItems") or {}).keys())
    if not tables:
        return None
    asked = []
    for table in tables:
        match = _TABLE_ARN.match(str(table))
        partition, where, account, name = (
            (match["partition"], match["region"], match["account"], match["name"])
            if match
            else ("aws", region, caller.account, str(table))
        )
        arn = f"arn:{partition}:dynamodb:{where}:{account}:table/{name}"
        backend = dynamodb_backends[account][where]
        stored = backend.resource_policies.get(arn)
        policy = _document(stored.policy_doc) if stored is not None else None
        # A query or scan of an index is of the index's ARN (a grant of the table alone does not reach it).
        index = f"{arn}/index/{body['IndexName']}" if body.get("IndexName") else arn
        asked.append(Asked(f"dynamodb:{operation}", index, account, policy))
        found = backend.tables.get(name)
        sse = getattr(found, "sse_specification", None) or {}
        if operation in _TABLE_KEY_USE and sse.get("KMSMasterKeyId"):
            key = _key_arn(str(sse["KMSMasterKeyId"]), account, where)
            if key:
                asked.append(_key_use(caller, key, "kms:Decrypt", "dynamodb", where))
    return asked


# STS


def sts(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    action = response._get_action()
    if action == "GetCallerIdentity":
        return []  # needs no permission
    if action != "AssumeRole":
        return None
    arn = str(response._get_param("RoleArn"))
    role = _role(arn)
    if role is None:  # AWS refuses to assume a role that does not exist, whatever the caller's policies say
        return [Asked("sts:AssumeRole", arn, arn.split(":")[4], check=lambda: False, undecided="AssumeRole of a role "
                      "that does not exist, refused without the engine")]  # fmt: skip
    return [Asked("sts:AssumeRole", arn, arn.split(":")[4], _document(role.assume_role_policy_document))]


# ECS

_ECS_TASKS = "ecs-tasks.amazonaws.com"


def ecs(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    from moto.ecs.models import ecs_backends

    operation, body = _operation(response), _body(response)
    backend = ecs_backends[caller.account][region]
    partition = caller.role_arn.split(":")[1]
    cluster = str(body.get("cluster") or "default")
    cluster_arn = cluster if cluster.startswith("arn:") else (
        f"arn:{partition}:ecs:{region}:{caller.account}:cluster/{cluster}"
    )  # fmt: skip
    context: dict[str, ContextValue] = {"ecs:cluster": cluster_arn}
    if operation == "RunTask":
        definition = backend.describe_task_definition(str(body.get("taskDefinition")))
        asked = [Asked("ecs:RunTask", definition.arn, caller.account, None, context)]
        override = (body.get("overrides") or {}).get("taskRoleArn")
        task_role = override or getattr(definition, "task_role_arn", None)
        for role in (task_role, getattr(definition, "execution_role_arn", None)):
            if role:
                asked.append(Asked("iam:PassRole", role, role.split(":")[4], None, {"iam:PassedToService": _ECS_TASKS}))
        return asked
    if operation in ("DescribeTasks", "StopTask"):
        tasks = body.get("tasks") or [body.get("task")]
        return [
            Asked(
                f"ecs:{operation}",
                task
                if str(task).startswith("arn:")
                else f"arn:{partition}:ecs:{region}:{caller.account}:task/{cluster_arn.rsplit('/', 1)[-1]}/{task}",
                caller.account,
                None,
                context,
            )
            for task in tasks
            if task
        ]
    return None


# CloudWatch Logs


def logs(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    operation, body = _operation(response), _body(response)
    group = body.get("logGroupName")
    if not group:
        return None
    partition = caller.role_arn.split(":")[1]
    arn = f"arn:{partition}:logs:{region}:{caller.account}:log-group:{group}"
    if operation in ("GetLogEvents", "PutLogEvents", "CreateLogStream") and body.get("logStreamName"):
        arn = f"{arn}:log-stream:{body['logStreamName']}"
    return [Asked(f"logs:{operation}", arn, caller.account)]


# Athena: the workgroup's actions, and what Athena does with the caller's own credentials for a query (its forward
# access session): the catalog's reads of each table it names, and the S3 reads of each table's objects (with KMS as
# S3 uses it). Not the write of its results, which moto makes itself.


def athena(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    from moto.athena.models import athena_backends

    operation, body = _operation(response), _body(response)
    backend = athena_backends[caller.account][region]
    partition = caller.role_arn.split(":")[1]
    if operation == "StartQueryExecution":
        workgroup = str(body.get("WorkGroup") or "primary")
    elif operation in ("GetQueryExecution", "GetQueryResults", "StopQueryExecution"):
        execution = backend.executions.get(str(body.get("QueryExecutionId")))
        if execution is None:
            return []  # Athena answers that it does not know the query, whoever asks
        workgroup = execution.workgroup.name if execution.workgroup is not None else "primary"
    else:
        return None
    arn = f"arn:{partition}:athena:{region}:{caller.account}:workgroup/{workgroup}"
    asked = [Asked(f"athena:{operation}", arn, caller.account)]
    if operation == "StartQueryExecution":
        for database, table in sql.TABLE_REFERENCE.findall(str(body.get("QueryString", ""))):
            asked += _catalog_reads(caller, region, database, table)
    return asked


def _catalog_reads(caller: Caller, region: str, database: str, table: str) -> list[Asked]:
    """What Athena asks as the caller to read a table: glue:GetTable (of the catalog, the database and the table),
    and the S3 reads of its location (the bucket, or an access point by its alias)."""
    from moto.glue.models import glue_backends

    partition, account = caller.role_arn.split(":")[1], caller.account
    glue = f"arn:{partition}:glue:{region}:{account}"
    catalog, schema = f"{glue}:catalog", f"{glue}:database/{database}"
    asked = [Asked("glue:GetDatabase", target, account) for target in (catalog, schema)]
    asked += [
        Asked("glue:GetTable", target, account) for target in (catalog, schema, f"{glue}:table/{database}/{table}")
    ]
    try:
        described = glue_backends[account][region].get_table(database, table).as_dict()
    except Exception:  # moto's not-found: Athena answers TABLE_NOT_FOUND
        return asked
    location = str(described.get("StorageDescriptor", {}).get("Location", ""))
    name, _, prefix = location.removeprefix("s3://").partition("/")
    asked += _location_reads(caller, region, name, prefix)
    return asked


def _location_reads(caller: Caller, region: str, name: str, prefix: str) -> list[Asked]:
    """ListBucket of the location's prefix, and GetObject of each object under it (and its key's use, through S3), as
    the caller: through the access point whose alias the location names, or of the bucket."""
    from moto.s3.models import s3_backends

    partition = caller.role_arn.split(":")[1]
    point = access_point_named(name)
    bucket_name = point[1].bucket if point is not None else name
    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None:
        return []
    account = owner[1]
    bucket = s3_backends[account][partition].buckets.get(bucket_name)
    policy = _document(bucket.policy) if bucket is not None and bucket.policy else None
    listed = [k for k in (bucket.keys if bucket is not None else {}) if k.startswith(prefix)]

    def reads(action: str, key: str, context: dict[str, ContextValue]) -> list[Asked]:
        if point is not None:
            return _through_point(action, key, point, policy, context, partition, region)
        resource = f"arn:{partition}:s3:::{bucket_name}" + (f"/{key}" if key else "")
        return [Asked(action, resource, account, policy, context)]

    asked = reads("s3:ListBucket", "", {"s3:prefix": prefix})
    for key in listed:
        asked += reads("s3:GetObject", key, {})
        used = _s3_key(bucket, key, "s3:GetObject", "GET", {}, account, region)
        asked += [_key_use(caller, used, "kms:Decrypt", "s3", region)] if used else []
    return asked


# CloudFormation


def cloudformation(response: Any, resource: str, caller: Caller, region: str) -> list[Asked] | None:
    """A stack's resource read by a role of the project: a consumer's locator reading its APIs' ids (the operator
    deploys with the CDK's roles, which are exempt)."""
    if response._get_action() != "DescribeStackResource":
        return None
    from moto.cloudformation.models import cloudformation_backends

    name = str(response._get_param("StackName"))
    stacks = cloudformation_backends[caller.account][region].stacks.values()
    found = [s for s in stacks if name in (s.name, s.stack_id) and s.status != "DELETE_COMPLETE"]
    arn = found[0].stack_id if found else f"arn:aws:cloudformation:{region}:{caller.account}:stack/{name}/*"
    return [Asked("cloudformation:DescribeStackResource", arn, caller.account)]


DECIDED: dict[str, Mapper] = {
    "athena": athena,
    "cloudformation": cloudformation,
    "s3": s3,
    "kms": kms,
    "dynamodb": dynamodb,
    "sts": sts,
    "ecs": ecs,
    "logs": logs,
}


def lambda_invoke(function_arn: str) -> list[Asked]:
    """What an invoke of a function asks (the invoker runs the handler locally; moto's Lambda never serves it)."""
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    policy = None
    try:
        found = lambda_backends[parts[4]][parts[3]].get_function(function_arn)
        policy = json.loads(found.policy.wire_format()) if found.policy and found.policy.statements else None
    except Exception:  # moto's not-found: no function policy
        policy = None
    return [Asked("lambda:InvokeFunction", function_arn, parts[4], policy)]
