"""The tooling account's pipeline: its source, synth step, stage order, approvals and test steps."""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline_steps.prove_consumers import WAVE_VARIABLE, Wave
from tests.templates import inline_statements, only, resources, role_named
from toolchain import ROOT, RUNTIME_DIR, cdk_cli_version


def _pipeline(synthesized) -> dict[str, Any]:
    return only(synthesized.template_json(synthesized.pipeline), "AWS::CodePipeline::Pipeline")["Properties"]


def _projects(synthesized) -> dict[str, dict[str, Any]]:
    template = synthesized.template_json(synthesized.pipeline)
    return {k: r["Properties"] for k, r in resources(template, "AWS::CodeBuild::Project").items()}


def _actions(stage: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in stage["Actions"]]


def test_pipeline_is_v2_self_mutating_with_cross_account_keys(example):
    properties = _pipeline(example)
    assert properties["PipelineType"] == "V2"
    stages = [stage["Name"] for stage in properties["Stages"]]
    assert stages[:3] == ["Source", "Build", "UpdatePipeline"]
    # cross_account_keys: the artifact bucket is encrypted with a customer-managed key others can be granted.
    # One artifact store per region (the pipeline's and each other consumer region's), all with a KMS key.
    stores = properties["ArtifactStores"]
    assert {store["Region"] for store in stores} == {"eu-west-1", "eu-central-1"}
    assert all(store["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS" for store in stores)
    template = example.template_json(example.pipeline)
    keys = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    assert keys and all(key["Properties"]["EnableKeyRotation"] for key in keys)


def test_assets_publish_in_one_action_per_kind(example):
    # Not one CodeBuild action per asset: slower and costlier for a handful of small assets.
    assets = next(stage for stage in _pipeline(example)["Stages"] if stage["Name"] == "Assets")
    assert _actions(assets) == [("DockerAssets", "CodeBuild", 1), ("FileAssets", "CodeBuild", 1)]


def test_source_triggers_on_push_to_the_configured_branch(example):
    source = _pipeline(example)["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": example.config.repository.connection_arn,
        "FullRepositoryId": "my-org/cross-account-data-sharing",
        "BranchName": "main",
        "DetectChanges": True,
    }


def test_codecommit_source(organization):
    source = _pipeline(organization)["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["RepositoryName"] == "data-sharing"
    assert source["Configuration"]["BranchName"] == "main"


def test_synth_step_runs_the_tests_before_synthesizing(example):
    synth = next(p for k, p in _projects(example).items() if "Synth" in k)
    commands = json.loads(synth["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert commands == ["make pipeline-synth CONFIG=config/example.yaml"]
    makefile = (example_root() / "Makefile").read_text()
    assert "pipeline-synth: deployable test access-report ##" in makefile
    # Then the access changes since what each environment deployed, then cdk synth with them (for the approvals).
    recipe = makefile.split("pipeline-synth: ")[1].split("\n\n")[0]
    assert "-m tools.access_diff --records" in recipe and "$(MAKE) synth" in recipe
    variables = {v["Name"]: v["Value"] for v in synth["Environment"]["EnvironmentVariables"]}
    assert variables["ACCESS_RECORDS"] == "datashare-access-records-111111111111-eu-west-1"


def _role_policy(template: dict, project: dict) -> list[dict]:
    role = project["ServiceRole"]["Fn::GetAtt"][0]
    return [
        statement
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]


def _records(statements: list[dict]) -> list[tuple[str, list[str]]]:
    found = []
    for statement in statements:
        if "AccessRecords" in json.dumps(statement["Resource"]):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            found.append((statement["Action"], [_joined_arn(r) for r in resources]))
    return found


def _joined_arn(value) -> str:
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(p if isinstance(p, str) else "BUCKET" for p in value["Fn::Join"][1])
    return "BUCKET" if isinstance(value, dict) else value


def test_the_synth_step_reads_what_each_environment_deployed_and_writes_its_changes_and_nothing_else(example):
    template = example.template_json(example.pipeline)
    synth = next(p for k, p in _projects(example).items() if "Synth" in k)
    assert _records(_role_policy(template, synth)) == [
        ("s3:ListBucket", ["BUCKET"]),
        ("s3:GetObject", ["BUCKET/deployed/dev.yaml", "BUCKET/deployed/prod.yaml"]),
        ("s3:PutObject", ["BUCKET/access-changes/dev.txt", "BUCKET/access-changes/prod.txt"]),
    ]
    name = "datashare-access-records-111111111111-eu-west-1"
    (bucket,) = [r for r in template["Resources"].values() if r["Properties"].get("BucketName") == name]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_each_environments_last_test_step_records_what_it_deployed_once_its_consumers_pass(example):
    template = example.template_json(example.pipeline)
    proof = next(p for k, p in _projects(example).items() if "Proveprod" in k)
    commands = json.loads(proof["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    assert commands == ["python3 pipeline_steps/prove_consumers.py", "python3 pipeline_steps/record_deployed.py"]
    variables = {v["Name"]: v["Value"] for v in proof["Environment"]["EnvironmentVariables"]}
    assert (variables["ACCESS_ENVIRONMENT"], variables["ACCESS_CONFIG"]) == ("prod", "config/example.yaml")
    # Every wave of the environment, which its daily proof then proves.
    assert [t.consumer for t in Wave.decode(variables["DEPLOYED_WAVE_1"]).targets] == [
        "analytics",
        "reporting",
        "ingest",
    ]
    assert _records(_role_policy(template, proof)) == [
        ("s3:PutObject", ["BUCKET/deployed/prod.waves.json", "BUCKET/deployed/prod.yaml"])
    ]


def test_self_mutation_uses_the_cli_version_pinned_in_package_json(example):
    mutation = next(p for k, p in _projects(example).items() if "SelfMutation" in k)
    assert f"aws-cdk@{cdk_cli_version()}" in mutation["Source"]["BuildSpec"]


def test_each_environment_deploys_sharing_then_consumers_then_checks_in_config_order(example):
    stages = _pipeline(example)["Stages"][4:]  # after Source, Build, UpdatePipeline, Assets
    assert [stage["Name"] for stage in stages] == ["dev-sharing", "dev-analytics", "prod-sharing", "prod-consumers"]
    # The wave deploys its consumers in parallel (same run order, one action each: no change sets), then
    # one proof step for all of them.
    # analytics' key grants (of the data lake's existing key, in the source account) deploy after its roles exist.
    prod_consumers = _actions(stages[3])
    assert prod_consumers == [
        ("prod-analytics.datashare-prod-analytics.Deploy", "CloudFormation", 1),
        ("prod-reporting.datashare-prod-reporting.Deploy", "CloudFormation", 1),
        ("prod-ingest.datashare-prod-ingest.Deploy", "CloudFormation", 1),
        ("prod-analytics.datashare-prod-analytics-key-grants.Deploy", "CloudFormation", 2),
        ("Prove-prod", "CodeBuild", 3),
    ]


def test_stages_deploy_to_the_configured_accounts(example):
    stages = {stage["Name"]: stage for stage in _pipeline(example)["Stages"]}
    deploy = next(a for a in stages["prod-sharing"]["Actions"] if a["Name"].endswith("Deploy"))
    assert "444444444444" in json.dumps(deploy["RoleArn"])
    deploys = [a for a in stages["prod-consumers"]["Actions"] if a["Name"].endswith("Deploy")]
    assert ["555555555555" in json.dumps(a["RoleArn"]) for a in deploys] == [True, False, False, False]
    assert ["666666666666" in json.dumps(a["RoleArn"]) for a in deploys] == [False, True, False, False]
    assert ["777777777777" in json.dumps(a["RoleArn"]) for a in deploys] == [False, False, True, False]
    assert ["444444444444" in json.dumps(a["RoleArn"]) for a in deploys] == [False, False, False, True]  # key grants


def test_approval_gates_only_the_marked_environment_before_its_first_deployment(example):
    stages = {stage["Name"]: _actions(stage) for stage in _pipeline(example)["Stages"]}
    # First the check that stops on widened IAM permissions, then the person's approval, then the deploy.
    assert stages["prod-sharing"] == [
        ("Broadening-prod.Check", "CodeBuild", 1),
        ("Broadening-prod.Confirm", "Manual", 2),  # approved automatically unless permissions widen
        ("Approve-prod", "Manual", 3),
        ("datashare-prod-sharing.Deploy", "CloudFormation", 4),
    ]
    manual = [name for name, actions in stages.items() if any(a[1] == "Manual" for a in actions)]
    assert stages["dev-sharing"] == [("Deploy", "CloudFormation", 1)]
    assert manual == ["prod-sharing"]


def test_one_proof_step_per_wave_names_its_consumers_from_the_config(example):
    proof = next(p for k, p in _projects(example).items() if "Proveprod" in k)
    spec = json.loads(proof["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"][0] == "python3 pipeline_steps/prove_consumers.py"
    # The step installs the one boto3 pin, the runtime's.
    (pin,) = re.findall(r"^boto3==(\S+)$", (RUNTIME_DIR / "requirements.txt").read_text(), re.M)
    assert spec["phases"]["install"]["commands"] == [f"python3 -m pip install --quiet boto3=={pin}"]
    variables = {v["Name"]: v["Value"] for v in proof["Environment"]["EnvironmentVariables"]}
    wave = Wave.decode(variables[WAVE_VARIABLE])
    assert [(t.consumer, t.account, t.region) for t in wave.targets] == [
        ("analytics", "555555555555", "eu-west-1"),
        ("reporting", "666666666666", "eu-central-1"),
        ("ingest", "777777777777", "eu-west-1"),
    ]
    # The names the consumer stacks give their function and proof role.
    for index in range(len(wave.targets)):
        consumer = example.template_json(example.consumer("prod", index))
        names = {f["Properties"]["FunctionName"] for f in resources(consumer, "AWS::Lambda::Function").values()}
        assert wave.function in names and names <= {wave.function, "datashare-prod-locate"}  # analytics: its aliases
        role_named(consumer, wave.role)
    checks = [k for k in _projects(example) if "Provedev" in k or "Proveprod" in k]
    assert len(checks) == 2  # dev and prod, not per consumer


def test_no_action_configuration_value_is_over_codepipelines_1000_characters(example):
    # "Member must have length less than or equal to 1000" (aws/aws-cdk#17067): a wave's stack outputs went past it.
    for stage in _pipeline(example)["Stages"]:
        for action in stage["Actions"]:
            for name, value in action.get("Configuration", {}).items():
                assert len(json.dumps(value) if not isinstance(value, str) else value) <= 1000, (action["Name"], name)


def test_failed_runs_and_waiting_approvals_notify_an_encrypted_topic_of_the_configured_addresses(example):
    template = example.template_json(example.pipeline)
    rule = only(template, "AWS::CodeStarNotifications::NotificationRule")["Properties"]
    assert sorted(rule["EventTypeIds"]) == [
        "codepipeline-pipeline-manual-approval-needed",
        "codepipeline-pipeline-pipeline-execution-failed",
    ]
    topic_id = rule["Targets"][0]["TargetAddress"]["Ref"]
    topic = template["Resources"][topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic
    subscriptions = [r["Properties"] for r in resources(template, "AWS::SNS::Subscription").values()]
    assert subscriptions == [
        {"Protocol": "email", "TopicArn": {"Ref": topic_id}, "Endpoint": "platform-team@example.com"}
    ]


def test_only_approval_gated_environments_get_the_broadening_check(example):
    names = [a["Name"] for s in _pipeline(example)["Stages"] for a in s["Actions"]]
    assert [n for n in names if n.startswith("Broadening")] == ["Broadening-prod.Check", "Broadening-prod.Confirm"]


def test_proof_step_role_may_only_assume_the_waves_proof_roles(example):
    template = example.template_json(example.pipeline)
    statements = inline_statements(template, role_named(template, "datashare-prod-proof-step-1"))
    assumes = [s for s in statements if "sts:AssumeRole" in json.dumps(s["Action"])]
    assert assumes == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": [
                "arn:aws:iam::555555555555:role/datashare-prod-pipeline-proof",
                "arn:aws:iam::666666666666:role/datashare-prod-pipeline-proof",
                "arn:aws:iam::777777777777:role/datashare-prod-pipeline-proof",
            ],
        }
    ]
    assert not any("lambda:" in json.dumps(s["Action"]) for s in statements)


def example_root():
    from pipeline.app import ROOT

    return ROOT


def test_the_source_action_may_use_the_connection_by_the_prefix_of_its_arn(example):
    # AWS authorizes UseConnection on a codeconnections ARN only by the action of that prefix.
    arn = example.config.repository.connection_arn
    assert arn.startswith("arn:aws:codeconnections:")
    template = example.template_json(example.pipeline)
    allowed = [
        action
        for policy in resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Resource") == arn
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    ]
    assert "codeconnections:UseConnection" in allowed


def test_the_notification_key_serves_codestar_notifications_only_through_sns(example):
    template = example.template_json(example.pipeline)
    rule = only(template, "AWS::CodeStarNotifications::NotificationRule")["Properties"]
    topic_id = rule["Targets"][0]["TargetAddress"]["Ref"]
    key_id = template["Resources"][topic_id]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    for_the_service = [
        s
        for s in template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"].get("Service") == "codestar-notifications.amazonaws.com"
    ]
    # One statement, and it holds only through SNS: no other statement for the service undoes the condition.
    assert [s["Condition"] for s in for_the_service] == [
        {"StringEquals": {"kms:ViaService": ["sns.eu-west-1.amazonaws.com"]}}
    ]
    (policy_id,) = resources(template, "AWS::SNS::TopicPolicy")
    (rule_resource,) = resources(template, "AWS::CodeStarNotifications::NotificationRule").values()
    assert policy_id in rule_resource["DependsOn"]  # the topic admits the service before the rule is made
    policy = template["Resources"][policy_id]
    (publish,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
    ]
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_consumer_stacks_are_validated_by_family_of_the_same_grants(example):
    # CloudFormation's template validation runs once per family: consumers given other datasets are other stacks.
    families = [stage.family for stage in example.consumer_stages("prod")]
    assert len(set(families)) == 3  # analytics, reporting and ingest are given different datasets
    assert (
        families[1] == "consumers of prod in eu-central-1 given reference read until 2031-04-01T00:00:00Z, sales read"
    )


def test_every_stack_uses_the_projects_own_bootstrap_never_the_accounts_default(example):
    """`cdk bootstrap --trust` replaces what the bootstrap stack it updates trusts and may do: the default one
    (CDKToolkit, hnb659fds) is other CDK apps' and teams', so the project bootstraps and deploys with its own."""
    from config.loader import parse_config
    from config.naming import Bootstrap

    assert Bootstrap.of(example.config).qualifier == "datashare"
    assert Bootstrap.of(example.config).stack == "CDKToolkit-datashare"
    text = (ROOT / "config" / "example.yaml").read_text()
    assert "project: datashare" in text
    # At most 10 letters and digits: a longer project keeps 6 and adds 4 of its hash, so two stay apart.
    qualifiers = [
        Bootstrap.of(parse_config(text.replace("project: datashare", f"project: {project}"))).qualifier
        for project in ("my-proj", "analytics-01", "analytics-02")
    ]
    assert qualifiers[0] == "myproj" and all(len(q) == 10 and q.startswith("analyt") for q in qualifiers[1:])
    assert qualifiers[1] != qualifiers[2]
    for stack in (example.sharing("prod"), example.consumer("prod"), example.pipeline):
        template = example.template_json(stack)
        assert template["Parameters"]["BootstrapVersion"]["Default"] == "/cdk-bootstrap/datashare/version"
    assert "hnb659fds" not in json.dumps(example.template_json(example.pipeline))


def test_each_environment_has_a_daily_proof_that_may_do_only_what_its_test_steps_do(example):
    template = example.template_json(example.pipeline)
    resources = template["Resources"]
    schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert [(s["Description"], s["ScheduleExpression"], s["ScheduleExpressionTimezone"]) for s in schedules] == [
        ("The daily proof of dev", "cron(0 6 * * ? *)", "Etc/UTC"),
        ("The daily proof of prod", "cron(0 6 * * ? *)", "Etc/UTC"),
    ]
    project = next(p for k, p in _projects(example).items() if k.startswith("prodDailyProof"))
    assert project["Name"] == "datashare-prod-daily-proof"
    assert project["Source"]["Type"] == "S3"  # this commit's pipeline_steps/, an asset
    statements = _role_policy(template, project)
    assumed = next(s for s in statements if s["Action"] == "sts:AssumeRole")
    # The proof roles by their one name (each trusts this role by ARN): of a constant size, whatever the consumers.
    assert assumed["Resource"] == "arn:aws:iam::*:role/datashare-prod-pipeline-proof"
    # It proves what prod deployed (the waves its last test step recorded), and records its result.
    assert _records(statements) == [
        ("s3:ListBucket", ["BUCKET"]),
        ("s3:GetObject", ["BUCKET/deployed/prod.waves.json"]),
        ("s3:PutObject", ["BUCKET/proof-results/prod.json"]),
    ]
    actions = sorted(json.dumps(s["Action"]) for s in statements)
    assert not [a for a in actions if "*" in a and "codebuild" not in a and "logs" not in a], actions
    key = next(s for s in statements if "kms:Decrypt" in s["Action"])
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": ["sns.eu-west-1.amazonaws.com"]}}


def test_without_a_schedule_there_is_no_daily_proof_and_the_proof_roles_trust_only_their_test_step(organization):
    template = organization.template_json(organization.pipeline)
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::Scheduler::Schedule" not in kinds
    assert not [k for k in _projects(organization) if "DailyProof" in k]
    consumer = organization.template_json(organization.consumer("prod", 0))
    (role,) = [r for r in consumer["Resources"].values()
               if r["Properties"].get("RoleName") == "orgshare-prod-pipeline-proof"]  # fmt: skip
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/orgshare-prod-proof-step-1"}
    }


def test_a_daily_proof_build_that_fails_before_its_checks_is_told_to_the_topic_by_that_rule_alone(example):
    resources = example.template_json(example.pipeline)["Resources"]
    (rule_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::Events::Rule"]
    rule = resources[rule_id]["Properties"]
    assert rule["EventPattern"]["detail"] == {
        "build-status": ["FAILED", "STOPPED", "TIMED_OUT"],
        "project-name": ["datashare-dev-daily-proof", "datashare-prod-daily-proof"],
    }
    (topic_policy,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    (publish,) = [s for s in topic_policy["PolicyDocument"]["Statement"] if s.get("Sid") == "FailedBuildsPublish"]
    # That rule only, never any rule of any account (the L2 target's grant has no condition).
    assert publish["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    (key,) = [r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::KMS::Key" and "Notifications" in k]
    (through_sns,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "EventBridgePublish"]
    assert sorted(through_sns["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert through_sns["Condition"] == {"StringEquals": {"kms:ViaService": ["sns.eu-west-1.amazonaws.com"]}}
