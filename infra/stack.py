"""Every AWS resource of DESIGN §8 in one CDK stack. The jobs, schedules, triggers and state
machines are not listed here: they are the documents `orchestration.aws.render` generates from the
pipeline declarations, deployed as they are with their `${...}` placeholders filled in."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.glue_tables import (
    PARQUET_SERDE,
    TABLES,
    USAGE_EVENTS,
    GlueTable,
    projection_parameters,
)
from orchestration.aws.render import Naming, render_all, render_spark_application, render_workflows

LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# Reserved concurrency of each function: a storm of events (thousands of objects dropped in
# incoming/ at once) cannot turn into as many Batch submissions, and no function can starve the
# others. 20 in all: an account keeps at least 10 unreserved, so the stack needs a Lambda
# concurrency limit of 30 or more (new accounts may start lower: docs/aws.md).
RESERVED_CONCURRENCY = {
    "start_workflow": 4,
    "launch_emr": 2,
    "on_object_created": 5,
    "render_usage_report": 2,
    "submit_batch_jobs": 4,
    "transform_usage_events": 3,
}
# The functions invoked asynchronously (EventBridge targets): an event that still fails after
# Lambda's retries is kept in the dead-letter queue, which raises an alarm.
ASYNC_HANDLERS = ("start_workflow", "launch_emr", "on_object_created", "submit_batch_jobs")
# Checks of the security scanner (checkov) that do not apply to a resource, with the reason,
# written into the resource's metadata where checkov reads them.
NO_VPC = (
    "CKV_AWS_117",
    "The function calls only AWS APIs (Step Functions, Batch, EMR, S3, Athena, SNS) and reaches "
    "nothing inside a VPC; in one it would need a NAT gateway or an interface endpoint per "
    "service, for no isolation gained.",
)
ATHENA_BYTES_SCANNED_CUTOFF = 100 * 2**30  # 100 GiB per query
ABORT_MULTIPART_AFTER = cdk.Duration.days(7)
HANDLERS = (
    "start_workflow",
    "launch_emr",
    "on_object_created",
    "render_usage_report",
    "submit_batch_jobs",
    "transform_usage_events",
)
HANDLER_MODULE = "orchestration.aws.handlers"
# Glue databases: the curated lake (dbt's sources, LAKE_SCHEMA) and the dbt models (ATHENA_SCHEMA).
LAKE_DATABASE = "lake"
MODELS_DATABASE = "analytics"
WORKGROUP = "analytics"
FIREHOSE_STREAM = "usage-events"

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


def substitute(document: Any, values: dict[str, str]) -> Any:
    """The rendered document with every string holding `${Name}` placeholders turned into an
    `Fn::Sub` of the deployed values (names not in `values` fail here, not at deploy time)."""
    if isinstance(document, dict):
        return {key: substitute(value, values) for key, value in document.items()}
    if isinstance(document, list):
        return [substitute(value, values) for value in document]
    if isinstance(document, str) and _PLACEHOLDER.search(document):
        used = {name: values[name] for name in _PLACEHOLDER.findall(document)}
        return cdk.Fn.sub(document, used)
    return document


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


def cfn_properties(request: Any, data_keys: frozenset[str] = frozenset()) -> Any:
    """An AWS API request (camelCase) as CloudFormation properties (PascalCase); the values of
    `data_keys` (user maps such as tags and parameters) are kept as they are."""
    if isinstance(request, dict):
        return {
            _pascal(key): value if key in data_keys else cfn_properties(value, data_keys)
            for key, value in request.items()
        }
    if isinstance(request, list):
        return [cfn_properties(value, data_keys) for value in request]
    return request


class AnalyticsStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        lambda_zip: str,
        naming: Naming | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.naming = naming or Naming()
        self.rendered = render_all(self.naming)
        self.task_access = {
            name: access
            for r in self.rendered.values()
            for name, access in r.get("task_access", {}).items()
        }

        self.log_bucket = self._bucket("Logs", versioned=True, access_logs=False)
        _skip(
            self.log_bucket,
            "CKV_AWS_18",
            "This is the bucket the other buckets' access logs go to; logging it into itself "
            "would log its own log deliveries.",
        )
        self.lake_bucket = self._bucket("Lake", versioned=True)
        self.code_bucket = self._bucket("Code", versioned=True)
        self.results_bucket = self._bucket("AthenaResults")
        _skip(
            self.results_bucket,
            "CKV_AWS_21",
            "Athena query results: output that a query writes again when run again; versions "
            "would keep results nobody reads.",
        )
        # S3 → EventBridge for the warehouse-load trigger (a bucket property: no custom resource).
        lake_cfn = self.lake_bucket.node.default_child
        lake_cfn.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

        # The salt of the destination hash outlives any deployment (a new salt would change
        # every hash): it is created once, out of the stack (docs/aws.md), and given by its ARN.
        self.pii_salt_arn, self.pii_salt = self._external_secret(
            "PiiSalt", "PII_SALT (created before the first deploy)"
        )
        # The warehouse's connection URL with its password (postgresql://user:password@host/db),
        # created and rotated out of the stack; only the jobs that use the warehouse get it.
        self.warehouse_url_arn, self.warehouse_url = self._external_secret(
            "WarehouseUrl", "WAREHOUSE_URL (RDS PostgreSQL)"
        )
        # A customer-managed key: EventBridge (the failure alerts) can publish to a topic
        # encrypted with it, which the AWS-managed alias/aws/sns key does not allow.
        self.topic_key = self._key("TopicKey", "SNS topics of the analytics platform")
        self.topic_key.grant(
            iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            topic_name=self.naming.of("notifications"),
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        # Report recipients subscribe here (the usage report's e-mail), apart from failure alerts.
        self.reports_topic = sns.Topic(
            self,
            "Reports",
            topic_name=self.naming.of("reports"),
            master_key=self.topic.master_key,
            enforce_ssl=True,
        )

        # The platform's own key for what AWS encrypts on its behalf: the log groups and the
        # functions' environment variables.
        self.data_key = self._key(
            "DataKey", "Log groups, Lambda environments and dead letters of the analytics platform"
        )
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": self._arn("logs", "*")}
                },
            )
        )

        self._glue()
        self._athena()
        self._emr_roles()
        self._spark_runtime()
        self._image()
        self.values = self._placeholder_values()
        self._batch()
        self._lambdas(lambda_zip)
        self._firehose()
        self._state_machines()
        self._workflows()
        self._rules()
        self._failure_alerts()
        for name, value in {
            "LakeBucket": self.lake_bucket.bucket_name,
            "CodeBucket": self.code_bucket.bucket_name,
            "AthenaResultsBucket": self.results_bucket.bucket_name,
            "ImageRepository": self.image_repository.repository_uri,
            "NotificationsTopic": self.topic.topic_arn,
            "ReportsTopic": self.reports_topic.topic_arn,
        }.items():
            cdk.CfnOutput(self, name, value=value)

    # --- storage -------------------------------------------------------------------------

    def _bucket(self, name: str, versioned: bool = False, access_logs: bool = True) -> s3.Bucket:
        return s3.Bucket(
            self,
            name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=versioned,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket if access_logs else None,
            server_access_logs_prefix=f"s3/{name.lower()}/" if access_logs else None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=ABORT_MULTIPART_AFTER,
                ),
                *(
                    [
                        s3.LifecycleRule(
                            id="expire-noncurrent",
                            noncurrent_version_expiration=cdk.Duration.days(30),
                        )
                    ]
                    if versioned
                    else []
                ),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _key(self, construct_id: str, description: str) -> kms.Key:
        """A customer-managed key, rotated yearly, kept when the stack is deleted."""
        return kms.Key(
            self,
            construct_id,
            description=description,
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _arn(self, service: str, resource: str) -> str:
        return cdk.Fn.sub(
            f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
        )

    # --- catalog and query ---------------------------------------------------------------

    def _glue(self) -> None:
        self.database = glue.CfnDatabase(
            self,
            "LakeDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=LAKE_DATABASE, description="Curated lake: the dbt sources (DESIGN §3)"
            ),
        )
        glue.CfnDatabase(
            self,
            "ModelsDatabase",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=MODELS_DATABASE, description="Tables and views dbt builds (DESIGN §7)"
            ),
        )
        self.glue_tables: dict[str, glue.CfnTable] = {}
        for table in TABLES:
            self.glue_tables[table.name] = self._glue_table(table)

    def _glue_table(self, table: GlueTable) -> glue.CfnTable:
        location = cdk.Fn.join(
            "", ["s3://", self.lake_bucket.bucket_name, f"/{table.zone}/{table.name}"]
        )
        parameters = projection_parameters(table, "LOCATION")
        template = parameters.pop("storage.location.template")
        parameters["storage.location.template"] = cdk.Fn.join(
            "", [location, template.removeprefix("LOCATION")]
        )
        resource = glue.CfnTable(
            self,
            f"Table{_camel(table.name)}",
            catalog_id=self.account,
            database_name=LAKE_DATABASE,
            table_input=glue.CfnTable.TableInputProperty(
                name=table.name,
                description=table.description,
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=p, type="string") for p in table.partitions
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=table.read_location(location),
                    input_format=table.formats[0],
                    output_format=table.formats[1],
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind)
                        for name, kind in table.columns
                    ],
                ),
            ),
        )
        resource.add_resource_dependency(self.database)
        return resource

    def _athena(self) -> None:
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=WORKGROUP,
            description="dbt (athena target) and analysts",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                bytes_scanned_cutoff_per_query=ATHENA_BYTES_SCANNED_CUTOFF,
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/athena/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )

    def _firehose(self) -> None:
        """Usage events (§5.4): JSON records converted to Parquet against the Glue table,
        partitioned by the record's event date and hour; failed records under quarantine/."""
        role = iam.Role(
            self, "FirehoseRole", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com")
        )
        transform = self.functions["transform_usage_events"]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                resources=[transform.function_arn, f"{transform.function_arn}:*"],
            )
        )
        self.lake_bucket.grant_read_write(role, f"{USAGE_EVENTS.zone}/{USAGE_EVENTS.name}/*")
        self.lake_bucket.grant_read_write(role, "quarantine/events/*")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.lake_bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=[
                    self._arn("glue", "catalog"),
                    self._arn("glue", f"database/{LAKE_DATABASE}"),
                    self._arn("glue", f"table/{LAKE_DATABASE}/{USAGE_EVENTS.name}"),
                ],
            )
        )
        log_group = self._log_group("Firehose", f"/aws/kinesisfirehose/{FIREHOSE_STREAM}")
        log_group.grant_write(role)
        stream = firehose.CfnDeliveryStream(
            self,
            "UsageEvents",
            delivery_stream_name=FIREHOSE_STREAM,
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.lake_bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=f"{USAGE_EVENTS.zone}/{USAGE_EVENTS.name}/"
                "dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/",
                error_output_prefix="quarantine/events/!{firehose:error-output-type}/"
                "dt=!{timestamp:yyyy-MM-dd}/",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=300, size_in_m_bs=128
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=log_group.log_group_name,
                    log_stream_name="delivery",
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True
                ),
                # The local delivery stream's conversion (ingestion.usage_records) as the
                # transformation Lambda: it returns the converted row with its arrival time and
                # the partition keys (the event time's UTC date and hour).
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="Lambda",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="LambdaArn",
                                    parameter_value=transform.function_arn,
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="BufferSizeInMBs", parameter_value="1"
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="BufferIntervalInSeconds", parameter_value="60"
                                ),
                            ],
                        )
                    ],
                ),
                data_format_conversion_configuration=firehose.CfnDeliveryStream.DataFormatConversionConfigurationProperty(
                    enabled=True,
                    input_format_configuration=firehose.CfnDeliveryStream.InputFormatConfigurationProperty(
                        # The Lambda's JSON: lower-case names, `yyyy-mm-dd hh:mm:ss.ffffff` times.
                        deserializer=firehose.CfnDeliveryStream.DeserializerProperty(
                            hive_json_ser_de=firehose.CfnDeliveryStream.HiveJsonSerDeProperty()
                        )
                    ),
                    output_format_configuration=firehose.CfnDeliveryStream.OutputFormatConfigurationProperty(
                        serializer=firehose.CfnDeliveryStream.SerializerProperty(
                            parquet_ser_de=firehose.CfnDeliveryStream.ParquetSerDeProperty(
                                compression="SNAPPY"
                            )
                        )
                    ),
                    schema_configuration=firehose.CfnDeliveryStream.SchemaConfigurationProperty(
                        catalog_id=self.account,
                        database_name=LAKE_DATABASE,
                        table_name=USAGE_EVENTS.name,
                        region=self.region,
                        role_arn=role.role_arn,
                        version_id="LATEST",
                    ),
                ),
            ),
        )
        stream.node.add_dependency(role.node.find_child("DefaultPolicy"))
        stream.add_resource_dependency(self.glue_tables[USAGE_EVENTS.name])

    # --- compute -------------------------------------------------------------------------

    def _emr_roles(self) -> None:
        self.emr_service_role = iam.Role(
            self,
            "EmrServiceRole",
            assumed_by=iam.ServicePrincipal("elasticmapreduce.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonEMRServicePolicy_v2"
                )
            ],
        )
        self.emr_instance_role = iam.Role(
            self, "EmrInstanceRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com")
        )
        self.lake_bucket.grant_read_write(self.emr_instance_role)
        self.code_bucket.grant_read(self.emr_instance_role)
        self.log_bucket.grant_write(self.emr_instance_role, "emr/*")
        self.pii_salt.grant_read(self.emr_instance_role)
        self.emr_instance_profile = iam.CfnInstanceProfile(
            self, "EmrInstanceProfile", roles=[self.emr_instance_role.role_name]
        )

    # Where the Spark tasks write: their curated and quarantined days, their scratch copies and
    # the social documents; they read the raw zone and the curated tables they join.
    SPARK_WRITES = ("lake/*", "quarantine/*", "_scratch/*", "exports/social/*")
    SPARK_READS = ("raw/*",)

    def _spark_runtime(self) -> None:
        """The EMR Serverless application every Spark task runs on, and the role its job runs
        assume: the lake prefixes the jobs use, the published code, the salt, their logs."""
        properties = render_spark_application(self.naming)
        self.spark_application = emrserverless.CfnApplication(
            self,
            "SparkApplication",
            release_label=properties["ReleaseLabel"],
            type=properties["Type"],
        )
        for key, value in properties.items():
            if key not in ("ReleaseLabel", "Type"):
                self.spark_application.add_property_override(key, value)
        self.spark_job_role = iam.Role(
            self,
            "SparkJobRole",
            assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com"),
            description="EMR Serverless job runs of the Spark tasks",
        )
        for prefix in self.SPARK_WRITES:
            self.lake_bucket.grant_read_write(self.spark_job_role, prefix)
        for prefix in self.SPARK_READS:
            self.lake_bucket.grant_read(self.spark_job_role, prefix)
        self.code_bucket.grant_read(self.spark_job_role, "analytics/*")
        self.log_bucket.grant_write(self.spark_job_role, "emr-serverless/*")
        self.pii_salt.grant_read(self.spark_job_role)

    def _image(self) -> None:
        """The ECR repository of the Batch jobs' image (Dockerfile, `make image`) and the tag a
        deploy runs: tags are immutable, so a deployment names exactly one build."""
        self.image_repository = ecr.Repository(
            self,
            "Images",
            repository_name=self.naming.prefix,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[ecr.LifecycleRule(max_image_count=50, description="keep 50 builds")],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.image_tag = cdk.CfnParameter(
            self,
            "ImageTag",
            description="Tag of the image in the Images repository the jobs run (make image)",
            allowed_pattern=r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        ).value_as_string

    # What each kind of Batch task reaches (orchestration.aws.render.task_access): dbt and the
    # exports query Athena over the Glue catalog; every other task its own lake prefixes.
    def _job_role(self, definition: str) -> iam.Role:
        access = self.task_access[definition]
        if access in self.job_roles:
            return self.job_roles[access]
        role = iam.Role(
            self,
            f"JobRole{_camel(access)}",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"Batch jobs of kind {access}",
        )
        grants = {
            "dbt": self._grant_dbt,
            "export_finance": self._grant_finance_export,
            "dim_customer_daily": lambda r: self.lake_bucket.grant_read_write(
                r, "lake/dim_customer/*"
            ),
            "load": lambda r: self.lake_bucket.grant_read(r, "incoming/*"),
            "spark": self._grant_spark_tasks,
        }
        grants[access](role)
        self.job_roles[access] = role
        return role

    def _grant_athena_queries(self, role: iam.Role) -> None:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                ],
                resources=[self._arn("athena", f"workgroup/{WORKGROUP}")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["athena:GetDataCatalog", "athena:ListTableMetadata"],
                resources=[self._arn("athena", "datacatalog/AwsDataCatalog")],
            )
        )
        # Athena reads the catalog and the data with the caller's permissions.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                resources=self._glue_resources(LAKE_DATABASE, MODELS_DATABASE),
            )
        )
        self.lake_bucket.grant_read(role, "lake/*")
        self.lake_bucket.grant_read(role, "models/*")
        self.results_bucket.grant_read_write(role)

    def _glue_resources(self, *databases: str) -> list[str]:
        return [
            self._arn("glue", "catalog"),
            *(self._arn("glue", f"database/{d}") for d in databases),
            *(self._arn("glue", f"table/{d}/*") for d in databases),
        ]

    def _grant_dbt(self, role: iam.Role) -> None:
        """What dbt-athena calls: queries in the workgroup, the models' tables, their versions
        and partitions in the models database, their data under models/, its artefacts."""
        self._grant_athena_queries(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:DeleteTable",
                    "glue:GetTableVersions",
                    "glue:DeleteTableVersion",
                    "glue:BatchDeleteTableVersion",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                    "glue:DeletePartition",
                    "glue:BatchDeletePartition",
                ],
                resources=self._glue_resources(MODELS_DATABASE),
            )
        )
        self.lake_bucket.grant_read_write(role, "models/*")
        self.lake_bucket.grant_delete(role, "models/*")
        self.lake_bucket.grant_put(role, "_runs/*")
        # dbt's partial-parse state, kept in the lake between containers (orchestration.local.dbt).
        self.lake_bucket.grant_read(role, "_runs/dbt/*")

    def _grant_finance_export(self, role: iam.Role) -> None:
        self._grant_athena_queries(role)
        self.lake_bucket.grant_put(role, "exports/finance/*")

    def _grant_spark_tasks(self, role: iam.Role) -> None:
        """A Spark task run in a container (the manual submit_batch_jobs path): what its EMR
        Serverless job run may reach."""
        for prefix in self.SPARK_WRITES:
            self.lake_bucket.grant_read_write(role, prefix)
            self.lake_bucket.grant_delete(role, prefix)
        for prefix in self.SPARK_READS:
            self.lake_bucket.grant_read(role, prefix)

    def _batch(self) -> None:
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        # Fargate: no instances to manage; each job gets the vCPUs and memory it declares.
        compute = batch.FargateComputeEnvironment(
            self,
            "Compute",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            maxv_cpus=32,
            service_role=iam.Role(
                self,
                "BatchServiceRole",
                assumed_by=iam.ServicePrincipal("batch.amazonaws.com"),
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AWSBatchServiceRole"
                    )
                ],
            ),
        )
        # The API's spelling (CDK writes "managed", which CloudFormation also accepts).
        compute.node.default_child.add_property_override("Type", "MANAGED")
        self.job_queue = batch.JobQueue(
            self,
            "JobQueue",
            job_queue_name=self.naming.job_queue,
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=compute, order=1)
            ],
        )
        # Ref of a compute environment is its ARN, as GetAtt is; Ref is what moto resolves.
        self.job_queue.node.default_child.add_property_override(
            "ComputeEnvironmentOrder.0.ComputeEnvironment", compute.node.default_child.ref
        )
        # Ref of a job queue is its ARN too (and the attribute moto knows).
        self.job_queue_arn = self.job_queue.node.default_child.ref
        self.job_roles: dict[str, iam.Role] = {}
        self.execution_role = iam.Role(
            self, "JobExecutionRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        )
        # ECS pulls the image and reads the secrets with this role, before the task starts.
        self.image_repository.grant_pull(self.execution_role)
        self.pii_salt.grant_read(self.execution_role)
        self.warehouse_url.grant_read(self.execution_role)
        self.batch_logs = self._log_group("Batch", "/aws/batch/analytics")
        self.batch_logs.grant_write(self.execution_role)

        self.job_definitions: dict[str, batch.CfnJobDefinition] = {}
        for pipeline, rendered in self.rendered.items():
            for request in rendered.get("batch_job_definitions", []):
                self.job_definitions[request["jobDefinitionName"]] = self._job_definition(
                    pipeline, request
                )

    def _job_definition(self, pipeline: str, request: dict[str, Any]) -> batch.CfnJobDefinition:
        properties = cfn_properties(
            substitute(request, self.values), frozenset({"parameters", "tags"})
        )
        container = properties["ContainerProperties"]
        container["JobRoleArn"] = self._job_role(request["jobDefinitionName"]).role_arn
        container["ExecutionRoleArn"] = self.execution_role.role_arn
        container["LogConfiguration"] = {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": self.batch_logs.log_group_name,
                "awslogs-stream-prefix": pipeline,
            },
        }
        resource = batch.CfnJobDefinition(
            self, f"Job{_camel(request['jobDefinitionName'])}", type=properties["Type"]
        )
        for key, value in properties.items():
            if key != "Type":
                resource.add_property_override(key, value)
        return resource

    # --- orchestration -------------------------------------------------------------------

    def _placeholder_values(self) -> dict[str, str]:
        """What the rendered documents' `${...}` placeholders stand for in this stack."""
        return {
            "Region": cdk.Aws.REGION,
            "AccountId": cdk.Aws.ACCOUNT_ID,
            "LakeBucket": self.lake_bucket.bucket_name,
            "CodeBucket": self.code_bucket.bucket_name,
            "LogBucket": self.log_bucket.bucket_name,
            "EmrServiceRole": self.emr_service_role.role_name,
            "EmrJobFlowRole": self.emr_instance_profile.ref,
            "SparkApplication": self.spark_application.attr_application_id,
            "SparkJobRole": self.spark_job_role.role_arn,
            # ECS reads a Secrets Manager secret by its full ARN (`valueFrom`).
            "PiiSaltSecret": self.pii_salt_arn,
            "WarehouseUrlSecret": self.warehouse_url_arn,
            "AthenaResultsBucket": self.results_bucket.bucket_name,
            "AthenaWorkGroup": WORKGROUP,
            "ModelsDatabase": MODELS_DATABASE,
            "LakeDatabase": LAKE_DATABASE,
            "ImageRepository": self.image_repository.repository_uri,
            "ImageTag": self.image_tag,
            "ReportsTopic": self.reports_topic.topic_arn,
        }

    def _external_secret(self, construct_id: str, holds: str) -> tuple[str, secretsmanager.ISecret]:
        """A Secrets Manager secret managed outside the stack: (its full ARN, a stack parameter;
        the secret, for grants)."""
        arn = cdk.CfnParameter(
            self,
            f"{construct_id}SecretArn",
            description=f"Full ARN of the Secrets Manager secret holding {holds}",
            allowed_pattern=r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}",
            constraint_description="the full ARN (with its six-character suffix) of a secret",
        ).value_as_string
        return arn, secretsmanager.Secret.from_secret_complete_arn(self, construct_id, arn)

    def _dead_letter_queue(self) -> sqs.Queue:
        """Where an asynchronously invoked function's event goes when its retries failed; one
        message there raises an alarm on the notifications topic."""
        queue = sqs.Queue(
            self,
            "FunctionDeadLetters",
            queue_name=self.naming.of("function_dead_letters"),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.data_key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        alarm = cloudwatch.Alarm(
            self,
            "FunctionDeadLettersAlarm",
            alarm_name=self.naming.of("function_dead_letters"),
            alarm_description="An event failed its function's retries: see the queue's message.",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        # CloudWatch publishes to the topic, which is encrypted with the topic key.
        self.topic_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        return queue

    def _log_group(self, construct_id: str, name: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=name,
            retention=LOG_RETENTION,
            encryption_key=self.data_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _lambdas(self, lambda_zip: str) -> None:
        code = lambda_.Code.from_asset(lambda_zip)
        load_definition = self.naming.of("warehouse_load", "load")
        environment = {
            "start_workflow": {},
            "launch_emr": {
                "CODE_BUCKET": self.code_bucket.bucket_name,
                "LAKE_BUCKET": self.lake_bucket.bucket_name,
                "PII_SALT_SECRET_ID": self.pii_salt_arn,
                "EMR_SERVICE_ROLE": self.emr_service_role.role_name,
                "EMR_JOB_FLOW_ROLE": self.emr_instance_profile.ref,
                "EMR_LOG_URI": f"s3://{self.log_bucket.bucket_name}/emr/",
            },
            "on_object_created": {
                "BATCH_JOB_QUEUE": self.naming.job_queue,
                "BATCH_JOB_DEFINITION": load_definition,
                "LAKE_BUCKET": self.lake_bucket.bucket_name,
            },
            "render_usage_report": {"LAKE_BUCKET": self.lake_bucket.bucket_name},
            # The manual and backfill path of DESIGN §5.2: its event names the jobs.
            "submit_batch_jobs": {},
            # Firehose's transformation of the usage events: needs nothing but its records.
            "transform_usage_events": {},
        }
        dead_letters = self._dead_letter_queue()
        self.functions: dict[str, lambda_.Function] = {}
        for handler in HANDLERS:
            name = self.naming.of(handler)
            function = lambda_.Function(
                self,
                f"Fn{_camel(handler)}",
                function_name=name,
                runtime=lambda_.Runtime.PYTHON_3_11,
                handler=f"{HANDLER_MODULE}.{handler}",
                code=code,
                timeout=cdk.Duration.seconds(30),
                memory_size=256,
                environment=environment[handler],
                environment_encryption=self.data_key,
                reserved_concurrent_executions=RESERVED_CONCURRENCY[handler],
                dead_letter_queue=dead_letters if handler in ASYNC_HANDLERS else None,
                log_group=self._log_group(f"Fn{_camel(handler)}", f"/aws/lambda/{name}"),
            )
            self.data_key.grant_decrypt(function.role)
            _skip(function, *NO_VPC)
            if handler not in ASYNC_HANDLERS:
                _skip(
                    function,
                    "CKV_AWS_116",
                    "Invoked synchronously (by Step Functions or Firehose), never "
                    "asynchronously: the caller gets the error and retries or fails the run, so "
                    "a dead-letter queue would stay empty.",
                )
            self.functions[handler] = function
        self.functions["start_workflow"].add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[
                    self._arn("states", f"stateMachine:{self.naming.of(p)}")
                    for p, r in self.rendered.items()
                    if "state_machine" in r
                ]
                + [
                    self._arn("states", f"stateMachine:{self.naming.of(w)}")
                    for w, r in render_workflows(self.naming).items()
                    if r["event_rule"]
                ],
            )
        )
        self._allow_run_job_flow(self.functions["launch_emr"].role)
        definitions = sorted(self.job_definitions)
        self.functions["submit_batch_jobs"].add_to_role_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"],
                resources=[
                    self.job_queue_arn,
                    *(self._arn("batch", f"job-definition/{n}") for n in definitions),
                    *(self._arn("batch", f"job-definition/{n}:*") for n in definitions),
                ],
            )
        )
        self.functions["on_object_created"].add_to_role_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"],
                resources=[
                    self.job_queue_arn,
                    self._arn("batch", f"job-definition/{load_definition}"),
                    self._arn("batch", f"job-definition/{load_definition}:*"),
                ],
            )
        )

    def _workflows(self) -> None:
        """The query-and-report workflows: their state machines (as rendered), allowed to run
        Athena queries in the workgroup, invoke their render function and publish the report;
        the render function reads query results and writes under exports/ only."""
        render = self.functions["render_usage_report"]
        self.results_bucket.grant_read(render)
        self.lake_bucket.grant_put(render, "exports/*")
        for workflow, rendered in render_workflows(self.naming).items():
            role = iam.Role(
                self,
                f"States{_camel(workflow)}Role",
                assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["athena:StartQueryExecution", "athena:GetQueryExecution"],
                    resources=[self._arn("athena", f"workgroup/{WORKGROUP}")],
                )
            )
            # Athena reads the tables with the caller's permissions and writes its results.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                    resources=[
                        self._arn("glue", "catalog"),
                        *(
                            self._arn("glue", f"database/{d}")
                            for d in (LAKE_DATABASE, MODELS_DATABASE)
                        ),
                        *(
                            self._arn("glue", f"table/{d}/*")
                            for d in (LAKE_DATABASE, MODELS_DATABASE)
                        ),
                    ],
                )
            )
            self.lake_bucket.grant_read(role)
            self.results_bucket.grant_read_write(role)
            render.grant_invoke(role)
            self.reports_topic.grant_publish(role)
            self._state_machine(workflow, rendered, role)

    def _allow_run_job_flow(self, role: iam.IRole) -> None:
        # RunJobFlow has no resource-level permission; the roles it may pass are narrowed.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["elasticmapreduce:RunJobFlow"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.emr_service_role.role_arn, self.emr_instance_role.role_arn],
            )
        )

    def _state_machines(self) -> None:
        self.state_machines: dict[str, sfn.CfnStateMachine] = {}
        for pipeline, rendered in self.rendered.items():
            if "state_machine" not in rendered:
                continue
            role = iam.Role(
                self,
                f"States{_camel(pipeline)}Role",
                assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            )
            if rendered["platform"] == "emr":
                self._emr_state_machine_policy(role)
            else:
                self._batch_state_machine_policy(role, rendered)
            self._state_machine(pipeline, rendered, role)

    def _state_machine(self, name: str, rendered: dict[str, Any], role: iam.Role) -> None:
        """Deploy a rendered state machine, its `${...}` placeholders substituted at deploy time."""
        text = json.dumps(rendered["state_machine"]["definition"], sort_keys=True)
        used = sorted(set(_PLACEHOLDER.findall(text)))
        machine = sfn.CfnStateMachine(
            self,
            f"States{_camel(name)}",
            state_machine_name=rendered["state_machine"]["name"],
            role_arn=role.role_arn,
            definition_string=text,
            definition_substitutions={key: self.values[key] for key in used} or None,
        )
        machine.node.add_dependency(role.node.find_child("DefaultPolicy"))
        self.state_machines[name] = machine

    def _batch_state_machine_policy(self, role: iam.Role, rendered: dict[str, Any]) -> None:
        names = [d["jobDefinitionName"] for d in rendered["batch_job_definitions"]]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["batch:SubmitJob"],
                resources=[
                    self.job_queue_arn,
                    *(self._arn("batch", f"job-definition/{n}") for n in names),
                    *(self._arn("batch", f"job-definition/{n}:*") for n in names),
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["batch:DescribeJobs", "batch:TerminateJob"],
                resources=[self._arn("batch", "job/*")],
            )
        )
        # submitJob.sync (startJobRun.sync) waits through this managed rule.
        rules = ["StepFunctionsGetEventsForBatchJobsRule"]
        if _runs_spark_jobs(rendered):
            rules.append("StepFunctionsGetEventsForEMRServerlessJobRule")
            self._spark_state_machine_policy(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[self._arn("events", f"rule/{rule}") for rule in rules],
            )
        )

    def _spark_state_machine_policy(self, role: iam.Role) -> None:
        application = self.spark_application.attr_arn
        role.add_to_policy(
            iam.PolicyStatement(actions=["emr-serverless:StartJobRun"], resources=[application])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
                resources=[cdk.Fn.join("", [application, "/jobruns/*"])],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.spark_job_role.role_arn],
                conditions={"StringLike": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
            )
        )

    def _emr_state_machine_policy(self, role: iam.Role) -> None:
        self._allow_run_job_flow(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:AddJobFlowSteps",
                    "elasticmapreduce:DescribeStep",
                    "elasticmapreduce:CancelSteps",
                ],
                resources=[self._arn("elasticmapreduce", "cluster/*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self._arn("events", f"rule/{name}")
                    for name in (
                        "StepFunctionsGetEventForEMRRunJobFlowRule",
                        "StepFunctionsGetEventForEMRTerminateJobFlowsRule",
                        "StepFunctionsGetEventForEMRAddJobFlowStepsRule",
                    )
                ],
            )
        )

    def _rules(self) -> None:
        """One EventBridge rule per scheduled or triggered pipeline and per scheduled workflow,
        as rendered; its target is the handler's function in this stack, allowed to be invoked
        by that rule only."""
        functions_by_arn = {self.naming.lambda_arn(h): h for h in HANDLERS}
        self.rules: dict[str, events.CfnRule] = {}
        for pipeline, rendered in {**self.rendered, **render_workflows(self.naming)}.items():
            rule = rendered["event_rule"]
            if rule is None:
                continue
            targets = []
            for target in rule["Targets"]:
                function = self.functions[functions_by_arn[target["Arn"]]]
                targets.append({**substitute(target, self.values), "Arn": function.function_arn})
            properties = substitute({k: v for k, v in rule.items() if k != "Targets"}, self.values)
            resource = events.CfnRule(self, f"Rule{_camel(pipeline)}", state=rule["State"])
            for key, value in {**properties, "Targets": targets}.items():
                if key != "State":
                    resource.add_property_override(key, value)
            for target in rule["Targets"]:
                handler = functions_by_arn[target["Arn"]]
                lambda_.CfnPermission(
                    self,
                    f"Invoke{_camel(handler)}From{_camel(pipeline)}",
                    action="lambda:InvokeFunction",
                    function_name=self.functions[handler].function_name,
                    principal="events.amazonaws.com",
                    source_arn=resource.attr_arn,
                )
            self.rules[pipeline] = resource

    def _failure_alerts(self) -> None:
        """A failed, timed-out or aborted pipeline execution is published to the SNS topic."""
        rule = events.Rule(
            self,
            "PipelineFailed",
            rule_name=self.naming.of("pipeline_failed"),
            description="A pipeline's state machine execution did not succeed.",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [
                        m.ref for m in self.state_machines.values()
                    ],  # Ref is the ARN
                },
            ),
        )
        rule.add_target(targets.SnsTopic(self.topic))


def _runs_spark_jobs(rendered: dict[str, Any]) -> bool:
    text = json.dumps(rendered.get("state_machine", {}))
    return "emr-serverless:startJobRun" in text


def _skip(construct: Construct, check: str, reason: str) -> None:
    """Skip a checkov check on the construct's CloudFormation resource, with the reason (in its
    metadata, where checkov reads it)."""
    resource = (
        construct.node.default_child if not isinstance(construct, cdk.CfnResource) else construct
    )
    skips = resource.get_metadata("checkov") or {"skip": []}
    skips["skip"].append({"id": check, "comment": reason})
    resource.add_metadata("checkov", skips)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\-]", name))
