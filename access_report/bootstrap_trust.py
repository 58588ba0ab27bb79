"""The cells of bootstrap trust: every role of the pipeline that may assume a target's deploy or publishing role
is admitted by that role's trust policy as `cdk bootstrap --trust TOOLING` renders it; another tooling account
is not."""

from __future__ import annotations

from access_report.cells import ALLOW_ALL, Cell, Document, Expected, Request
from access_report.dataset_cells import OUTSIDER
from access_report.inputs import Deployment, Inputs
from access_report.intrinsics import Resolver
from access_report.policies import PolicyError, assume_role_grants, identity_policies, resolver
from config.naming import Bootstrap

# The logical ids of the bootstrap template's roles that the pipeline assumes.
BOOTSTRAP_ROLES = {"deploy": "DeploymentActionRole", "file": "FilePublishingRole", "image": "ImagePublishingRole"}


def bootstrap_cells(inputs: Inputs) -> list[Cell]:
    config = inputs.config
    tooling, partition = config.tooling.account, config.tooling.partition
    pipeline = resolver(inputs.pipeline, tooling, config.tooling.region, "pipeline")
    grants = assume_role_grants(inputs.pipeline, pipeline)
    cells = []
    for deployment in inputs.deployments:
        trust = _bootstrap_trust(inputs, deployment, tooling)
        for kind, role_arn in [("deploy", deployment.deploy_role), *deployment.publishing_roles]:
            callers = [role for role, assumable in grants.items() if role_arn in assumable]
            if not callers:
                raise PolicyError(f"no pipeline role may assume {role_arn}, which {deployment.stack} needs")
            request = Request("bootstrap", "sts:AssumeRole", role_arn, trust[kind])
            for caller in callers:
                identity = identity_policies(inputs.pipeline, pipeline, caller)
                principal = f"arn:{partition}:iam::{tooling}:role/{caller}"
                cells.append(
                    _assume(deployment, f"pipeline role {caller}", principal, tooling, request, identity, "allow")
                )
            outsider = f"arn:{partition}:iam::{OUTSIDER}:role/pipeline"
            cells.append(
                _assume(deployment, "untrusted tooling account", outsider, OUTSIDER, request, [ALLOW_ALL], "deny")
            )
    return cells


def _assume(
    deployment: Deployment,
    who: str,
    principal: str,
    account: str,
    request: Request,
    identity: list[Document],
    expected: Expected,
) -> Cell:
    return Cell(
        environment="bootstrap",
        who=who,
        principal=principal,
        principal_account=account,
        request=request,
        resource_account=deployment.account,
        expected=expected,
        identity_policies=tuple(identity),
    )


def _bootstrap_trust(inputs: Inputs, deployment: Deployment, tooling: str) -> dict[str, Document]:
    """The trust policies of the bootstrap roles as `cdk bootstrap --trust TOOLING` renders them."""
    resolve = Resolver(
        inputs.bootstrap,
        deployment.account,
        deployment.region,
        partition=inputs.config.tooling.partition,
        parameters={
            "TrustedAccounts": [tooling],
            "TrustedAccountsForLookup": [],
            "Qualifier": Bootstrap.of(inputs.config).qualifier,
        },
        where=f"bootstrap template ({deployment.account} {deployment.region})",
    )
    return {
        kind: resolve.resolve(inputs.bootstrap["Resources"][logical]["Properties"]["AssumeRolePolicyDocument"], logical)
        for kind, logical in BOOTSTRAP_ROLES.items()
    }
