"""The AWS side of every pipeline, generated from its declaration (DESIGN §6): the EventBridge
rule and its Lambda input, one AWS Batch job definition per task, EMR steps, and the Step
Functions state machine. `analytics aws render [PIPELINE]` prints them as JSON; the
infrastructure code deploys exactly these documents.

Names follow one convention (`Naming`); account-specific ARNs are left as `${Region}` /
`${AccountId}` substitutions, which CloudFormation (`Fn::Sub`) and Step Functions definition
substitutions fill in at deploy time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

from orchestration.aws import spark_runtime
from orchestration.aws.events import (
    EMR_RELEASE,
    BatchJobsEvent,
    EmrEnvironment,
    EmrInstances,
    EmrLaunchEvent,
    EmrStep,
    cluster_request,
    emr_step,
)
from orchestration.core.lake import Lake
from orchestration.core.shards import Shard
from orchestration.pipelines import PIPELINES, Pipeline, Task
from orchestration.workflows import (
    PAYLOAD_FIELDS,
    QUERY_FAILED_STATES,
    WORKFLOWS,
    QueryReportWorkflow,
)

# Batch retries only what a new attempt can fix (Fargate could not start the task or pull the
# image); a task's own failure (exit code != 0) ends the job at once, and the runner inside
# already retried it.
RETRYABLE_REASONS = (
    {"onStatusReason": "ResourceInitializationError*"},
    {"onReason": "CannotPullContainerError*"},
)
BATCH_ATTEMPTS = 3
# Step Functions retries a throttled or failed submission, not a failed job.
SUBMIT_RETRY = {
    "ErrorEquals": ["Batch.AWSBatchException", "Batch.TooManyRequestsException"],
    "IntervalSeconds": 30,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}
# A job run that could not start (throttled, the application busy) is started again; a job run
# that failed is not: the runner inside already retried the task.
START_JOB_RUN_RETRY = {
    "ErrorEquals": ["EmrServerless.ThrottlingException", "EmrServerless.InternalServerException"],
    "IntervalSeconds": 30,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}
# What a deployed stack's placeholders stand for, where the cluster and the jobs need them.
DEPLOYED = EmrEnvironment(
    code_bucket="${CodeBucket}",
    lake_bucket="${LakeBucket}",
    salt_secret="${PiiSaltSecret}",
    region="${Region}",
    service_role="${EmrServiceRole}",
    job_flow_role="${EmrJobFlowRole}",
    log_uri="s3://${LogBucket}/emr/",
)


@dataclass(frozen=True)
class Naming:
    """How deployed resources are named: `<prefix>-<pipeline>[-<task>]`, underscores as hyphens."""

    prefix: str = "analytics"
    # The stack's ECR repository and the tag deployed (`make image` pushes it).
    image: str = "${ImageRepository}:${ImageTag}"
    code_bucket: str = "${CodeBucket}"

    def of(self, *parts: str) -> str:
        return "-".join([self.prefix, *parts]).replace("_", "-")

    def lambda_arn(self, function: str) -> str:
        return f"arn:aws:lambda:${{Region}}:${{AccountId}}:function:{self.of(function)}"

    def state_machine_arn(self, pipeline: str) -> str:
        return f"arn:aws:states:${{Region}}:${{AccountId}}:stateMachine:{self.of(pipeline)}"

    @property
    def job_queue(self) -> str:
        return self.of("jobs")


# What a task's container is told beside its own settings: the lake, the region, and dbt's
# athena target (query results under the results bucket, model data under models/ of the lake).
JOB_ENVIRONMENT = {
    "LAKE_ROOT": "s3://${LakeBucket}",
    # The settings read AWS_REGION, boto3's clients AWS_DEFAULT_REGION.
    "AWS_REGION": "${Region}",
    "AWS_DEFAULT_REGION": "${Region}",
    "ANALYTICS_TARGET": "athena",
    "ATHENA_STAGING_DIR": "s3://${AthenaResultsBucket}/dbt/",
    "ATHENA_DATA_DIR": "s3://${LakeBucket}/models/",
    "ATHENA_WORKGROUP": "${AthenaWorkGroup}",
    "ATHENA_SCHEMA": "${ModelsDatabase}",
    "LAKE_SCHEMA": "${LakeDatabase}",
}


def job_definition(pipeline: Pipeline, task: Task, naming: Naming) -> dict[str, Any]:
    """RegisterJobDefinition request of a Fargate job: the image's entry point (`analytics`)
    runs `run <pipeline> --task <task>` for the execution's parameter (Batch substitutes
    `Ref::<param>`)."""
    command = ["run", pipeline.name, f"--{pipeline.param}", f"Ref::{pipeline.param}"]
    return {
        "jobDefinitionName": naming.of(pipeline.name, task.name),
        "type": "container",
        "platformCapabilities": ["FARGATE"],
        "parameters": {},
        "containerProperties": {
            "image": naming.image,
            "command": [*command, "--task", task.name],
            # Public subnets without a NAT gateway: the task needs a public address to reach
            # ECR, Secrets Manager, Athena and the logs (S3 goes through the gateway endpoint).
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
            "resourceRequirements": [
                {"type": "VCPU", "value": str(task.vcpus)},
                {"type": "MEMORY", "value": str(task.memory_mib)},
            ],
            "environment": [
                *({"name": k, "value": v} for k, v in JOB_ENVIRONMENT.items()),
                *(
                    [{"name": "SPARK_MASTER", "value": f"local[{task.vcpus}]"}]
                    if task.kind == "spark"
                    else []
                ),
                # An array job's children read their shard from AWS_BATCH_JOB_ARRAY_INDEX.
                *([{"name": "NUM_SHARDS", "value": str(task.shards)}] if task.shards > 1 else []),
                # The runner inside retries the task (settings.task_retries); Batch does not.
                *(
                    [{"name": "TASK_RETRIES", "value": str(task.retries)}]
                    if task.retries is not None
                    else []
                ),
            ],
            # Secrets come from Secrets Manager at container start, never from the definition.
            "secrets": [
                {"name": "PII_SALT", "valueFrom": "${PiiSaltSecret}"},
                *(
                    [{"name": "WAREHOUSE_URL", "valueFrom": "${WarehouseUrlSecret}"}]
                    if task.uses_warehouse
                    else []
                ),
            ],
        },
        "retryStrategy": {
            "attempts": BATCH_ATTEMPTS,
            "evaluateOnExit": [
                *({**reason, "action": "RETRY"} for reason in RETRYABLE_REASONS),
                {"onReason": "*", "action": "EXIT"},
            ],
        },
        "timeout": {"attemptDurationSeconds": task.timeout_minutes * 60},
        "propagateTags": True,
        "tags": {"project": "analytics", "pipeline": pipeline.name},
    }


def task_access(task: Task) -> str:
    """Which permissions a Batch task's role needs: dbt's, a Spark task's (its lake prefixes),
    or each other task's own (the stack grants each by this name)."""
    return task.kind if task.kind in ("dbt", "spark") else task.name


