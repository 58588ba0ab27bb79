"""A shared API (#23) as the stacks define it: the source account's REST API, its resource policy per method and
consumer, its security defaults; each consumer's side (the API's id read from the sharing stack, its identity policy,
its runtime settings); and what the execution policy and boundary let CloudFormation and the roles do with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bootstrap.policies import execution_policies, permissions_boundary
from config.loader import ConfigError, parse_config
from config.naming import API_STAGE, Names, api_logical_id, stage_stack_name
from tests.conftest import API_CONFIG
from tests.templates import by_sid, inline_statements, only, resources, role_named

READER, WRITER, OTHER = "333333333333", "444444444444", "555555555555"
ROLES = ["arn:aws:iam::*:role/apishare-prod-consumer-function", "arn:aws:iam::*:role/apishare-prod-consumer-task"]


def _sharing(shared_api) -> dict[str, Any]:
    return shared_api.template_json(shared_api.sharing("prod"))


def _consumer(shared_api, index: int) -> dict[str, Any]:
    return shared_api.template_json(shared_api.consumer("prod", index))


def test_the_resource_policy_admits_the_readers_to_get_and_the_writers_to_put_and_delete(shared_api):
    api = only(_sharing(shared_api), "AWS::ApiGateway::RestApi")["Properties"]
    statements = by_sid(api["Policy"])
    assert set(statements) == {"ConsumersReadApi", "ConsumersWriteApi"}
    read, write = statements["ConsumersReadApi"], statements["ConsumersWriteApi"]
    assert read["Principal"] == {"AWS": [f"arn:aws:iam::{READER}:root", f"arn:aws:iam::{WRITER}:root"]}
    assert read["Resource"] == f"execute-api:/{API_STAGE}/GET/items/*"
    assert write["Principal"] == {"AWS": f"arn:aws:iam::{WRITER}:root"}
    assert sorted(write["Resource"]) == [
        f"execute-api:/{API_STAGE}/DELETE/items/*",
        f"execute-api:/{API_STAGE}/PUT/items/*",
    ]
    for statement in (read, write):
        assert statement["Action"] == "execute-api:Invoke" and statement["Effect"] == "Allow"
        assert statement["Condition"] == {"ArnLike": {"aws:PrincipalArn": ROLES}}
    assert OTHER not in json.dumps(api["Policy"])


def test_every_method_takes_iam_authorization_and_no_api_key(shared_api):
    template = _sharing(shared_api)
    methods = resources(template, "AWS::ApiGateway::Method").values()
    assert sorted(m["Properties"]["HttpMethod"] for m in methods) == ["DELETE", "GET", "PUT"]
    assert all(m["Properties"]["AuthorizationType"] == "AWS_IAM" for m in methods)
    assert not any(m["Properties"].get("ApiKeyRequired") for m in methods)
    assert not resources(template, "AWS::ApiGateway::ApiKey") and not resources(template, "AWS::ApiGateway::Account")
    api = only(template, "AWS::ApiGateway::RestApi")["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]} and api["Name"] == "apishare-prod-orders"
    assert api_logical_id("orders") in resources(template, "AWS::ApiGateway::RestApi")


def test_the_stage_throttles_as_configured_and_logs_every_call_to_a_retained_encrypted_log_group(shared_api):
    template = _sharing(shared_api)
    stage = only(template, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == API_STAGE
    (setting,) = stage["MethodSettings"]
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (20, 40)
    assert (setting["HttpMethod"], setting["ResourcePath"], setting["LoggingLevel"]) == ("*", "/*", "OFF")
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"identity.userArn", "httpMethod", "resourcePath", "status"} <= set(fields)
    (logs_id,) = [
        k for k, r in resources(template, "AWS::Logs::LogGroup").items()
        if r["Properties"].get("LogGroupName") == "apishare-prod-orders-api-access"
    ]  # fmt: skip
    log_group = template["Resources"][logs_id]
    # Kept after the stack (and any update), but not after a failed first create, so that its retry can name it again.
    assert log_group["DeletionPolicy"] == "RetainExceptOnCreate" and log_group["Properties"]["RetentionInDays"] == 365
    assert "KmsKeyId" in log_group["Properties"]
    key = next(
        r
        for r in resources(template, "AWS::KMS::Key").values()
        if "CloudWatchLogsEncryptsTheAccessLog" in json.dumps(r)
    )
    logs = by_sid(key["Properties"]["KeyPolicy"])["CloudWatchLogsEncryptsTheAccessLog"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:eu-west-1:222222222222:log-group:apishare-prod-orders-api-access"
    )


def test_a_change_of_the_grants_deploys_the_api_again(tmp_path):
    """API Gateway applies a changed resource policy only at the next deployment: the deployment's logical id follows
    the grants."""
    from pipeline.app import synthesize

    def deployment(text: str, where) -> str:
        built = synthesize(parse_config(text), where)
        return next(iter(resources(built.template_json(built.sharing("prod")), "AWS::ApiGateway::Deployment")))

    widened = API_CONFIG.replace("grants: {orders: read, sales: read}", "grants: {orders: read-write, sales: read}")
    assert deployment(API_CONFIG, tmp_path / "a") != deployment(widened, tmp_path / "b")


def test_the_apis_function_reaches_its_own_table_only(shared_api):
    template = _sharing(shared_api)
    role = role_named(template, "apishare-prod-orders-api")
    statements = inline_statements(template, role)
    table = next(s for s in statements if "dynamodb:GetItem" in s["Action"])
    assert sorted(table["Action"]) == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
    key = next(s for s in statements if "kms:Decrypt" in s["Action"])
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com"]}}


def test_each_consumer_reads_the_apis_id_from_the_sharing_stack_as_its_locator(shared_api):
    config = shared_api.config
    names = Names.of(config, config.environments[0])
    assert names.sharing_stack == stage_stack_name(config, "prod-sharing")
    sharing = _sharing(shared_api)
    for index, consumer in enumerate(config.environments[0].consumers):
        (lookup,) = [
            r for r in resources(_consumer(shared_api, index), "Custom::AWS").values()
            if "describeStackResource" in json.dumps(r)
        ]  # fmt: skip
        create = json.loads(json.dumps(lookup["Properties"]["Create"]))
        call = json.loads(create) if isinstance(create, str) else create
        assert call["parameters"] == {"StackName": names.sharing_stack, "LogicalResourceId": api_logical_id("orders")}
        assert call["assumedRoleArn"] == f"arn:aws:iam::222222222222:role/apishare-prod-locate-{consumer.name}"
        locator = role_named(sharing, f"apishare-prod-locate-{consumer.name}")
        stack = f"arn:aws:cloudformation:eu-west-1:222222222222:stack/{names.sharing_stack}/*"
        describe = [
            s for s in inline_statements(sharing, locator) if s["Action"] == "cloudformation:DescribeStackResource"
        ]
        assert describe == [{"Action": "cloudformation:DescribeStackResource", "Effect": "Allow", "Resource": stack}]


def _api_statements(template: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [
        r["Properties"]["PolicyDocument"] for r in resources(template, "AWS::IAM::ManagedPolicy").values()
        if r["Properties"]["ManagedPolicyName"] == "apishare-prod-shared-data"
    ]  # fmt: skip
    return {sid: s for sid, s in by_sid(policy).items() if sid.endswith("Apis")}


def _arn(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    joined = resource["Fn::Join"][1] if isinstance(resource, dict) else None
    assert joined is not None and "StackResourceDetail.PhysicalResourceId" in json.dumps(joined[1])
    return [joined[0], joined[2]]


def test_a_readers_identity_policy_names_the_apis_get_and_a_writers_also_put_and_delete(shared_api):
    reader = _api_statements(_consumer(shared_api, 0))
    assert list(reader) == ["ReadApis"]
    assert _arn(reader["ReadApis"]) == ["arn:aws:execute-api:eu-west-1:222222222222:", f"/{API_STAGE}/GET/items/*"]
    writer = _api_statements(_consumer(shared_api, 1))
    assert set(writer) == {"ReadApis", "WriteApis"}
    assert writer["WriteApis"]["Action"] == "execute-api:Invoke"
    assert _api_statements(_consumer(shared_api, 2)) == {}


def test_the_runtime_is_told_the_apis_url_given_or_refused(shared_api):
    def variables(index: int) -> dict[str, str]:
        functions = resources(_consumer(shared_api, index), "AWS::Lambda::Function").values()
        (function,) = [f for f in functions if f["Properties"].get("FunctionName") == "apishare-prod-consumer"]
        return function["Properties"]["Environment"]["Variables"]

    given = json.dumps(variables(0)["DATASETS"])
    assert '\\"u\\":\\"https://' in given and f".execute-api.eu-west-1.amazonaws.com/{API_STAGE}" in given
    refused = json.dumps(variables(2)["REFUSED_DATASETS"])
    assert '{\\"n\\":\\"orders\\",\\"u\\":\\"https://' in refused


def test_cloudformation_may_manage_rest_apis_but_not_the_accounts_api_gateway_settings(shared_api):
    from access_report.engine import evaluate
    from tests.unit.test_execution_fences import _cell

    documents = execution_policies(shared_api.config, "222222222222", "eu-west-1", "aws")
    cells = [
        _cell(documents, "apigateway:POST", "arn:aws:apigateway:eu-west-1::/restapis", {}, "allow"),
        _cell(
            documents, "apigateway:PATCH", "arn:aws:apigateway:eu-west-1::/restapis/a0b1c2d3e4/stages/live", {}, "allow"
        ),
        _cell(
            documents,
            "apigateway:UpdateRestApiPolicy",
            "arn:aws:apigateway:eu-west-1::/restapis/a0b1c2d3e4",
            {},
            "allow",
        ),
        _cell(documents, "apigateway:PATCH", "arn:aws:apigateway:eu-west-1::/account", {}, "deny"),
        _cell(documents, "apigateway:POST", "arn:aws:apigateway:eu-west-1::/apikeys", {}, "deny"),
        _cell(documents, "apigateway:POST", "arn:aws:apigateway:eu-west-1::/domainnames", {}, "deny"),
    ]
    wrong = [f"{v.cell.action} {v.cell.resource}: {v.result}" for v in evaluate(cells) if not v.as_expected]
    assert wrong == []


def test_the_boundary_lets_roles_invoke_the_projects_apis_and_locate_them_in_the_source_accounts_only(shared_api):
    statements = by_sid(permissions_boundary(shared_api.config, "aws"))
    invoke, locate = statements["TheProjectsApis"], statements["WhereTheProjectsApisAre"]
    assert invoke["Action"] == ["execute-api:Invoke"]
    assert invoke["Resource"] == ["arn:aws:execute-api:*:222222222222:*"]
    assert locate["Action"] == ["cloudformation:DescribeStackResource"]
    assert locate["Resource"] == ["arn:aws:cloudformation:*:222222222222:stack/apishare-*-sharing/*"]
    assert Names.of(shared_api.config, shared_api.config.environments[0]).sharing_stack == "apishare-prod-sharing"


def test_every_action_the_stacks_grant_their_roles_is_one_the_boundary_allows(shared_api):
    """Every role the stacks create carries the boundary: an action of theirs it does not allow is refused at run time,
    with nothing at deploy to say so (the locator's lookup of the API's id was one)."""
    import fnmatch

    from bootstrap.policies import boundary_actions
    from checks.templates import policy_documents

    allowed = boundary_actions(shared_api.config)
    stacks = [shared_api.sharing("prod"), *(stage.stack for stage in shared_api.consumer_stages("prod"))]
    outside = {
        action
        for stack in stacks
        for policy in policy_documents(shared_api.template_json(stack))
        for statement in policy.document["Statement"]
        if statement.get("Effect") == "Allow" and "Principal" not in statement
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)
    }
    assert outside == set()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("{name: orders, api: {rate_limit: 20, burst_limit: 40}}", None),
        ("{name: orders, api: {}, table: {}}", "datasets[orders].api: a dataset with an API shares the API alone"),
        ("{name: orders, api: {rate_limit: 20000}}", "datasets[orders].api.rate_limit"),
        ("{name: orders, api: {burst_limit: 0}}", "datasets[orders].api.burst_limit"),
        ("{name: orders, api: {rate: 5}}", "datasets[orders].api.rate"),
        ("{name: orders, api: {}, proof: read-only}", "proof: 'read-only' is for an existing bucket or table"),
    ],
)
def test_an_api_dataset_is_checked_with_one_line(edit, message):
    text = API_CONFIG.replace("{name: orders, api: {rate_limit: 20, burst_limit: 40}}", edit)
    if message is None:
        parse_config(text)
        return
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_doctor_asks_for_api_gateways_logging_role_and_bootstrap_sets_one_where_the_account_has_none():
    import boto3
    from moto import mock_aws

    from tools.operator.accounts import OperatedAccount
    from tools.operator.bootstrap import ensure_api_logging
    from tools.operator.doctor import _api_logging_status

    config = parse_config(API_CONFIG)
    source = OperatedAccount("222222222222", "eu-west-1", ("source of prod",))
    role = "arn:aws:iam::123456789012:role/apigateway-cloudwatch-logs"  # moto's account of the mock's credentials
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        detail, fix = _api_logging_status(config, source, session)
        assert "has no CloudWatch Logs role in eu-west-1" in detail and fix.startswith("make bootstrap sets one")
        assert ensure_api_logging(session, source) == role
        iam = session.client("iam")
        policy = iam.get_role_policy(RoleName="apigateway-cloudwatch-logs", PolicyName="push-to-cloudwatch-logs")
        assert "logs:PutLogEvents" in policy["PolicyDocument"]["Statement"][0]["Action"]
        trust = iam.get_role(RoleName="apigateway-cloudwatch-logs")["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert _api_logging_status(config, source, session) == (f"API Gateway logs with {role}", "")
        # One set already, whoever's, is never replaced.
        theirs = "arn:aws:iam::123456789012:role/their-logging-role"
        session.client("apigateway").update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": theirs}]
        )
        assert ensure_api_logging(session, source) is None
        assert session.client("apigateway").get_account()["cloudwatchRoleArn"] == theirs
        consumer = OperatedAccount("333333333333", "eu-west-1", ("consumer analytics of prod",))
        assert _api_logging_status(config, consumer, session) == ("", "")


def test_bootstrap_waits_for_a_new_role_to_reach_api_gateway_and_mends_a_role_without_its_policy():
    """IAM is eventually consistent: API Gateway refuses a role created a moment before until it has propagated
    (moto does not: its answer is stood in for here). A role left without its policy by a stopped run gets it."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from tools.operator import bootstrap
    from tools.operator.accounts import OperatedAccount

    source = OperatedAccount("222222222222", "eu-west-1", ("source of prod",))
    not_yet = ClientError(
        {"Error": {"Code": "BadRequestException", "Message": "The role ARN does not have required permissions set "
                   "to API Gateway"}}, "UpdateAccount")  # fmt: skip
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        iam = session.client("iam")
        iam.create_role(RoleName="apigateway-cloudwatch-logs", AssumeRolePolicyDocument="{}")  # a stopped run's
        real = session.client

        class Refusing:
            def __init__(self, refusals: int) -> None:
                self.client, self.refusals = real("apigateway"), refusals

            def get_account(self):
                return self.client.get_account()

            def update_account(self, **kwargs):
                if self.refusals:
                    self.refusals -= 1
                    raise not_yet
                return self.client.update_account(**kwargs)

        refusing = Refusing(2)
        session.client = lambda name, **kw: refusing if name == "apigateway" else real(name, **kw)  # type: ignore[method-assign]
        waits: list[float] = []
        assert bootstrap.ensure_api_logging(session, source, sleep=waits.append).endswith("apigateway-cloudwatch-logs")
        assert waits == [20, 20]  # API Gateway takes one UpdateAccount every 20 s
        assert iam.get_role_policy(RoleName="apigateway-cloudwatch-logs", PolicyName="push-to-cloudwatch-logs")
        session.client("apigateway").client.update_account(
            patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}]
        )
        refusing.refusals = 100  # never propagates: the error, after two minutes
        with pytest.raises(ClientError, match="does not have required permissions"):
            bootstrap.ensure_api_logging(session, source, sleep=waits.append)
        assert sum(waits) - 40 == bootstrap.API_LOGS_SETTLE_SECONDS


