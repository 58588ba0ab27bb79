"""`make local` (until the local rehearsal lands): synthesize a config and print what the pipeline will
deploy: its stages in order, the accounts they deploy to, and every grant of the shared data.

Everything printed is read back from the synthesized templates, not from the configuration, so the summary
shows what would actually deploy.

    python -m tools.summary [--config config/example.yaml] [--outdir cdk.out]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bootstrap.policies import extension_boundary
from cdk_constructs.documents import consumer_policy
from checks.templates import PolicyDocument, PolicyKind, policy_documents
from config import DEFAULT_CONFIG, actions, load_config_or_report
from config.model import Consumer, ConsumerGroup, consumer_stage_id
from config.naming import API_STAGE, Names, api_id_output, api_logical_id, stage_stack_name
from tools.expiry import expiring_lines

RESOURCE_POLICIES = (
    PolicyKind.BUCKET, PolicyKind.ACCESS_POINT, PolicyKind.KEY, PolicyKind.TRUST, PolicyKind.TABLE, PolicyKind.API
)  # fmt: skip
DEPLOY_ROLE = re.compile(r":iam::(\d{12}):role/cdk-[a-z0-9]+-deploy-role")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--outdir", default="cdk.out")
    args = parser.parse_args(argv)
    config = load_config_or_report(args.config)
    if config is None:
        return 2

    from pipeline.app import synthesize_or_report  # imports aws_cdk: only once the config is known to be good

    started = time.perf_counter()
    synthesized = synthesize_or_report(config, Path(args.outdir), config_path=args.config)
    if synthesized is None:
        return 2
    elapsed = time.perf_counter() - started
    print(f"Synthesized {args.config} in {elapsed:.1f} s into {args.outdir}/ (cdk-nag: no unacknowledged findings)")
    render(synthesized)
    print()
    print("Next: `make test` runs the offline test suite; see README.md to bootstrap the accounts and deploy.")
    return 0


def render(synthesized: Any) -> None:
    print()
    print_pipeline(synthesized)
    extension = extension_boundary(synthesized.config, synthesized.config.tooling.partition)
    if extension:
        print()
        print("Permissions boundary, statements your extensions declare (bootstrap/policies.py):")
        for statement in extension:
            print(f"  {statement['Sid']}: {', '.join(statement['Action'])} on {', '.join(statement['Resource'])}")
    for environment in synthesized.config.environments:
        print()
        print_environment(synthesized, environment)


def print_pipeline(synthesized: Any) -> None:
    config = synthesized.config
    template = synthesized.template_json(synthesized.pipeline)
    (pipeline,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    repository = config.repository
    source = getattr(repository, "repository", None) or getattr(repository, "codecommit_repository", "")
    print(
        f"Pipeline {pipeline['Name']} in {config.tooling.account} {config.tooling.region} "
        f"({pipeline['PipelineType']}),\n  runs on every push to {source}@{repository.branch}"
    )
    rows = []
    for number, stage in enumerate(pipeline["Stages"], start=1):
        accounts = sorted({m for a in stage["Actions"] for m in DEPLOY_ROLE.findall(_text(a.get("RoleArn")))})
        actions = ", ".join(_action_label(a) for a in sorted(stage["Actions"], key=lambda a: a["RunOrder"]))
        rows.append((f"{number:>2}", stage["Name"], ", ".join(accounts) or "tooling", actions))
    _table(("#", "stage", "deploys to", "actions in order"), rows)


def print_environment(synthesized: Any, environment: Any) -> None:
    approval = "manual approval first" if environment.approval else "no approval"
    source = environment.source
    names = Names.of(synthesized.config, environment)
    print(f"Environment {environment.name} ({approval}): source {source.account} {source.region}")
    consumers = environment.consumers
    given = environment.given  # the consumers, then the consumer groups
    # Who gets which dataset first, one column per consumer and group; then what each dataset is.
    _table(
        ("dataset", *(c.name for c in given)),
        [(d.name, *(_given_as(c, d.name) for c in given)) for d in environment.datasets],
    )
    for line in expiring_lines(environment, datetime.now(UTC)):
        print(f"  {line}")
    for dataset in environment.datasets:
        n = names.dataset(dataset)
        parts = []
        if n.bucket:
            through = (
                " (existing; through the role)"
                if n.bucket_through_role
                else f" (existing; through access point {n.access_point}, key by KMS grants)"
                if n.through_access_point
                else ""
            )
            parts.append(f"objects {n.bucket}/{n.prefix}{through}")
        if dataset.api:
            parts.append(
                f"API {n.api} (REST, stage {API_STAGE}: GET for read, PUT and DELETE for read-write; "
                f"{dataset.api.rate_limit:g} requests/s, burst {dataset.api.burst_limit}; table {n.api})"
            )
        if n.table:
            reached = "role" if n.table_through_role else "its policy"
            parts.append(f"table {n.table} ({'existing; ' if not n.owns_table else ''}{reached})")
        print(textwrap.fill(f"{dataset.name}: {'; '.join(parts)}", WIDTH, initial_indent="  ",
                            subsequent_indent="      ", break_on_hyphens=False))  # fmt: skip
    if consumers:
        print(f"  consumers: {', '.join(f'{c.name} ({c.account} {c.region})' for c in consumers)}")
    for group in environment.consumer_groups:
        print(
            textwrap.fill(
                f"consumer group {group.name}: every account in {', '.join(group.organizational_units)} and the units "
                f"under them ({', '.join(group.regions)})"
                + (f"; its own roles {', '.join(group.roles)}" if group.roles else ""),
                WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    template = synthesized.template_json(synthesized.sharing(environment.name))
    rows = []
    for policy in policy_documents(template):
        for statement in policy.document.get("Statement", []):
            if policy.kind in RESOURCE_POLICIES:
                grant = _grant(statement)
                if grant:
                    rows.append((_where(template, policy), *grant))
            elif policy.kind is PolicyKind.INLINE and _source_role(template, policy, names, given):
                role = _source_role(template, policy, names, given)
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                rows.append(
                    (
                        f"role {role} may",
                        ", ".join(sorted(_as_list(statement["Action"]))),
                        "on " + ", ".join(_resource_label(template, r) for r in resources),
                        _conditions(statement),
                    )
                )
    for consumer in consumers:
        for n, access in names.key_grant_datasets(environment, consumer):
            key = n.dataset.bucket.kms_key if n.dataset.bucket else ""
            rows.append(
                (
                    f"key {key} grants ({names.key_grants(consumer)})",
                    ", ".join(f"kms:{operation}" for operation in actions.grant_operations(access)),
                    "roles " + ", ".join(arn.split(":role/", 1)[1] for arn in names.consumer_role_arns(consumer)),
                    f"dataset {n.name}",
                )
            )
    print("  Grants in the source account, as synthesized:")
    _table(("resource", "actions", "granted to", "only if"), rows)
    print_group_roles(names, environment)
    for index, consumer in enumerate(consumers):
        if consumer.roles:
            template = synthesized.template_json(synthesized.consumer(environment.name, index))
            (document,) = [
                resource["Properties"]["PolicyDocument"]
                for resource in template["Resources"].values()
                if resource["Type"] == "AWS::IAM::ManagedPolicy"
                and resource["Properties"].get("ManagedPolicyName") == names.shared_data_policy
            ]
            print(
                textwrap.fill(
                    f"{consumer.name}'s own roles {', '.join(consumer.roles)}: granted above. Their side is yours: "
                    "create this policy under a name of your own (the pipeline cannot change a policy it does not "
                    "own) and attach it to them:",
                    WIDTH,
                    initial_indent="  ",
                    subsequent_indent="  ",
                )
            )
            # An API's id is the consumer stack's, read at its deploy: its output DATASETApiId.
            lookups = looked_up_apis(template, environment)
            shown = _joined(_with_api_ids(document, lambda d: f"<{api_id_output(d)}>", lookups))
            print(textwrap.indent(json.dumps(shown, indent=2), "    "))
            stack = stage_stack_name(synthesized.config, consumer_stage_id(environment, consumer))
            path = OWN_ROLES_DIR / f"{environment.name}-{consumer.name}.template.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            own = own_roles_template(names, consumer, document, lookups, stack)
            path.write_text(json.dumps(own, indent=2) + "\n")
            print(
                textwrap.fill(
                    f"or deploy {path} in {consumer.account} {consumer.region} (it attaches the policy to them)",
                    WIDTH,
                    initial_indent="  ",
                    subsequent_indent="    ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )


def print_group_roles(names: Names, environment: Any) -> None:
    """A group's own roles: their side of the grants, to attach in each of its accounts (no stack of the project's is
    there yet to hold it)."""
    for group in environment.consumer_groups:
        if not group.roles:
            continue
        print(
            textwrap.fill(
                f"{group.name}'s own roles {', '.join(group.roles)}, in every account of its units: granted above. "
                "Their side is yours: create this policy in each account and attach it to them (an API's id is in "
                "the sharing stack's output DATASETApiUrl):",
                WIDTH,
                initial_indent="  ",
                subsequent_indent="  ",
            )
        )
        api_ids = {d.name: f"<id of API {names.dataset(d).api}>" for d in environment.datasets if d.api}
        document = consumer_policy(names, environment, group.member("<account>", group.regions[0]), api_ids)
        print(textwrap.indent(json.dumps(document, indent=2), "    "))


def _source_role(template: dict[str, Any], policy: PolicyDocument, names: Names, consumers: Any) -> str | None:
    """The name of the source role the inline policy belongs to, if it is one."""
    wanted = {names.source_role(c) for c in consumers}
    for role_id in policy.roles:
        name = template["Resources"][role_id]["Properties"].get("RoleName")
        if name in wanted:
            return str(name)
    holder = template["Resources"][policy.logical_id]["Properties"]
    for ref in holder.get("Roles", []):
        name = template["Resources"].get(ref.get("Ref", ""), {}).get("Properties", {}).get("RoleName")
        if name in wanted:
            return str(name)
    return None


def _resource_label(template: dict[str, Any], value: Any) -> str:
    """A resource of a source role's statement as a person reads it: the table or the key alias, not the intrinsic."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_resource_label(template, part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id = value["Fn::GetAtt"][0]
        resource = template["Resources"][logical_id]
        if resource["Type"] == "AWS::DynamoDB::GlobalTable":
            return f"table {resource['Properties']['TableName']}"
        aliases = [
            r["Properties"]["AliasName"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::KMS::Alias" and logical_id in _text(r["Properties"].get("TargetKeyId"))
        ]
        return f"key {', '.join(aliases) or logical_id}"
    return _short(_text(value))


def _short(arn: str) -> str:
    if ":dynamodb:" in arn and ":table/" in arn:
        return "table " + arn.split(":table/", 1)[1]
    return arn.split(":::")[-1] if ":::" in arn else arn.split(":", 5)[-1] if arn.startswith("arn:") else arn


def _conditions(statement: dict[str, Any]) -> str:
    condition = statement.get("Condition", {})
    prefix = condition.get("StringLike", {}).get("s3:prefix")
    via = condition.get("StringEquals", {}).get("kms:ViaService")
    if prefix:
        return "prefix " + ", ".join(_as_list(prefix))
    if via:
        return "via " + ", ".join(v.split(".")[0] for v in _as_list(via))
    return ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grant(statement: dict[str, Any]) -> tuple[str, str, str] | None:
    condition = statement.get("Condition", {})
    if statement.get("Effect") != "Allow" or "aws:PrincipalArn" not in _text(condition):
        return None
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    principal = statement["Principal"]["AWS"]
    principals = principal if isinstance(principal, list) else [principal]
    paths = condition.get("ForAnyValue:StringLike", {}).get("aws:PrincipalOrgPaths")
    if principals == ["*"] and paths:
        units = [path.rstrip("/*").rsplit("/", 1)[-1] for path in _as_list(paths)]
        who = f"organizational units {', '.join(units)} (and under them)"
    elif principals == ["*"]:
        who = f"organization {condition['StringEquals']['aws:PrincipalOrgID']}"
    else:
        who = "accounts " + ", ".join(re.sub(r".*::(\d{12}):root", r"\1", _text(p)) for p in principals)
    # The demo workloads' roles by name in the admitted accounts; a consumer's own roles in its own account only.
    roles = sorted({_role(arn) for arn in _principal_arns(condition)})
    only_if = "roles " + ", ".join(roles)
    via = condition.get("StringEquals", {}).get("kms:ViaService")
    if via:
        only_if += "; via " + ", ".join(v.split(".")[0] for v in via)
    prefix = condition.get("StringLike", {}).get("s3:prefix")
    if prefix:
        only_if += "; prefix " + ", ".join(_as_list(prefix))
    ends = condition.get("DateLessThan", {}).get("aws:CurrentTime")
    if ends:
        only_if += f"; before {ends}"
    return ", ".join(sorted(actions)), who, only_if


def _given_as(consumer: Consumer | ConsumerGroup, dataset: str) -> str:
    grant = consumer.grants.get(dataset)
    if grant is None:
        return "-"
    return grant.access + (f", ends {grant.until:%Y-%m-%d %H:%M}Z" if grant.until else "")


def _role(arn: str) -> str:
    account, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
    return name if account == "*" else f"{name} in {account}"


def _principal_arns(condition: dict[str, Any]) -> list[str]:
    for operator in ("ArnEquals", "ArnLike"):
        value = condition.get(operator, {}).get("aws:PrincipalArn")
        if value:
            return value if isinstance(value, list) else [value]
    return []


def _where(template: dict[str, Any], policy: PolicyDocument) -> str:
    properties = template["Resources"][policy.logical_id].get("Properties", {})
    if policy.kind is PolicyKind.TRUST:
        return f"role {properties.get('RoleName', '')} trust"
    if policy.kind is PolicyKind.TABLE:
        return f"table {properties['TableName']} policy"
    if policy.kind is PolicyKind.BUCKET:
        bucket = template["Resources"].get(policy.protects.get("Ref", ""), {}).get("Properties", {})
        return f"bucket {bucket.get('BucketName', '')} policy"
    if policy.kind is PolicyKind.ACCESS_POINT:
        return f"access point {properties.get('Name', '')} policy"
    if policy.kind is PolicyKind.API:
        return f"API {properties.get('Name', '')} policy"
    if policy.kind is PolicyKind.KEY:
        aliases = [
            r["Properties"]["AliasName"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::KMS::Alias" and policy.logical_id in _text(r["Properties"].get("TargetKeyId"))
        ]
        return f"key {', '.join(aliases)} policy"
    return str(policy.kind.value)


def _action_label(action: dict[str, Any]) -> str:
    return f"{action['Name']} [{action['ActionTypeId']['Provider']}]"


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


# Where the consumers' teams find their own roles' side as a template to review and deploy.
OWN_ROLES_DIR = Path("reports") / "own-roles"


def own_roles_template(
    names: Names, consumer: Any, document: dict[str, Any], api_ids: dict[str, str] | None = None, stack: str = ""
) -> dict[str, Any]:
    """A CloudFormation template the consumer's team deploys in its account: the shared-data policy of its consumer
    stage, under a name of the team's own (the pipeline rewrites its own policy at every deploy), attached to the roles
    the config lists for it (by name: a managed policy's Roles take names, without their paths). An API's id, which
    the consumer stack reads at deploy (api_ids: its lookup's logical id -> the dataset), is a parameter: the consumer
    stack's output DATASETApiId."""
    api_ids = api_ids or {}
    parameters: dict[str, Any] = {
        "PolicyName": {
            "Type": "String",
            "Default": f"{names.project}-{names.environment}-{consumer.name}-own-roles",
            "Description": "A name of your own: not the stage's shared-data policy, which the pipeline rewrites",
        }
    }
    for dataset in api_ids.values():
        parameters[api_id_output(dataset)] = {
            "Type": "String",
            "AllowedPattern": "[a-z0-9]{10}",
            "Description": f"The id of dataset {dataset}'s API: the output {api_id_output(dataset)} of the stack "
            f"{stack} in this account (after the pipeline deployed it)",
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"The side of {names.project} {names.environment} consumer {consumer.name}'s own roles: what they may do "
            f"with the datasets it is given (make summary writes this file)"
        ),
        "Parameters": parameters,
        "Resources": {
            "OwnRolesSharedData": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": {"Ref": "PolicyName"},
                    "Description": f"Datasets {names.project} {names.environment} gives {consumer.name}",
                    "Roles": [role.rsplit("/", 1)[-1] for role in consumer.roles],
                    "PolicyDocument": _with_api_ids(document, lambda d: {"Ref": api_id_output(d)}, api_ids),
                },
            }
        },
    }