def emr_launch_event(pipeline: Pipeline, naming: Naming) -> dict[str, Any]:
    """The launch_emr Lambda's input: one spark-submit step per task, in dependency order; the
    handler replaces `{date}` (or `{month}`) with the scheduled run's value (not `${...}`, which
    CloudFormation would take for its own substitution)."""
    steps = [
        {"job": name, "args": [f"--{pipeline.param}", "{" + pipeline.param + "}"]}
        for name in TopologicalSorter(pipeline.graph()).static_order()
    ]
    event = {"name": naming.of(pipeline.name), "releaseLabel": EMR_RELEASE, "steps": steps}
    EmrLaunchEvent.model_validate(event)  # the handler accepts exactly this
    return event


def _levels(pipeline: Pipeline) -> list[list[Task]]:
    """Tasks grouped by dependency depth: each level only needs the levels before it."""
    depth: dict[str, int] = {}
    for name in TopologicalSorter(pipeline.graph()).static_order():
        task = pipeline.task(name)
        depth[name] = 1 + max((depth[d] for d in task.depends_on), default=-1)
    levels: list[list[Task]] = [[] for _ in range(max(depth.values()) + 1)]
    for task in pipeline.tasks:
        levels[depth[task.name]].append(task)
    return levels


def _batch_state(pipeline: Pipeline, task: Task, naming: Naming, next_state: str | None) -> dict:
    parameters: dict[str, Any] = {
        "JobName": naming.of(pipeline.name, task.name),
        "JobDefinition": naming.of(pipeline.name, task.name),
        "JobQueue": naming.job_queue,
        "Parameters": {f"{pipeline.param}.$": f"$.{pipeline.param}"},
    }
    if task.shards > 1:
        parameters["ArrayProperties"] = {"Size": task.shards}
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": [SUBMIT_RETRY],
    }
    return {**state, **({"Next": next_state} if next_state else {"End": True})}