def test_an_api_policy_over_api_gateways_quota_is_caught_at_synth(shared_api, monkeypatch):
    """API Gateway stores a resource policy with its short forms expanded to the API's ARN, and allows 8,192
    characters: the synth-time check measures it so (a config whose consumers outgrow it fails with the fix named)."""
    from checks import limits
    from config import quotas

    short = {"Statement": [{"Resource": "execute-api:/live/GET/items/*"}]}
    assert limits.size(limits.expanded_api_policy(short)) == (
        limits.size(short) + len(limits.LONGEST_API_ARN) - len("execute-api:/")
    )
    template = shared_api.template_json(shared_api.sharing("prod"))
    assert not [q for q, _, _ in limits.measure(template, 2048) if q.rule == "ApiPolicySize"]
    (api,) = [r["Properties"]["Policy"] for r in resources(template, "AWS::ApiGateway::RestApi").values()]
    measured = limits.size(limits.expanded_api_policy(api))
    monkeypatch.setattr(quotas, "APIGATEWAY_RESOURCE_POLICY_CHARACTERS", measured - 1)
    (found,) = [(q.what, where, size) for q, where, size in limits.measure(template, 2048) if q.rule == "ApiPolicySize"]
    assert found == ("API resource policy", "ApiOrders", measured)


