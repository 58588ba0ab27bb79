"""The access report in Markdown: a picture of accounts and allowed paths (Mermaid) and the whole matrix."""

from __future__ import annotations

import re
from collections import defaultdict

from access_report.engine import Verdict
from access_report.execution import PATH as EXECUTION

ENGINE = "@cloud-copilot/iam-simulate"


def render(config_path: str, verdicts: list[Verdict], *, engine_version: str) -> str:
    differing = [o for o in verdicts if not o.as_expected]
    allowed = sum(o.actual == "allow" for o in verdicts)
    lines = [
        f"# Access report: {config_path}",
        "",
        f"Every access path of the configuration, evaluated offline from the synthesized templates by {ENGINE} "
        f"{engine_version}: the principal's identity policies, the resource's policy and the cross-account rule "
        "together. Probes of principals that must get nothing are given an identity policy that allows "
        "everything, so only the source account's own policies decide them.",
        "",
        f"**{len(verdicts)} requests: {allowed} allowed, {len(verdicts) - allowed} denied; "
        + (f"{len(differing)} differ from the expectation.**" if differing else "all as expected.**"),
        "",
    ]
    if differing:
        lines += ["## Differences", "", "| cell | expected | result |", "|---|---|---|"]
        lines += [f"| {_cell(o.cell.name)} | {o.cell.expected} | {o.result} |" for o in differing]
        lines.append("")
    lines += ["## Accounts and allowed paths", "", "```mermaid", *_picture(verdicts), "```", ""]
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
            "| who | account | action | resource | expected | result | |",
            "|---|---|---|---|---|---|---|",
        ]
        for o in rows:
            mark = "ok" if o.as_expected else "**DIFFERS**"
            account = o.cell.principal_account
            lines.append(
                f"| {_cell(o.cell.who)} | {account} | `{o.cell.action}` | `{o.cell.resource}` | "
                f"{o.cell.expected} | {o.result} | {mark} |"
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
    for (source, target), actions in sorted(edges.items()):
        lines.append(f'  {_id(source)} -- "{", ".join(sorted(actions))}" --> {_id(target)}')
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