def _job_run(
    pipeline: Pipeline, task: Task, naming: Naming, shard: Shard | None, next_state: str | None
) -> dict[str, Any]:
    """An EMR Serverless job run of one Spark task (one shard of it): the bundle's entry point
    given the task and the execution's parameter, the task's settings in the environment."""
    environment = spark_runtime.task_environment(
        DEPLOYED.lake_bucket, DEPLOYED.salt_secret, DEPLOYED.region, shard, task.retries
    )
    conf = spark_runtime.submit_conf(
        DEPLOYED.code_bucket,
        environment,
        spark_runtime.SERVERLESS_DRIVER_ENV,
        task.vcpus,
        task.memory_mib,
    )
    arguments = spark_runtime.entry_point_arguments(pipeline.name, task.name, pipeline.param, "")
    name = naming.of(pipeline.name, task.name, *([str(shard.current)] if shard else []))
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::emr-serverless:startJobRun.sync",
        "Parameters": {
            "ApplicationId": "${SparkApplication}",
            "ExecutionRoleArn": "${SparkJobRole}",
            "Name": name,
            "ClientToken.$": "States.UUID()",
            "ExecutionTimeoutMinutes": task.timeout_minutes,
            "JobDriver": {
                "SparkSubmit": {
                    "EntryPoint": spark_runtime.code_uri(
                        DEPLOYED.code_bucket, spark_runtime.ENTRY_POINT
                    ),
                    "EntryPointArguments.$": _args_with_param(arguments[:-1], pipeline.param),
                    "SparkSubmitParameters": spark_runtime.submit_parameters(conf),
                }
            },
            "ConfigurationOverrides": {
                "MonitoringConfiguration": {
                    "S3MonitoringConfiguration": {"LogUri": "s3://${LogBucket}/emr-serverless/"}
                }
            },
            "Tags": {"project": "analytics", "pipeline": pipeline.name, "task": task.name},
        },
        "ResultPath": None,
        "Retry": [START_JOB_RUN_RETRY],
    }
    return {**state, **({"Next": next_state} if next_state else {"End": True})}


def _task_state(pipeline: Pipeline, task: Task, naming: Naming, next_state: str | None) -> dict:
    """How a task runs in the state machine: a Spark task as EMR Serverless job runs (one per
    shard, in parallel), any other as an AWS Batch job."""
    if task.kind != "spark":
        return _batch_state(pipeline, task, naming, next_state)
    if task.shards == 1:
        return _job_run(pipeline, task, naming, None, next_state)
    branches = [
        {
            "StartAt": f"{task.name}_{shard.current}",
            "States": {
                f"{task.name}_{shard.current}": _job_run(pipeline, task, naming, shard, None)
            },
        }
        for shard in Shard.all_of(task.shards)
    ]
    state = {"Type": "Parallel", "Branches": branches, "ResultPath": None}
    return {**state, **({"Next": next_state} if next_state else {"End": True})}


def batch_state_machine(pipeline: Pipeline, naming: Naming) -> dict[str, Any]:
    """Levels run one after the other; the tasks of a level run in parallel (a Parallel state).
    Any failure is caught and ends the execution in a Fail state naming the cause."""
    levels = _levels(pipeline)
    states: dict[str, Any] = {}
    names = [f"level_{i}" if len(level) > 1 else level[0].name for i, level in enumerate(levels)]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "failed"}]
    for i, level in enumerate(levels):
        following = names[i + 1] if i + 1 < len(levels) else "succeeded"
        if len(level) == 1:
            states[names[i]] = {
                **_task_state(pipeline, level[0], naming, following),
                "Catch": catch,
            }
            continue
        states[names[i]] = {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": t.name, "States": {t.name: _task_state(pipeline, t, naming, None)}}
                for t in level
            ],
            "ResultPath": None,
            "Next": following,
            "Catch": catch,
        }
    return _state_machine(
        pipeline,
        names[0],
        states,
        "a task failed; see the execution history and its Batch or EMR Serverless log",
    )


