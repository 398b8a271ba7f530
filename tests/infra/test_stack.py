"""What the synthesized template must hold (DESIGN §8), checked with CDK assertions and by reading
the template: storage locked down, least-privilege IAM, every pipeline wired to its handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from orchestration.pipelines import PIPELINES

# Actions that take no resource-level permission in IAM: `"Resource": "*"` is the narrowest there.
# Actions IAM offers no resource-level permission for (AWS Service Authorization Reference).
WILDCARD_ONLY_ACTIONS = {"elasticmapreduce:RunJobFlow", "ecr:GetAuthorizationToken"}
HANDLER = "orchestration.aws.handlers.{}"


@pytest.fixture(scope="module")
def template(synthesized) -> Template:
    return Template.from_json(synthesized.template)


def _logical_id(ref: dict) -> str:
    return ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0]


def test_buckets_are_encrypted_private_and_abort_stale_uploads(template, synthesized):
    buckets = synthesized.resources("AWS::S3::Bucket")
    assert len(buckets) == 4  # lake, code, logs, Athena results
    template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                                "Status": "Enabled",
                            }
                        )
                    ]
                )
            },
        },
    )


def test_every_bucket_refuses_requests_without_tls(synthesized):
    tls_only = set()
    for policy in synthesized.resources("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement["Action"] == "s3:*"
                and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            ):
                tls_only.add(_logical_id(policy["Properties"]["Bucket"]))
    assert tls_only == set(synthesized.resources("AWS::S3::Bucket"))


def _statements(synthesized):
    for name, policy in synthesized.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield name, statement
    for name, role in synthesized.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                yield name, statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_iam_has_no_wildcard_action_and_wildcard_resources_only_where_iam_offers_nothing_narrower(
    synthesized,
):
    seen = 0
    for name, statement in _statements(synthesized):
        seen += 1
        actions = _as_list(statement["Action"])
        assert "*" not in actions, name
        assert not [a for a in actions if a.endswith(":*")], (name, actions)
        if "*" in _as_list(statement.get("Resource", [])):
            assert set(actions) <= WILDCARD_ONLY_ACTIONS, (name, actions)
    assert seen > 20


def _function_by_handler(synthesized, handler: str) -> str:
    [name] = [
        k
        for k, f in synthesized.resources("AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == HANDLER.format(handler)
    ]
    return name


def test_one_rule_per_scheduled_pipeline_targets_its_handler_which_only_that_rule_may_invoke(
    synthesized,
):
    rules = synthesized.resources("AWS::Events::Rule")
    permissions = synthesized.resources("AWS::Lambda::Permission").values()
    scheduled = [p for p in PIPELINES.values() if p.schedule]
    assert len(scheduled) == 5
    for pipeline in scheduled:
        matching = [
            k
            for k, r in rules.items()
            if r["Properties"].get("ScheduleExpression") == pipeline.schedule
        ]
        assert len(matching) == 1, pipeline.name
        rule = rules[matching[0]]["Properties"]
        handler = "launch_emr" if pipeline.platform == "emr" else "start_workflow"
        function = _function_by_handler(synthesized, handler)
        [target] = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
        # The input names the pipeline (or its EMR launch) and the date the schedule stands for.
        text = json.dumps(target["InputTransformer"]["InputTemplate"])
        assert "<time>" in text and pipeline.schedule_offset in text
        assert (pipeline.name in text) or (pipeline.name.replace("_", "-") in text)
        assert [
            p
            for p in permissions
            if p["Properties"]["SourceArn"] == {"Fn::GetAtt": [matching[0], "Arn"]}
            and p["Properties"]["FunctionName"] == {"Ref": function}
            and p["Properties"]["Principal"] == "events.amazonaws.com"
        ]


def test_the_usage_report_is_started_monthly_by_its_own_rule(synthesized):
    rules = [
        r["Properties"]
        for r in synthesized.resources("AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression") == "cron(0 8 1 * ? *)"
    ]
    assert len(rules) == 1
    [target] = rules[0]["Targets"]
    assert target["Arn"] == {
        "Fn::GetAtt": [_function_by_handler(synthesized, "start_workflow"), "Arn"]
    }
    text = json.dumps(target["InputTransformer"]["InputTemplate"])
    assert "usage-monthly-report" in text and "previous_month" in text and "range" in text


def test_s3_trigger_rule_sends_lake_object_created_events_to_the_loader_handler(synthesized):
    rules = synthesized.resources("AWS::Events::Rule").values()
    [rule] = [
        r["Properties"]
        for r in rules
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.s3"]
    ]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    [lake] = [
        k
        for k, b in synthesized.resources("AWS::S3::Bucket").items()
        if b["Properties"].get("NotificationConfiguration")
    ]
    assert lake.startswith("Lake")
    assert json.dumps(pattern["detail"]["bucket"]["name"]).count(lake) == 1
    function = _function_by_handler(synthesized, "on_object_created")
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    environment = synthesized.resources("AWS::Lambda::Function")[function]["Properties"][
        "Environment"
    ]["Variables"]
    assert environment["BATCH_JOB_DEFINITION"] == "analytics-warehouse-load-load"
    assert environment["BATCH_JOB_QUEUE"] == "analytics-jobs"


def secret(name: str, placeholder: str) -> dict:
    """A container secret read from the Secrets Manager secret whose full ARN is a stack
    parameter (ECS needs the ARN)."""
    value = {"Fn::Sub": [f"${{{placeholder}}}", {placeholder: {"Ref": f"{placeholder}Arn"}}]}
    return {"Name": name, "ValueFrom": value}


def _policy_actions(synthesized, role_id: str) -> set[str]:
    """Every action granted to the role `role_id` (logical id) by the stack's policies."""
    actions: set[str] = set()
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions.update(_as_list(statement["Action"]))
    return actions