WEB_ACL = "arn:aws:wafv2:eu-west-1:222222222222:regional/webacl/edge/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def test_a_web_acl_of_the_config_protects_the_apis_stage(tmp_path):
    from pipeline.app import synthesize

    text = API_CONFIG.replace("api: {rate_limit: 20, burst_limit: 40}", f"api: {{web_acl_arn: '{WEB_ACL}'}}")
    built = synthesize(parse_config(text), tmp_path)  # cdk-nag's APIG3 (a stage without a web ACL) not acknowledged
    template = built.template_json(built.sharing("prod"))
    (stage_id,) = resources(template, "AWS::ApiGateway::Stage")
    association = only(template, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == WEB_ACL
    arn = json.dumps(association["Properties"]["ResourceArn"])
    assert "/restapis/" in arn and '{"Ref": "ApiOrders"}' in arn and "/stages/" in arn
    assert stage_id in association["DependsOn"]
    # CloudFormation may associate the account's web ACLs with REST APIs' stages, and nothing else.
    from access_report.engine import evaluate
    from tests.unit.test_execution_fences import _cell

    documents = execution_policies(built.config, "222222222222", "eu-west-1", "aws")
    stage = "arn:aws:apigateway:eu-west-1::/restapis/a0b1c2d3e4/stages/live"
    balancer = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:loadbalancer/app/theirs/50dc6c495c0c9188"
    cells = [
        _cell(documents, "wafv2:AssociateWebACL", WEB_ACL, {}, "allow"),
        _cell(documents, "wafv2:AssociateWebACL", stage, {}, "allow"),
        # (apigateway:SetWebACL too: the evaluator cannot match a stage's ARN, which IAM's data lists in two forms.)
        _cell(documents, "wafv2:DisassociateWebACL", balancer, {}, "deny"),
        _cell(documents, "elasticloadbalancing:SetWebACL", "*", {}, "deny"),
    ]
    assert [f"{v.cell.action} {v.cell.resource}: {v.result}" for v in evaluate(cells) if not v.as_expected] == []


@pytest.mark.parametrize(
    ("acl", "message"),
    [
        (WEB_ACL.replace("222222222222", "999999999999"), "is not in the source account 222222222222"),
        (WEB_ACL.replace("eu-west-1", "us-east-1"), "is not in the source account 222222222222 and region eu-west-1"),
        (WEB_ACL.replace("regional", "global"), "is not a regional WAFv2 web ACL ARN"),
    ],
)
def test_a_web_acl_of_another_account_region_or_scope_is_one_line(acl, message):
    text = API_CONFIG.replace("api: {rate_limit: 20, burst_limit: 40}", f"api: {{web_acl_arn: '{acl}'}}")
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert "api.web_acl_arn" in str(error.value) and message in str(error.value)