def emr_state_machine(pipeline: Pipeline, naming: Naming) -> dict[str, Any]:
    """Create an ephemeral cluster, run the steps in order, terminate it; a failed step is caught
    and the cluster terminated before the execution fails."""
    order = list(TopologicalSorter(pipeline.graph()).static_order())
    # The same cluster as launch_emr launches, kept alive between the steps added one by one.
    cluster = cluster_request(naming.of(pipeline.name), DEPLOYED, EmrInstances())
    cluster["Instances"]["KeepJobFlowAliveWhenNoSteps"] = True
    states: dict[str, Any] = {
        "create_cluster": {
            "Type": "Task",
            "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
            "Parameters": cluster,
            "ResultSelector": {"ClusterId.$": "$.ClusterId"},
            "ResultPath": "$.cluster",
            "Next": order[0],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "failed"}],
        }
    }
    for i, name in enumerate(order):
        task = pipeline.task(name)
        step = emr_step(
            EmrStep(job=name, args=[f"--{pipeline.param}"]),
            DEPLOYED,
            "CONTINUE",  # Step Functions decides: the catch below terminates the cluster
            task.vcpus,
            task.memory_mib,
        )
        states[name] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
            "Parameters": {
                "ClusterId.$": "$.cluster.ClusterId",
                "Step": {
                    "Name": step["Name"],
                    "ActionOnFailure": step["ActionOnFailure"],
                    "HadoopJarStep": {
                        "Jar": step["HadoopJarStep"]["Jar"],
                        "Args.$": _args_with_param(step["HadoopJarStep"]["Args"], pipeline.param),
                    },
                },
            },
            "ResultPath": None,
            "Next": order[i + 1] if i + 1 < len(order) else "terminate_cluster",
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.error",
                    "Next": "terminate_cluster_after_failure",
                }
            ],
        }
    terminate = {
        "Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster.sync",
        "Parameters": {"ClusterId.$": "$.cluster.ClusterId"},
        "ResultPath": None,
    }
    states["terminate_cluster"] = {**terminate, "Next": "succeeded"}
    states["terminate_cluster_after_failure"] = {**terminate, "Next": "failed"}
    return _state_machine(
        pipeline,
        "create_cluster",
        states,
        "a step failed; the cluster was terminated; see the EMR step log",
    )


def _state_machine(pipeline: Pipeline, start: str, states: dict[str, Any], cause: str) -> dict:
    """The definition around `states`, which end in `succeeded` or `failed` (with `cause`)."""
    ending = {
        "succeeded": {"Type": "Succeed"},
        "failed": {"Type": "Fail", "Error": f"{pipeline.name}.failed", "Cause": cause},
    }
    return {
        "Comment": f"{pipeline.name}: {pipeline.description}",
        "StartAt": start,
        "States": {**states, **ending},
    }


def _args_with_param(args: list[str], param: str) -> str:
    """States.Array(...) of the step arguments with the execution's parameter as the last one."""
    quoted = ", ".join("'" + a.replace("'", "\\'") + "'" for a in args)
    return f"States.Array({quoted}, $.{param})"


def event_rule(pipeline: Pipeline, naming: Naming) -> dict[str, Any] | None:
    """The EventBridge rule that starts the pipeline, with its Lambda target and input."""
    if pipeline.trigger is not None:
        return {
            "Name": naming.of(pipeline.name),
            "Description": pipeline.description,
            "State": "ENABLED",
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": ["${LakeBucket}"]},
                    "object": {"key": [{"prefix": pipeline.trigger.prefix}]},
                },
            },
            # The whole S3 event goes to the handler, which validates it.
            "Targets": [{"Id": "on-object-created", "Arn": naming.lambda_arn("on_object_created")}],
        }
    if pipeline.schedule is None:
        return None
    if pipeline.platform == "emr":
        handler, payload = "launch_emr", {"launch": emr_launch_event(pipeline, naming)}
    else:
        handler = "start_workflow"
        payload = {
            "pipeline": pipeline.name,
            "stateMachineArn": naming.state_machine_arn(pipeline.name),
        }
    return _schedule_rule(
        naming.of(pipeline.name),
        pipeline.description,
        pipeline.schedule,
        _schedule_target(handler, payload, pipeline.schedule_offset, pipeline.param, naming),
    )