def test_a_fargate_job_definition_per_batch_task_running_that_task_from_the_image(synthesized):
    definitions = {
        d["Properties"]["JobDefinitionName"]: d["Properties"]
        for d in synthesized.resources("AWS::Batch::JobDefinition").values()
    }
    expected = {
        f"analytics-{p.name}-{t.name}".replace("_", "-"): (p, t)
        for p in PIPELINES.values()
        if p.platform == "batch"
        for t in p.tasks
        if not t.local_only
    }
    assert set(definitions) == set(expected)
    (repository_id,) = synthesized.resources("AWS::ECR::Repository")
    for name, (pipeline, task) in expected.items():
        assert definitions[name]["PlatformCapabilities"] == ["FARGATE"]
        container = definitions[name]["ContainerProperties"]
        # The image's entry point is `analytics`; the command is its arguments.
        assert container["Command"] == [
            "run", pipeline.name, f"--{pipeline.param}", f"Ref::{pipeline.param}",
            "--task", task.name,
        ]  # fmt: skip
        image = json.dumps(container["Image"])
        assert repository_id in image and "ImageTag" in image
        assert container["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}
        assert {"Type": "VCPU", "Value": str(task.vcpus)} in container["ResourceRequirements"]
        assert container["JobRoleArn"]["Fn::GetAtt"][0].startswith("JobRole")
        assert container["ExecutionRoleArn"]["Fn::GetAtt"][0].startswith("JobExecutionRole")
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert container["Secrets"][0] == secret("PII_SALT", "PiiSaltSecret")
        assert definitions[name]["RetryStrategy"]["Attempts"] == 3
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        assert environment["ANALYTICS_TARGET"] == "athena"
        assert "AthenaResults" in json.dumps(environment["ATHENA_STAGING_DIR"])
        assert "Lake" in json.dumps(environment["ATHENA_DATA_DIR"])
        assert environment["ATHENA_WORKGROUP"]["Fn::Sub"][1] == {"AthenaWorkGroup": "analytics"}
    # The warehouse password reaches the two jobs that use the warehouse, and no other.
    with_warehouse = {
        name
        for name, d in definitions.items()
        if secret("WAREHOUSE_URL", "WarehouseUrlSecret") in d["ContainerProperties"]["Secrets"]
    }
    assert with_warehouse == {
        "analytics-ace-daily-dim-customer-daily",
        "analytics-warehouse-load-load",
    }


def test_the_execution_role_pulls_the_image_writes_logs_and_reads_the_secrets(synthesized):
    (role_id,) = [
        r for r in synthesized.resources("AWS::IAM::Role") if r.startswith("JobExecutionRole")
    ]
    actions = _policy_actions(synthesized, role_id)
    assert {
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    } <= actions
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions
    assert "secretsmanager:GetSecretValue" in actions
    (repository,) = synthesized.resources("AWS::ECR::Repository").values()
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
    (compute,) = synthesized.resources("AWS::Batch::ComputeEnvironment").values()
    assert compute["Properties"]["ComputeResources"]["Type"] == "FARGATE"


def test_each_kind_of_batch_task_has_a_role_with_what_it_calls(synthesized):
    """dbt gets what dbt-athena calls (table versions, partitions) on the models database only;
    the loader reads incoming/ and nothing else of Athena or Glue."""
    roles = {r: _policy_actions(synthesized, r) for r in synthesized.resources("AWS::IAM::Role")}
    dbt = roles[next(r for r in roles if r.startswith("JobRoleDbt"))]
    assert {
        "athena:StartQueryExecution", "athena:GetQueryResults", "athena:GetWorkGroup",
        "glue:GetTableVersions", "glue:DeleteTableVersion", "glue:BatchCreatePartition",
        "glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable",
    } <= dbt  # fmt: skip
    # It reads back dbt's partial-parse state, which it keeps under _runs/dbt/ in the lake.
    dbt_id = next(r for r in roles if r.startswith("JobRoleDbt"))
    reads = [
        json.dumps(statement["Resource"])
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": dbt_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetObject*" in _as_list(statement["Action"])
    ]
    assert [r for r in reads if "/_runs/dbt/*" in r], reads
    finance = roles[next(r for r in roles if r.startswith("JobRoleExportFinance"))]
    assert "athena:StartQueryExecution" in finance and "glue:CreateTable" not in finance
    load = roles[next(r for r in roles if r.startswith("JobRoleLoad"))]
    assert not [a for a in load if a.startswith(("athena:", "glue:"))]
    assert not [a for a in load if a.startswith("s3:Put")]


SECRET_NAMES = ("PII_SALT", "WAREHOUSE_URL", "REDSHIFT_URL", "PASSWORD", "SECRET", "TOKEN")


def test_no_secret_is_written_in_a_plain_environment_variable(synthesized):
    """Job definitions and Lambdas carry settings in clear; secrets only by reference."""
    environments = [
        {e["Name"]: e["Value"] for e in d["Properties"]["ContainerProperties"]["Environment"]}
        for d in synthesized.resources("AWS::Batch::JobDefinition").values()
    ] + [
        f["Properties"].get("Environment", {}).get("Variables", {})
        for f in synthesized.resources("AWS::Lambda::Function").values()
    ]
    assert len(environments) > 10
    for env in environments:
        # A *_SECRET_ID names the secret (the stack's secret-ARN parameter), never its value.
        references = {n: v for n, v in env.items() if n.endswith("_SECRET_ID")}
        assert all(v == {"Ref": "PiiSaltSecretArn"} for v in references.values()), references
        named = [n for n in env if n not in references]
        assert not [n for n in named if any(s in n.upper() for s in SECRET_NAMES)], env
        assert not [v for v in env.values() if isinstance(v, str) and "@" in v and "://" in v]


def test_state_machines_are_the_rendered_definitions(synthesized):
    from orchestration.aws.render import render_all, render_workflows

    machines = {
        m["Properties"]["StateMachineName"]: m["Properties"]
        for m in synthesized.resources("AWS::StepFunctions::StateMachine").values()
    }
    rendered = {
        r["state_machine"]["name"]: r["state_machine"]["definition"]
        for r in render_all().values()
        if "state_machine" in r
    }
    assert set(machines) == {
        "analytics-ace-daily",
        "analytics-ace-monthly",
        "analytics-listings-weekly",
        "analytics-social-daily",
        "analytics-usage-daily",
        "analytics-usage-monthly-report",
    }
    rendered.update(
        (r["state_machine"]["name"], r["state_machine"]["definition"])
        for r in render_workflows().values()
    )
    for name, definition in rendered.items():
        assert json.loads(machines[name]["DefinitionString"]) == definition
    report = machines["analytics-usage-monthly-report"]["DefinitionSubstitutions"]
    assert set(report) == {
        "AccountId", "AthenaResultsBucket", "AthenaWorkGroup", "LakeBucket", "ModelsDatabase",
        "Region", "ReportsTopic",
    }  # fmt: skip
    emr = machines["analytics-listings-weekly"]["DefinitionSubstitutions"]
    assert set(emr) == {
        "CodeBucket", "EmrJobFlowRole", "EmrServiceRole", "LakeBucket", "LogBucket",
        "PiiSaltSecret", "Region",
    }  # fmt: skip


def test_glue_tables_project_their_partitions_and_read_the_jobs_tables_through_manifests(
    synthesized,
):
    databases = {
        d["Properties"]["DatabaseInput"]["Name"]
        for d in synthesized.resources("AWS::Glue::Database").values()
    }
    # dbt reads its sources from LAKE_SCHEMA and builds into ATHENA_SCHEMA (profiles.yml defaults).
    assert databases == {"lake", "analytics"}
    tables_databases = {
        t["Properties"]["DatabaseName"] for t in synthesized.resources("AWS::Glue::Table").values()
    }
    assert tables_databases == {"lake"}
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in synthesized.resources("AWS::Glue::Table").values()
    }
    assert set(tables) == {
        "notification_attempts",
        "notification_receipts",
        "experiences",
        "dim_customer",
        "listings_neighbourhood_stats",
        "usage_events",
        "social_event_stats",
        "social_brand_stats",
    }
    for name, table in tables.items():
        parameters = table["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.dt.type"] == "date"
        template = json.dumps(parameters["storage.location.template"])
        storage = table["StorageDescriptor"]
        assert [k["Name"] for k in table["PartitionKeys"]][0] == "dt"
        assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
        if name == "usage_events":
            # Firehose only adds objects: Athena reads its Parquet folders.
            assert f"/{name}/dt=${{dt}}/hour=${{hour}}" in template
            assert storage["InputFormat"].endswith("MapredParquetInputFormat")
        else:
            # What the jobs publish is read through each day's manifests (atomic switch).
            assert f"/{name}/_symlink/dt=${{dt}}" in template
            assert f"/{name}/_symlink" in json.dumps(storage["Location"])
            assert storage["InputFormat"] == "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
            assert storage["OutputFormat"].endswith("HiveIgnoreKeyTextOutputFormat")


