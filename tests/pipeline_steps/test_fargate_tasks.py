"""How the test step runs a consumer's ECS task, against moto: where it runs it (the configured subnets, or the
default VPC), how it reads the end (exit code, log), and what it says when it cannot. moto runs no container and
enforces no policy: these prove the calls and their parameters; the consumer stack tests prove the proof role's
grants, and the rehearsal runs the task's entry point."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from moto import mock_aws
from moto.ecs.models import ecs_backends

from pipeline_steps.prove_consumers import (
    STARTED_BY,
    FargateTasks,
    ProofError,
    ProofTarget,
    TaskNetwork,
    TaskOutcome,
    Wave,
    assumed_session,
    awsvpc_configuration,
    new_session,
)
from tools.rehearsal.emulator import mend_default_security_groups

# moto requires security groups where ECS uses the VPC's default one.
mend_default_security_groups()

CONSUMER = "555555555555"
REGION = "eu-west-1"
NAME = "datashare-prod-consumer"
LOG_GROUP = "datashare-prod-analytics-task-logs"
PASSING = {"ok": True, "checks": [{"name": "read-object", "ok": True, "detail": "read"}]}


def _wave(network: TaskNetwork | None = None) -> Wave:
    return Wave(
        partition="aws",
        function=NAME,
        cluster=NAME,
        task_family=NAME,
        role="datashare-prod-pipeline-proof",
        targets=(ProofTarget("analytics", CONSUMER, REGION, network),),
    )


@pytest.fixture
def consumer():
    """The consumer account as its stage leaves it: the cluster, the task definition and its log group."""
    with mock_aws():
        session = assumed_session(new_session(region_name=REGION), _wave().role_arn(_wave().targets[0]), REGION)
        ecs = session.client("ecs")
        ecs.create_cluster(clusterName=NAME)
        session.client("logs").create_log_group(logGroupName=LOG_GROUP)
        ecs.register_task_definition(
            family=NAME,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            taskRoleArn=f"arn:aws:iam::{CONSUMER}:role/datashare-prod-consumer-task",
            executionRoleArn=f"arn:aws:iam::{CONSUMER}:role/datashare-prod-consumer-task-exec",
            containerDefinitions=[
                {
                    "name": "Consumer",
                    "image": "public.ecr.aws/example/consumer:1.0",
                    "essential": True,
                    "memory": 512,  # moto adds up container memory even for Fargate (the emulator mends that)
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": LOG_GROUP, "awslogs-stream-prefix": "consumer"},
                    },
                }
            ],
        )
        yield session


def _tasks(**options) -> FargateTasks:
    return FargateTasks(base=new_session(region_name=REGION), poll_seconds=0, sleep=lambda _: None, **options)


def _the_task():
    (task,) = ecs_backends[CONSUMER][REGION].tasks[NAME].values()
    return task


def _log_as_the_container(session, lines):
    task_id = _the_task().task_arn.rsplit("/", 1)[-1]
    logs = session.client("logs")
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"consumer/Consumer/{task_id}")
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=f"consumer/Consumer/{task_id}",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": line} for line in lines],
    )


def test_without_a_network_the_task_runs_in_the_default_vpc_with_a_public_ip(consumer):
    ec2 = consumer.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    default_subnets = sorted(
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    )
    # No security group: ECS uses the VPC's default one.
    assert awsvpc_configuration(ec2, _wave().targets[0]) == {"subnets": default_subnets, "assignPublicIp": "ENABLED"}
    tasks = _tasks()
    tasks.start(_wave())
    task = _the_task()
    assert task.launch_type == "FARGATE" and task.started_by == STARTED_BY
    assert task.task_definition_arn.endswith(f":task-definition/{NAME}:1")
    assert task.network_configuration["awsvpcConfiguration"]["subnets"] == default_subnets
    _log_as_the_container(consumer, ["self-check starting", json.dumps(PASSING)])
    outcome = tasks.wait()["analytics"]
    assert isinstance(outcome, TaskOutcome)
    assert outcome.exit_code == 0  # moto's container exit code; the rehearsal's emulator sets the real one
    assert outcome.log == ("self-check starting", json.dumps(PASSING))


def test_configured_subnets_run_the_task_there_without_looking_anything_up(consumer):
    ec2 = consumer.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's ENIs need it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    target = _wave(TaskNetwork((subnet,))).targets[0]
    # None of the EC2 Describe calls the proof role is not granted when the config names the network.
    assert awsvpc_configuration(None, target) == {"subnets": [subnet], "assignPublicIp": "DISABLED"}
    _tasks().start(_wave(TaskNetwork((subnet,))))
    assert _the_task().network_configuration["awsvpcConfiguration"]["subnets"] == [subnet]


def test_configured_security_groups_are_used_as_given(consumer):
    ec2 = consumer.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's ENIs need it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="consumer-task", Description="egress", VpcId=vpc)["GroupId"]
    _tasks().start(_wave(TaskNetwork((subnet,), (group,), True)))
    configuration = _the_task().network_configuration["awsvpcConfiguration"]
    assert configuration["securityGroups"] == [group] and configuration["assignPublicIp"] == "ENABLED"


def test_an_account_without_a_default_vpc_is_one_clear_error_for_that_consumer(consumer):
    ec2 = consumer.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    tasks = _tasks()
    tasks.start(_wave())
    (error,) = tasks.wait().values()
    assert isinstance(error, ProofError)
    assert str(error) == (
        f"account {CONSUMER} {REGION} has no default VPC to run the task in: name subnets in "
        f"consumers[].task_network of the config, or create one (aws ec2 create-default-vpc --region {REGION})"
    )


def test_a_task_that_does_not_stop_in_time_is_stopped_and_fails(consumer):
    tasks = _tasks(timeout_seconds=0)
    tasks.start(_wave())
    (error,) = tasks.wait().values()
    assert str(error) == "task did not stop within 0 s; stopped it"
    assert _the_task().desired_status == "STOPPED"


def test_a_consumer_whose_stage_is_missing_fails_alone_and_the_others_run(consumer):
    # Account 666666666666 has no cluster and no task definition.
    tasks = _tasks()
    tasks.start(replace(_wave(), targets=(*_wave().targets, ProofTarget("other", "666666666666", REGION))))
    outcomes = tasks.wait()
    assert isinstance(outcomes["analytics"], TaskOutcome)
    assert isinstance(outcomes["other"], Exception) and "DescribeTaskDefinition" in str(outcomes["other"])


class _Ecs:
    """DescribeTasks answers in turn (a list of tasks, or an error to raise); records StopTask."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.stopped = []

    def describe_tasks(self, cluster, tasks):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"tasks": answer, "failures": [] if answer else [{"arn": tasks[0], "reason": "MISSING"}]}

    def stop_task(self, **request):
        self.stopped.append(request)