def _schedule_target(
    handler: str, payload: dict[str, Any], offset: str | None, param: str, naming: Naming
) -> dict[str, Any]:
    """The rule's Lambda target. EventBridge replaces "<time>" with the time the rule fired;
    the handler derives the run's date, month or range from it
    (orchestration.aws.events.resolve_schedule)."""
    schedule = {"scheduledTime": "<time>", "offset": offset, "param": param}
    return {
        "Id": handler.replace("_", "-"),
        "Arn": naming.lambda_arn(handler),
        "InputTransformer": {
            "InputPathsMap": {"time": "$.time"},
            "InputTemplate": json.dumps({**payload, **schedule}, sort_keys=True),
        },
    }


def _schedule_rule(name: str, description: str, schedule: str, target: dict) -> dict[str, Any]:
    return {
        "Name": name,
        "Description": description,
        "State": "ENABLED",
        "ScheduleExpression": schedule,
        "Targets": [target],
    }


def workflow_rule(workflow: QueryReportWorkflow, naming: Naming) -> dict[str, Any] | None:
    """The rule that starts a scheduled workflow on the previous calendar month."""
    if workflow.schedule is None:
        return None
    payload = {"stateMachineArn": naming.state_machine_arn(workflow.name)}
    target = _schedule_target("start_workflow", payload, "previous_month", "range", naming)
    return _schedule_rule(naming.of(workflow.name), workflow.description, workflow.schedule, target)


# --- query-and-report workflows ------------------------------------------------------------

ATHENA_RETRY = {
    "ErrorEquals": ["Athena.TooManyRequestsException", "Athena.InternalServerException"],
    "IntervalSeconds": 5,
    "MaxAttempts": 4,
    "BackoffRate": 2.0,
}
LAMBDA_RETRY = {
    "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
    "IntervalSeconds": 5,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}


def states_format(template: str, values: dict[str, str]) -> str:
    """`States.Format(...)` of a template: each `{field}` named in `values` becomes `{}` and its
    JSONPath an argument. Other braces (the `${...}` deploy-time placeholders) are left as they
    are; CloudFormation replaces them before Step Functions parses the definition."""
    pattern = re.compile(r"(?<!\$)\{(" + "|".join(map(re.escape, values)) + r")\}")
    fields = pattern.findall(template)
    text = pattern.sub("{}", template.replace("'", "\\'"))
    return f"States.Format('{text}', {', '.join(values[f] for f in fields)})"


def _payload_check() -> dict[str, Any]:
    """The Choice that lets through only string dates with startDate <= endDate (ISO dates sort
    as strings) and no quote (the dates become quoted SQL literals). A date Athena cannot cast
    fails the query, and so the execution."""
    present = [{"Variable": f"$.{f}", "IsPresent": True} for f in PAYLOAD_FIELDS]
    strings = [{"Variable": f"$.{f}", "IsString": True} for f in PAYLOAD_FIELDS]
    no_quote = [{"Not": {"Variable": f"$.{f}", "StringMatches": "*'*"}} for f in PAYLOAD_FIELDS]
    ordered = {"Variable": "$.startDate", "StringLessThanEqualsPath": "$.endDate"}
    return {
        "Type": "Choice",
        "Choices": [
            {"Not": {"And": present}, "Next": "invalid_payload"},
            {"Not": {"And": strings}, "Next": "invalid_payload"},
            {"And": [ordered, *no_quote], "Next": "query_parameters"},
        ],
        "Default": "invalid_payload",
    }