def test_firehose_converts_to_parquet_partitions_by_event_time_and_quarantines_errors(template):
    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "Prefix": Match.string_like_regexp(
                        r"^lake/usage_events/dt=!\{partitionKeyFromLambda:dt\}/hour="
                    ),
                    "ErrorOutputPrefix": Match.string_like_regexp(r"^quarantine/events/"),
                    "DataFormatConversionConfiguration": Match.object_like(
                        {
                            "Enabled": True,
                            "SchemaConfiguration": Match.object_like(
                                {"DatabaseName": "lake", "TableName": "usage_events"}
                            ),
                        }
                    ),
                    "DynamicPartitioningConfiguration": {"Enabled": True},
                }
            )
        },
    )


def test_firehose_runs_the_local_conversion_as_its_transformation_lambda(synthesized):
    (stream,) = synthesized.resources("AWS::KinesisFirehose::DeliveryStream").values()
    destination = stream["Properties"]["ExtendedS3DestinationConfiguration"]
    (processor,) = destination["ProcessingConfiguration"]["Processors"]
    assert processor["Type"] == "Lambda"
    arn = next(
        p["ParameterValue"] for p in processor["Parameters"] if p["ParameterName"] == "LambdaArn"
    )
    function = _function_by_handler(synthesized, "transform_usage_events")
    assert arn == {"Fn::GetAtt": [function, "Arn"]}
    deserializer = destination["DataFormatConversionConfiguration"]["InputFormatConfiguration"]
    assert "HiveJsonSerDe" in deserializer["Deserializer"]
    (role,) = [r for r in synthesized.resources("AWS::IAM::Role") if r.startswith("FirehoseRole")]
    assert "lambda:InvokeFunction" in _policy_actions(synthesized, role)