class _Logs:
    """GetLogEvents pages, by the token that asks for them."""

    class exceptions:  # boto3's shape
        ResourceNotFoundException = type("ResourceNotFoundException", (Exception,), {})

    def __init__(self, pages):
        self.pages = pages

    def get_log_events(self, nextToken=None, **request):  # boto3's parameter name
        return self.pages[nextToken]


def _watching(ecs, logs) -> FargateTasks:
    from pipeline_steps.prove_consumers import _Started

    clients = {"ecs": ecs, "logs": logs}
    session = type("Session", (), {"client": lambda self, name: clients[name]})()
    tasks = _tasks()
    task_arn = f"arn:aws:ecs:{REGION}:{CONSUMER}:task/{NAME}/0123"
    tasks._started.append(
        _Started(_wave().targets[0], session, task_arn, LOG_GROUP, "consumer/Consumer/0123", "Consumer")
    )
    return tasks


STOPPED = [{"lastStatus": "STOPPED", "containers": [{"name": "Consumer", "exitCode": 0}], "stoppedReason": "done"}]


def test_a_task_not_yet_described_is_waited_for_and_the_whole_log_is_read_page_by_page():
    # ECS is eventually consistent; CloudWatch Logs may answer a page short of the stream's end.
    pages = {
        None: {"events": [{"message": "one"}], "nextForwardToken": "f/1"},
        "f/1": {"events": [], "nextForwardToken": "f/2"},
        "f/2": {"events": [{"message": json.dumps(PASSING)}], "nextForwardToken": "f/3"},
        "f/3": {"events": [], "nextForwardToken": "f/3"},
    }
    outcome = _watching(_Ecs([[], [{"lastStatus": "PENDING"}], STOPPED]), _Logs(pages)).wait()["analytics"]
    assert outcome == TaskOutcome(0, "done", ("one", json.dumps(PASSING)))


def test_a_task_the_step_cannot_watch_fails_and_is_stopped():
    ecs = _Ecs([RuntimeError("ThrottlingException: Rate exceeded")])
    outcome = _watching(ecs, _Logs({})).wait()["analytics"]
    assert str(outcome) == "ThrottlingException: Rate exceeded"
    assert [request["task"] for request in ecs.stopped] == [f"arn:aws:ecs:{REGION}:{CONSUMER}:task/{NAME}/0123"]