def workflow_state_machine(workflow: QueryReportWorkflow, naming: Naming) -> dict[str, Any]:
    """Check payload → start the Athena query → Wait / poll / Choice with a doubling wait (capped)
    → render the report (Lambda) → publish to SNS. Fail states: invalid payload, query failed,
    query timed out, and any task error."""
    poll = workflow.poll
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "failed"}]
    quoted = ", ".join(
        f"States.Format('{{}}{{}}{{}}', $.sql.quote, $.{f}, $.sql.quote)" for f in PAYLOAD_FIELDS
    )
    report = Lake("s3://${LakeBucket}").report(workflow.exports, "{startDate}", "{endDate}")
    payload_paths = {f: f"$.{f}" for f in PAYLOAD_FIELDS}
    states: dict[str, Any] = {
        "check_payload": _payload_check(),
        "invalid_payload": {
            "Type": "Fail",
            "Error": f"{workflow.name}.InvalidPayload",
            "Cause": 'the input must be {"startDate": "YYYY-MM-DD", "endDate": "YYYY-MM-DD"} '
            "with startDate <= endDate",
        },
        # Athena takes string parameters as quoted SQL literals; the quote comes from data
        # because an escaped quote inside States.Format is not portable.
        "query_parameters": {
            "Type": "Pass",
            "Result": {"quote": "'"},
            "ResultPath": "$.sql",
            "Next": "start_query",
        },
        "start_query": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:athena:startQueryExecution",
            "Parameters": {
                "QueryString": workflow.sql,
                "ExecutionParameters.$": f"States.Array({quoted})",
                "WorkGroup": "${AthenaWorkGroup}",
                "QueryExecutionContext": {"Database": "${ModelsDatabase}"},
                "ResultConfiguration": {
                    "OutputLocation": f"s3://${{AthenaResultsBucket}}/{workflow.exports}/"
                },
            },
            "ResultSelector": {
                "id.$": "$.QueryExecutionId",
                "wait": poll.first_seconds,
                "attempt": 1,
            },
            "ResultPath": "$.query",
            "Retry": [ATHENA_RETRY],
            "Catch": catch,
            "Next": "wait_for_query",
        },
        "wait_for_query": {"Type": "Wait", "SecondsPath": "$.query.wait", "Next": "poll_query"},
        "poll_query": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:athena:getQueryExecution",
            "Parameters": {"QueryExecutionId.$": "$.query.id"},
            "ResultSelector": {
                "state.$": "$.QueryExecution.Status.State",
                "output.$": "$.QueryExecution.ResultConfiguration.OutputLocation",
            },
            "ResultPath": "$.status",
            "Retry": [ATHENA_RETRY],
            "Catch": catch,
            "Next": "query_finished",
        },
        "query_finished": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.status.state",
                    "StringEquals": "SUCCEEDED",
                    "Next": "render_report",
                },
                {
                    "Or": [
                        {"Variable": "$.status.state", "StringEquals": state}
                        for state in QUERY_FAILED_STATES
                    ],
                    "Next": "query_failed",
                },
                {
                    "Variable": "$.query.attempt",
                    "NumericGreaterThanEquals": poll.max_attempts,
                    "Next": "query_timed_out",
                },
            ],
            "Default": "back_off",
        },
        "back_off": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "$.query.id",
                "wait.$": "States.MathAdd($.query.wait, $.query.wait)",
                "attempt.$": "States.MathAdd($.query.attempt, 1)",
            },
            "ResultPath": "$.query",
            "Next": "cap_wait",
        },
        "cap_wait": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.query.wait",
                    "NumericGreaterThan": poll.max_seconds,
                    "Next": "wait_at_most",
                }
            ],
            "Default": "wait_for_query",
        },
        "wait_at_most": {
            "Type": "Pass",
            "Result": poll.max_seconds,
            "ResultPath": "$.query.wait",
            "Next": "wait_for_query",
        },
        "query_failed": {
            "Type": "Fail",
            "Error": f"{workflow.name}.QueryFailed",
            "Cause": "the Athena query failed or was cancelled; see its state change reason",
        },
        "query_timed_out": {
            "Type": "Fail",
            "Error": f"{workflow.name}.QueryTimedOut",
            "Cause": f"the Athena query did not finish after {poll.max_attempts} polls",
        },
        "render_report": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": naming.lambda_arn(workflow.render),
                "Payload": {
                    **{f"{f}.$": f"$.{f}" for f in PAYLOAD_FIELDS},
                    "resultLocation.$": "$.status.output",
                },
            },
            "ResultPath": None,
            "Retry": [LAMBDA_RETRY],
            "Catch": catch,
            "Next": "notify",
        },
        "notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "${ReportsTopic}",
                "Subject.$": states_format(workflow.subject, payload_paths),
                "Message.$": states_format(
                    workflow.message.replace("{report}", report + "/report.html"), payload_paths
                ),
            },
            "ResultPath": None,
            "Catch": catch,
            "Next": "succeeded",
        },
    }
    ending = {
        "succeeded": {"Type": "Succeed"},
        "failed": {
            "Type": "Fail",
            "Error": f"{workflow.name}.failed",
            "Cause": "a task failed; see the execution history",
        },
    }
    return {
        "Comment": f"{workflow.name}: {workflow.description}",
        "StartAt": "check_payload",
        "States": {**states, **ending},
    }