def test_athena_workgroup_caps_bytes_scanned_and_enforces_its_settings(template):
    template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "analytics",
            "WorkGroupConfiguration": Match.object_like(
                {
                    "BytesScannedCutoffPerQuery": 100 * 2**30,
                    "EnforceWorkGroupConfiguration": True,
                }
            ),
        },
    )


def test_every_log_group_has_a_retention_and_every_function_logs_to_one(synthesized):
    groups = synthesized.resources("AWS::Logs::LogGroup")
    assert groups and all(g["Properties"]["RetentionInDays"] == 90 for g in groups.values())
    for function in synthesized.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups


def test_sns_topics_are_encrypted_and_alerts_receive_failed_executions(synthesized):
    topics = {
        t["Properties"]["TopicName"]: (k, t["Properties"])
        for k, t in synthesized.resources("AWS::SNS::Topic").items()
    }
    assert set(topics) == {"analytics-notifications", "analytics-reports"}
    [(key_id, key)] = [
        (k, r)
        for k, r in synthesized.resources("AWS::KMS::Key").items()
        if k.startswith("TopicKey")
    ]
    for _, properties in topics.values():
        assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    # EventBridge (the failure alerts) and CloudWatch (the dead-letter alarm) may use the key, so
    # they reach the encrypted topic.
    services = {}
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        for service in _as_list(statement["Principal"].get("Service", [])):
            services[service] = set(_as_list(statement["Action"]))
    assert services == {
        "events.amazonaws.com": {"kms:Decrypt", "kms:GenerateDataKey*"},
        "cloudwatch.amazonaws.com": {"kms:Decrypt", "kms:GenerateDataKey*"},
    }
    topic = topics["analytics-notifications"][0]
    failed = [
        r["Properties"]
        for r in synthesized.resources("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.states"]
    ]
    assert len(failed) == 1
    assert failed[0]["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert failed[0]["Targets"][0]["Arn"] == {"Ref": topic}


def test_log_groups_and_environments_are_encrypted_and_async_failures_are_kept(synthesized):
    [(key_id, key)] = [
        (k, r) for k, r in synthesized.resources("AWS::KMS::Key").items() if k.startswith("DataKey")
    ]
    assert key["Properties"]["EnableKeyRotation"] is True
    arn = {"Fn::GetAtt": [key_id, "Arn"]}
    log_groups = synthesized.resources("AWS::Logs::LogGroup").values()
    assert len(log_groups) == 8  # six functions, Batch, Firehose
    assert all(g["Properties"]["KmsKeyId"] == arn for g in log_groups)
    # CloudWatch Logs may use the key, for this account's log groups only.
    [logs] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "logs." in json.dumps(s["Principal"].get("Service", ""))
    ]
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    functions = {
        f["Properties"]["FunctionName"]: f["Properties"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
    }
    [queue_id] = synthesized.resources("AWS::SQS::Queue")
    for name, function in functions.items():
        assert function.get("KmsKeyArn") == arn, name
        assert 1 <= function["ReservedConcurrentExecutions"] <= 5, name
    # The functions EventBridge invokes asynchronously keep a failed event; the others are
    # invoked synchronously (Step Functions, Firehose), whose caller gets the error.
    with_dlq = {n for n, f in functions.items() if "DeadLetterConfig" in f}
    assert with_dlq == {
        "analytics-start-workflow",
        "analytics-launch-emr",
        "analytics-on-object-created",
        "analytics-submit-batch-jobs",
    }
    for name in with_dlq:
        target = functions[name]["DeadLetterConfig"]["TargetArn"]
        assert target == {"Fn::GetAtt": [queue_id, "Arn"]}
    # The account keeps 10 unreserved executions: the stack needs a limit of 30 at least.
    assert sum(f["ReservedConcurrentExecutions"] for f in functions.values()) <= 20
    [alarm] = synthesized.resources("AWS::CloudWatch::Alarm").values()
    assert alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] == queue_id
    assert alarm["Properties"]["AlarmActions"]