def looked_up_apis(template: dict[str, Any], environment: Any) -> dict[str, str]:
    """The consumer stack's lookups of its environment's APIs' ids: the custom resource's logical id -> the dataset."""
    apis = {api_logical_id(d.name): d.name for d in environment.datasets if d.api}
    found = {}
    for logical_id, resource in template["Resources"].items():
        create = resource.get("Properties", {}).get("Create")
        if resource["Type"] == "Custom::AWS" and isinstance(create, str):
            call = json.loads(create)
            if call.get("action") == "describeStackResource" and call["parameters"]["LogicalResourceId"] in apis:
                found[logical_id] = apis[call["parameters"]["LogicalResourceId"]]
    return found


def _joined(value: Any) -> Any:
    """Each Fn::Join of strings alone as the string it makes."""
    if isinstance(value, dict):
        join = value.get("Fn::Join")
        if len(value) == 1 and isinstance(join, list) and all(isinstance(p, str) for p in join[1]):
            return str(join[0]).join(join[1])
        return {k: _joined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_joined(v) for v in value]
    return value


def _with_api_ids(value: Any, replace: Any, api_ids: dict[str, str]) -> Any:
    """The document with each lookup's attribute (an API's id) replaced."""
    if isinstance(value, dict):
        get = value.get("Fn::GetAtt")
        if len(value) == 1 and isinstance(get, list) and get[0] in api_ids:
            return replace(api_ids[get[0]])
        return {k: _with_api_ids(v, replace, api_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_api_ids(v, replace, api_ids) for v in value]
    return value


# A terminal's width: the widest columns wrap onto further lines to stay within it.
WIDTH = 120


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns where they fit in WIDTH, the last wrapping onto further lines; else a record per row: its first two
    cells, then each other cell on a line of its own, named by its header."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    fixed = 2 + sum(widths[:-1]) + 2 * (len(widths) - 1)
    last = max((len(word) for row in rows for word in str(row[-1]).split()), default=1)
    if fixed + max(last, 24) <= WIDTH:
        widths[-1] = min(widths[-1], WIDTH - fixed)
        for row in (headers, *rows):
            lines = textwrap.wrap(str(row[-1]), widths[-1], break_on_hyphens=False) or [""]
            head = "  ".join(str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=False))
            print(f"  {head}  {lines[0]}".rstrip())
            for line in lines[1:]:
                print(f"  {' ' * len(head)}  {line}".rstrip())
        return
    for row in rows:
        print(
            "\n".join(
                textwrap.wrap(
                    ": ".join(str(cell) for cell in row[:2] if cell),
                    WIDTH - 2,
                    initial_indent="  ",
                    subsequent_indent="      ",
                    break_on_hyphens=False,
                )
            )
        )
        for header, cell in zip(headers[2:], row[2:], strict=False):
            if cell:
                print(
                    "\n".join(
                        textwrap.wrap(
                            f"{header}: {cell}",
                            WIDTH - 6,
                            initial_indent="      ",
                            subsequent_indent="        ",
                            break_on_hyphens=False,
                        )
                    )
                )


if __name__ == "__main__":
    sys.exit(main())