def render_workflow(workflow: QueryReportWorkflow, naming: Naming | None = None) -> dict[str, Any]:
    naming = naming or Naming()
    return {
        "workflow": workflow.name,
        "render_function": naming.of(workflow.render),
        "event_rule": workflow_rule(workflow, naming),
        "state_machine": {
            "name": naming.of(workflow.name),
            "definition": workflow_state_machine(workflow, naming),
        },
    }


def render(pipeline: Pipeline, naming: Naming | None = None) -> dict[str, Any]:
    """Every AWS artefact of one pipeline (its local-only tasks left out)."""
    naming = naming or Naming()
    pipeline = pipeline.for_aws()
    document: dict[str, Any] = {
        "pipeline": pipeline.name,
        "platform": pipeline.platform,
        "event_rule": event_rule(pipeline, naming),
    }
    if pipeline.platform == "emr":
        document["emr_launch_event"] = emr_launch_event(pipeline, naming)
        document["state_machine"] = {
            "name": naming.of(pipeline.name),
            "definition": emr_state_machine(pipeline, naming),
        }
        return document
    document["batch_job_definitions"] = [
        job_definition(pipeline, t, naming) for t in pipeline.tasks
    ]
    document["task_access"] = {
        naming.of(pipeline.name, t.name): task_access(t) for t in pipeline.tasks
    }
    if pipeline.trigger is None:
        document["state_machine"] = {
            "name": naming.of(pipeline.name),
            "definition": batch_state_machine(pipeline, naming),
        }
    return document


def batch_jobs_event(
    pipeline: Pipeline, params: dict[str, str], naming: Naming | None = None
) -> dict[str, Any]:
    """The pipeline's run as the original system submitted it (DESIGN §5.2): the
    submit_batch_jobs Lambda's `{"jobs": [...]}` input, one job per task in dependency order, a
    sharded task as `shards` jobs (the handler gives each CURRENT_SHARD of NUM_SHARDS), each
    job waiting for every shard of the tasks it depends on. The scheduled path is the state
    machine, where a sharded task is an array job; this is the manual and backfill path."""
    naming = naming or Naming()
    pipeline = pipeline.for_aws()
    order = list(TopologicalSorter(pipeline.graph()).static_order())
    jobs = []
    for name in order:
        task = pipeline.task(name)
        job: dict[str, Any] = {
            "jobName": naming.of(pipeline.name, task.name),
            "jobDefinition": naming.of(pipeline.name, task.name),
            "jobQueue": naming.job_queue,
            "parameters": dict(params),
            "dependsOn": [naming.of(pipeline.name, d) for d in task.depends_on],
        }
        if task.shards > 1:
            job["shards"] = task.shards
        jobs.append(job)
    event = {"jobs": jobs}
    BatchJobsEvent.model_validate(event)  # the handler accepts exactly this
    return event


def render_spark_application(naming: Naming | None = None) -> dict[str, Any]:
    """The EMR Serverless application of the stack (CloudFormation properties)."""
    return spark_runtime.application((naming or Naming()).of("spark"))


def render_all(naming: Naming | None = None) -> dict[str, Any]:
    return {name: render(p, naming) for name, p in sorted(PIPELINES.items())}


def render_workflows(naming: Naming | None = None) -> dict[str, Any]:
    return {name: render_workflow(w, naming) for name, w in sorted(WORKFLOWS.items())}