def _object_prefixes(resources, bucket_prefix: str) -> set[str]:
    """The key patterns an S3 statement grants under a bucket (`Fn::Join` of its ARN and a
    pattern), for the bucket whose logical id starts with `bucket_prefix`."""
    found = set()
    for resource in _as_list(resources):
        parts = resource.get("Fn::Join", ["", []])[1] if isinstance(resource, dict) else []
        if len(parts) == 2 and parts[0].get("Fn::GetAtt", [""])[0].startswith(bucket_prefix):
            found.add(parts[1])
    return found


def test_the_spark_job_role_reaches_only_its_lake_prefixes_the_code_and_the_salt(synthesized):
    [role_id] = [
        k
        for k, r in synthesized.resources("AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "emr-serverless.amazonaws.com"
    ]
    statements = [
        s
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    lake = set().union(*(_object_prefixes(s["Resource"], "Lake") for s in statements))
    assert lake == {"/raw/*", "/lake/*", "/quarantine/*", "/_scratch/*", "/exports/social/*"}
    writes = set().union(
        *(
            _object_prefixes(s["Resource"], "Lake")
            for s in statements
            if "s3:PutObject" in _as_list(s["Action"])
        )
    )
    assert "/raw/*" not in writes and "/lake/*" in writes
    code = set().union(*(_object_prefixes(s["Resource"], "Code") for s in statements))
    assert code == {"/analytics/*"}
    secrets = [s for s in statements if "secretsmanager:GetSecretValue" in _as_list(s["Action"])]
    assert len(secrets) == 1
    assert secrets[0]["Resource"] == {"Ref": "PiiSaltSecretArn"}
    assert not [s for s in statements if "glue:" in json.dumps(s["Action"])]


def test_submit_batch_jobs_is_deployed_and_may_submit_only_the_job_definitions(synthesized):
    function = synthesized.resources("AWS::Lambda::Function")[
        _function_by_handler(synthesized, "submit_batch_jobs")
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    [statement] = [
        s
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "batch:SubmitJob"
    ]
    definitions = synthesized.resources("AWS::Batch::JobDefinition")
    # The queue, and each job definition with and without its revision.
    assert len(statement["Resource"]) == 1 + 2 * len(definitions)
    assert "*" not in json.dumps(statement["Resource"]).replace(":*", "")


def test_every_dbt_source_has_a_glue_table_in_the_lake_database(synthesized):
    """dbt's athena target reads its sources from the Glue database `lake`: one table each."""
    import yaml

    sources = yaml.safe_load(
        (
            Path(__file__).resolve().parents[2]
            / "dbt_project/models/staging/lake/_lake__sources.yml"
        ).read_text()
    )
    names = {t["name"] for s in sources["sources"] for t in s["tables"]}
    assert len(names) == 7
    tables = {
        t["Properties"]["TableInput"]["Name"]
        for t in synthesized.resources("AWS::Glue::Table").values()
        if t["Properties"]["DatabaseName"] == "lake"
    }
    assert names <= tables
