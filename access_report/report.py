"""The access report in Markdown: a picture of accounts and allowed paths (Mermaid) and the whole matrix."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from access_report.cells import Cell
from access_report.dataset_cells import CONSUMERS_OWN, OUTSIDER
from access_report.engine import Verdict
from access_report.execution import PATH as EXECUTION
from config import actions
from config.actions import aws_time

ENGINE = "@cloud-copilot/iam-simulate"


def render(config_path: str, verdicts: list[Verdict], *, engine_version: str, at: datetime | None = None) -> str:
    differing = [o for o in verdicts if not o.as_expected]
    allowed = sum(o.actual == "allow" for o in verdicts)
    lines = [
        f"# Access report: {config_path}",
        "",
        f"Every access path of the configuration, evaluated offline from the synthesized templates by {ENGINE} "
        f"{engine_version}: the principal's identity policies, the resource's policy and the cross-account rule "
        "together. Probes of principals that must get nothing are given an identity policy that allows "
        "everything, so only the source account's own policies decide them."
        + (
            f" Every request is made at {aws_time(at)} (aws:CurrentTime): a grant ended by then is expected refused."
            if at
            else ""
        )
        + (
            " A consumer group's accounts are decided on samples, as the report cannot list an organizational unit's "
            "accounts: one account per unit, one in a unit under the first, and one of the organization outside them "
            "all, each with the roles of the group's names (aws:PrincipalOrgPaths from its path)."
            if any(o.cell.org_paths for o in verdicts)
            else ""
        ),
        "",
        f"**{len(verdicts)} requests: {allowed} allowed, {len(verdicts) - allowed} denied; "
        + (f"{len(differing)} differ from the expectation.**" if differing else "all as expected.**"),
        "",
    ]
    if differing:
        lines += ["## Differences", "", "| cell | expected | result |", "|---|---|---|"]
        lines += [f"| {_cell(o.cell.name)} | {o.cell.expected} | {o.result} |" for o in differing]
        lines.append("")
    shared = [o for o in verdicts if o.cell.dataset]
    lines += ["## Who gets which dataset", "", *_consumer_matrix(shared), ""]
    lines += ["```mermaid", *_datasets_picture(shared), "```", ""]
    lines += ["## Datasets by consumer role and action", "", *_dataset_matrix(shared), ""]
    deployment = [o for o in verdicts if not o.cell.dataset and o.cell.environment in ("bootstrap", EXECUTION)]
    lines += ["## Deployment trust", "", "```mermaid", *_picture(deployment), "```", ""]
    by_environment: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        by_environment[verdict.cell.environment].append(verdict)
    for environment, rows in by_environment.items():
        titles = {
            "bootstrap": "Bootstrap trust (tooling account → deploy and publishing roles)",
            EXECUTION: "Bootstrap execution policy (what CloudFormation may do in each target account)",
        }
        title = titles.get(environment, f"Environment {environment} (source account {rows[0].cell.resource_account})")
        lines += [
            f"## {title}",
            "",
            "| who | dataset | account | action | resource | expected | result | |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for o in rows:
            mark = "ok" if o.as_expected else "**DIFFERS**"
            cell = o.cell
            lines.append(
                f"| {_cell(cell.who)} | {cell.dataset or ''} | {cell.principal_account} | `{cell.action}` | "
                f"`{cell.resource}` | {cell.expected} | {o.result} | {mark} |"
            )
        lines.append("")
    return "\n".join(lines)


def _picture(verdicts: list[Verdict]) -> list[str]:
    accounts: dict[str, set[str]] = defaultdict(set)
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for o in verdicts:
        if o.actual != "allow":
            continue
        source = _node(o.cell.principal)
        target = _node(o.cell.resource)
        accounts[o.cell.principal_account].add(source)
        accounts[o.cell.resource_account].add(target)
        edges[(source, target)].add(o.cell.action.split(":", 1)[1])
    lines = ["flowchart LR"]
    for account, nodes in sorted(accounts.items()):
        lines.append(f"  subgraph a{account}[account {account}]")
        lines += [f'    {_id(node)}["{node}"]' for node in sorted(nodes)]
        lines.append("  end")
    for (source, target), allowed in sorted(edges.items()):
        lines.append(f'  {_id(source)} -- "{", ".join(sorted(allowed))}" --> {_id(target)}')
    return lines


WRITES = ("s3:PutObject", "dynamodb:PutItem", "kms:GenerateDataKey")


def _label(cell: Cell) -> str:
    """A cell's action as the matrices show it: an API's call with its method (execute-api:Invoke PUT), for which
    the method says whether it writes."""
    if cell.action in actions.INVOKE:
        return f"{cell.action} {cell.resource.split('/')[2]}"
    return cell.action


def _writes(cell: Cell) -> bool:
    return cell.action in WRITES or _label(cell) in API_WRITES


API_WRITES = tuple(f"{actions.INVOKE[0]} {method}" for method in actions.API_WRITE_METHODS)


def _datasets_picture(verdicts: list[Verdict]) -> list[str]:
    """Accounts, datasets and consumers, with a read or read-write edge where the evaluation allowed the consumer's
    roles the dataset (its source role's cells are the same path, inside the source account)."""
    datasets: dict[str, set[str]] = defaultdict(set)  # source account -> "environment/dataset"
    consumers: dict[str, set[str]] = defaultdict(set)  # consumer account -> consumer
    edges: dict[tuple[str, str], str] = {}
    for o in verdicts:
        cell = o.cell
        if o.actual != "allow" or cell.principal_account == cell.resource_account or cell.expected != "allow":
            continue
        dataset = f"{cell.environment}/{cell.dataset}"
        consumer = f"{cell.environment}/{cell.who.split()[0]}"
        datasets[cell.resource_account].add(dataset)
        # A consumer group's sample accounts are one node, in its units (a node in several subgraphs would be drawn in
        # the last one only).
        consumers[f"units of {consumer}" if cell.org_paths else cell.principal_account].add(consumer)
        writes = _writes(cell) or edges.get((consumer, dataset)) == "read-write"
        edges[(consumer, dataset)] = "read-write" if writes else "read"
    for o in verdicts:  # what a consumer does through its source role, inside the source account
        cell = o.cell
        key = (f"{cell.environment}/{cell.who.split()[0]}", f"{cell.environment}/{cell.dataset}")
        inside = cell.principal_account == cell.resource_account
        if o.actual == "allow" and inside and key in edges and _writes(cell):
            edges[key] = "read-write"
    lines = ["flowchart LR"]
    for kind, groups in (("source", datasets), ("consumer", consumers)):
        for account, nodes in sorted(groups.items()):
            label = f"consumer group's {account}" if account.startswith("units of ") else f"{kind} account {account}"
            lines.append(f"  subgraph {'a' + account if account.isdigit() else _id(account)}[{label}]")
            lines += [f'    {_id(kind + node)}["{node}"]' for node in sorted(nodes)]
            lines.append("  end")
    for (consumer, dataset), access in sorted(edges.items()):
        arrow = "==>" if access == "read-write" else "-->"
        lines.append(f"  {_id('consumer' + consumer)} {arrow}|{access}| {_id('source' + dataset)}")
    return lines


WRITE_ACTIONS = ("s3:PutObject", "dynamodb:PutItem")


def _consumer_matrix(verdicts: list[Verdict]) -> list[str]:
    """Per environment, a dataset x consumer table of what the evaluation allows each consumer's roles: read-write
    (a write allowed), read (reads only), or - (refused); DIFFERS where a cell of theirs is not as expected."""
    consumers: dict[str, list[str]] = defaultdict(list)
    datasets: dict[str, list[str]] = defaultdict(list)
    found: dict[tuple[str, str, str], list[Verdict]] = defaultdict(list)
    for o in verdicts:
        # "analytics function role"; "third account: ...", "glue-etl of another account" (the account of no consumer)
        third = o.cell.who.startswith("third ") or o.cell.principal_account == OUTSIDER
        consumer = "a third account" if third else o.cell.who.split()[0]
        environment, dataset = o.cell.environment, str(o.cell.dataset)
        if consumer not in consumers[environment]:
            consumers[environment].append(consumer)
        if dataset not in datasets[environment]:
            datasets[environment].append(dataset)
        found[environment, dataset, consumer].append(o)
    lines = []
    for environment, names in consumers.items():
        names.sort(key=lambda name: name == "a third account")  # the consumers in config order, then the outsider
        lines += [f"**{environment}**", "", f"| dataset | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
        for dataset in datasets[environment]:
            cells = []
            for consumer in names:
                these = found[environment, dataset, consumer]
                # the dataset's own resources decide the level: writing its query results is not writing the dataset
                allowed = {_label(o.cell) for o in these if o.actual == "allow" and o.cell.path not in CONSUMERS_OWN}
                level = "read-write" if allowed & {*WRITE_ACTIONS, *API_WRITES} else "read" if allowed else "-"
                cells.append(level if all(o.as_expected for o in these) else f"{level} **DIFFERS**")
            lines.append(f"| {dataset} | {' | '.join(cells)} |")
        lines.append("")
    return lines


def _dataset_matrix(verdicts: list[Verdict]) -> list[str]:
    """Per environment and dataset: each consumer role's actions allowed, and the number of its denials."""
    rows: dict[tuple[str, str, str], tuple[set[str], int]] = {}
    for o in verdicts:
        key = (o.cell.environment, str(o.cell.dataset), o.cell.who)
        allowed, denied = rows.get(key, (set(), 0))
        if o.actual == "allow":
            allowed.add(_label(o.cell))
        else:
            denied += 1
        rows[key] = (allowed, denied)
    lines = ["| environment | dataset | who | allowed | denied probes |", "|---|---|---|---|---|"]
    for (environment, dataset, who), (allowed, denied) in rows.items():
        shown = ", ".join(f"`{a}`" for a in sorted(allowed)) or "nothing"
        lines.append(f"| {environment} | {dataset} | {_cell(who)} | {shown} | {denied} |")
    return lines


def _node(arn: str) -> str:
    account = arn.split(":")[4]
    resource = arn.split(":", 5)[5]
    resource = re.sub(r"/(reports/sample\.csv|index/.*)$", "", resource)
    service = arn.split(":")[2]
    return f"{service} {resource}" + (f" ({account})" if account else "")


def _id(node: str) -> str:
    return "n" + re.sub(r"[^A-Za-z0-9]", "_", node)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
