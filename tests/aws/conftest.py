"""The emulated account (DESIGN §8.1): a moto server stands in for S3, Secrets Manager, Step
Functions, Batch, EMR Serverless, EMR, Athena, Glue, EventBridge, Lambda and SNS. The synthesized
stack is deployed into it, the bundle published to its code bucket, and a pipeline is run the way
AWS runs it:

- a rule's target input is the deployed rule's input transformer applied to the time it fires,
  and a Lambda is its handler, called with the deployed function's environment;
- a state machine is the deployed definition (its DefinitionSubstitutions resolved against the
  deployed resources: moto applies none), walked state by state (Parallel branches one after the
  other, Catch into the Fail state);
- a Batch state is its job definition's command (the image's entry point `analytics` with the
  job's arguments) run as a subprocess with the definition's environment and its secrets read
  from Secrets Manager by ARN;
- an EMR Serverless state (and an EMR step) is a spark-submit of its entry point, downloaded
  from the code bucket, with its arguments and its driver environment.

What stands in for what the emulation lacks: spark-submit runs `--master local[2]` with Hadoop's
S3A connector where EMR has EMRFS, and the packed environment is packed for this machine's
Python (EMR's is for the runtime's); Batch runs no container (the image is checked by hadolint
and tests/infra/test_image.py); moto's Athena runs no SQL; IAM is not enforced (the policies are
asserted on the template in tests/infra/test_stack.py)."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import pytest

from tests.emulated import ACCOUNT, REGION, deploy_stack, moto_api, queue_athena_result

BIN = Path(sys.executable).parent
TRIPWIRE = Path(__file__).resolve().parent / "tripwire"
SALT = "emulated-account-salt"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="session")
def emulated_server() -> Iterator[str]:
    """The account's own moto server (apart from the one other tests share)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # No container runs here: Batch jobs and Lambda invocations are run by the tests.
    moto_api(url, "config", {"batch": {"use_docker": False}, "lambda": {"use_docker": False}})
    yield url
    server.stop()


# What moto's Athena cannot do, as dbt reports it: it runs no SQL, so a query returns no row
# (a data test or source freshness needs one) and DDL creates no Glue table (dbt-athena reads
# a view's table versions after creating it).
EMULATION_LIMITS = (
    re.compile(r"Returned 0 rows, but expected 1 row"),
    re.compile(r"EntityNotFoundException.*(GetTableVersions|GetTable) operation"),
    # Source freshness over a query that returned nothing (dbt reports it in its log only).
    re.compile(r'Got an invalid result from "collect_freshness" macro: \[\]'),
)


@dataclass
class Step:
    """One state the executor ran: its name, what ran it, and the outcome."""

    state: str
    kind: str  # batch | spark-submit
    detail: str  # the job definition, the entry point's arguments
    returncode: int
    output: str = ""
    # A dbt job that reached Athena and failed only where moto's Athena cannot follow it
    # (EMULATION_LIMITS): the executor goes on as the real service's success would.
    emulated: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 or bool(self.emulated)


@dataclass
class Execution:
    status: str  # SUCCEEDED | FAILED
    steps: list[Step] = field(default_factory=list)
    error: str | None = None


class Account:
    """The deployed stack in the emulated account, and what runs its pipelines."""

    def __init__(self, endpoint: str, work: Path, template: dict, parameters: dict[str, str]):
        self.endpoint = endpoint
        self.work = work
        self.template = template
        self.parameters = parameters
        cloudformation = self.client("cloudformation")
        resources = cloudformation.list_stack_resources(StackName="Analytics")
        self.physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in resources["StackResourceSummaries"]
        }
        [stack] = cloudformation.describe_stacks(StackName="Analytics")["Stacks"]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        self.lake_bucket = self.outputs["LakeBucket"]
        self.code_bucket = self.outputs["CodeBucket"]
        self._archive_python: str | None = None
        self._archive_lock = threading.Lock()

    # --- the account -------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def aws_env(self) -> dict[str, str]:
        """What every process of the account is given: the standard SDK variables."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": REGION, **CREDENTIALS}

    def resolve(self, node: Any) -> Any:
        """The CloudFormation intrinsics the stack's substitutions use, as deployed."""
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "Ref" in node:
            name = node["Ref"]
            pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
            if name in pseudo:
                return pseudo[name]
            if name in self.parameters:
                return self.parameters[name]
            return self.physical[name]
        if "Fn::GetAtt" in node:
            logical, attribute = node["Fn::GetAtt"]
            kind = self.template["Resources"][logical]["Type"]
            if kind == "AWS::IAM::Role" and attribute == "Arn":
                return self.client("iam").get_role(RoleName=self.physical[logical])["Role"]["Arn"]
            return self.physical[logical]
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(str(self.resolve(p)) for p in parts)
        if "Fn::Sub" in node:
            text, values = (
                node["Fn::Sub"] if isinstance(node["Fn::Sub"], list) else (node["Fn::Sub"], {})
            )
            resolved = {k: self.resolve(v) for k, v in values.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: str(resolved.get(m[1]) or self.resolve({"Ref": m[1]})),
                text,
            )
        return {k: self.resolve(v) for k, v in node.items()}

    def create_catalog(self) -> None:
        """What moto's CloudFormation skips: the Glue databases and tables, the workgroup."""
        glue = self.client("glue")
        for resource in self.template["Resources"].values():
            if resource["Type"] == "AWS::Glue::Database":
                glue.create_database(
                    DatabaseInput=self.resolve(resource["Properties"]["DatabaseInput"])
                )
        for resource in self.template["Resources"].values():
            if resource["Type"] == "AWS::Glue::Table":
                properties = self.resolve(resource["Properties"])
                glue.create_table(
                    DatabaseName=properties["DatabaseName"], TableInput=properties["TableInput"]
                )
            if resource["Type"] == "AWS::Athena::WorkGroup":
                properties = resource["Properties"]
                self.client("athena").create_work_group(
                    Name=properties["Name"], Description=properties.get("Description", "")
                )

    # --- Lambdas and rules -------------------------------------------------------------------

    def rule_input(self, rule: str, time: str) -> dict[str, Any]:
        """The event a scheduled rule's target receives when the rule fires at `time`."""
        [target] = self.client("events").list_targets_by_rule(Rule=rule)["Targets"]
        template = target["InputTransformer"]["InputTemplate"]
        return json.loads(template.replace("<time>", time))

    def invoke(self, handler: str, event: Any) -> Any:
        """The deployed function's handler, called with the function's environment."""
        from orchestration.aws import handlers

        function = f"analytics-{handler.replace('_', '-')}"
        configuration = self.client("lambda").get_function_configuration(FunctionName=function)
        variables = configuration.get("Environment", {}).get("Variables", {})
        with patch.dict(os.environ, {**self.aws_env, "AWS_REGION": REGION, **variables}):
            return getattr(handlers, handler)(event)

    # --- state machines ----------------------------------------------------------------------

    def definition(self, machine: str) -> dict[str, Any]:
        """The deployed definition with its substitutions (from the template) resolved."""
        resources = [
            r["Properties"]
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::StepFunctions::StateMachine"
            and r["Properties"]["StateMachineName"] == machine
        ]
        [properties] = resources
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
        text = self.client("stepfunctions").describe_state_machine(stateMachineArn=arn)[
            "definition"
        ]
        for name, value in (properties.get("DefinitionSubstitutions") or {}).items():
            text = text.replace("${" + name + "}", str(self.resolve(value)))
        assert "${" not in text, re.findall(r"\$\{[^}]+\}", text)
        return json.loads(text)

    @contextmanager
    def executing_state_machines(self, machine: str) -> Iterator[None]:
        """moto's Step Functions executing `machine` itself (for the workflows, whose Athena,
        Lambda and SNS tasks it runs), its definition substituted as CloudFormation would."""
        definition = self.definition(machine)
        [properties] = [
            r["Properties"]
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::StepFunctions::StateMachine"
            and r["Properties"]["StateMachineName"] == machine
        ]
        # moto keeps executing state machines apart: the machine is deployed there again.
        self._configure({"stepfunctions": {"execute_state_machine": True}})
        self.client("stepfunctions").create_state_machine(
            name=machine,
            definition=json.dumps(definition),
            roleArn=self.resolve(properties["RoleArn"]),
        )
        # Its tasks call the services on localhost:MOTO_PORT: this account's server.
        port = self.endpoint.rsplit(":", 1)[-1]
        try:
            with patch.dict(os.environ, {"MOTO_PORT": port}):
                yield
        finally:
            self._configure({"stepfunctions": {"execute_state_machine": False}})

    def _configure(self, config: dict) -> None:
        moto_api(self.endpoint, "config", config)

    def wait_for(self, execution_arn: str, timeout: float = 120) -> dict:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.2)

    def run_execution(self, execution_arn: str, before: dict | None = None) -> Execution:
        """Run a started execution (moto records it; this walks its states). `before` maps a
        state's name to what the test does just before it runs (e.g. queue Athena results)."""
        described = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        machine = described["stateMachineArn"].rsplit(":", 1)[-1]
        self._before = before or {}
        return self.run_definition(self.definition(machine), json.loads(described["input"]))

    def run_definition(self, definition: dict[str, Any], data: dict[str, Any]) -> Execution:
        execution = Execution("SUCCEEDED")
        name: str | None = definition["StartAt"]
        states = definition["States"]
        while name is not None:
            state = states[name]
            if state["Type"] == "Succeed":
                return execution
            if state["Type"] == "Fail":
                execution.status, execution.error = "FAILED", state.get("Error")
                return execution
            if name in getattr(self, "_before", {}):
                self._before[name]()
            ok = self._run_state(name, state, data, execution)
            if not ok:
                catch = state.get("Catch")
                if not catch:
                    execution.status = "FAILED"
                    return execution
                name = catch[0]["Next"]
                continue
            name = state.get("Next")
        return execution

    def _run_state(self, name: str, state: dict, data: dict, execution: Execution) -> bool:
        if state["Type"] == "Parallel":
            # Branches run at the same time, as Step Functions runs them.
            with ThreadPoolExecutor(max_workers=len(state["Branches"])) as pool:
                inner = list(pool.map(lambda b: self.run_definition(b, data), state["Branches"]))
            for branch in inner:
                execution.steps.extend(branch.steps)
            return all(branch.status == "SUCCEEDED" for branch in inner)
        if state["Type"] == "Pass":
            return True
        resource = state["Resource"]
        parameters = state["Parameters"]
        if resource == "arn:aws:states:::batch:submitJob.sync":
            job_parameters = {
                k.removesuffix(".$"): _path(data, v) if k.endswith(".$") else v
                for k, v in parameters.get("Parameters", {}).items()
            }
            size = parameters.get("ArrayProperties", {}).get("Size")
            ok = True
            for index in range(size) if size else [None]:
                step = self.run_batch_job(parameters["JobDefinition"], job_parameters, index)
                step.state = name
                execution.steps.append(step)
                ok = ok and step.ok
            return ok
        if resource == "arn:aws:states:::emr-serverless:startJobRun.sync":
            step = self.run_job_run(parameters, data)
            step.state = name
            execution.steps.append(step)
            return step.ok
        raise AssertionError(f"the executor does not run {resource} ({name})")

    # --- Batch ------------------------------------------------------------------------------

    def run_batch_job(
        self, definition: str, parameters: dict[str, str], array_index: int | None = None
    ) -> Step:
        """The job definition's command as the container runs it: `analytics <command>` with
        `Ref::<name>` replaced, the definition's environment and its secrets (by ARN)."""
        batch = self.client("batch")
        found = batch.describe_job_definitions(jobDefinitionName=definition, status="ACTIVE")
        latest = max(found["jobDefinitions"], key=lambda d: d["revision"])
        container = latest["containerProperties"]
        command = [
            parameters.get(a.removeprefix("Ref::"), a) if a.startswith("Ref::") else a
            for a in container["command"]
        ]
        secrets = self.client("secretsmanager")
        env = {
            **self.base_env(),
            **{e["name"]: e["value"] for e in container.get("environment", [])},
            **{
                s["name"]: secrets.get_secret_value(SecretId=s["valueFrom"])["SecretString"]
                for s in container.get("secrets", [])
            },
            **({"AWS_BATCH_JOB_ARRAY_INDEX": str(array_index)} if array_index is not None else {}),
        }
        # Each job is a container of its own: its own temporary folder.
        temporary = self.work / f"job-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        env["TMPDIR"] = str(temporary)
        artifacts_before = set(self.objects_keys("_runs/artifacts/"))
        clock = time.monotonic()
        done = subprocess.run(
            [str(BIN / "analytics"), *command],
            env=env,
            cwd=temporary,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = done.stdout[-4000:] + done.stderr[-6000:]
        step = Step("", "batch", definition, done.returncode, output)
        step.seconds = time.monotonic() - clock
        if done.returncode != 0 and self.task_access[definition] == "dbt":
            new = sorted(set(self.objects_keys("_runs/artifacts/")) - artifacts_before)
            step.emulated = self._emulation_limited(new)
            if not step.emulated:
                step.output += f"\nnot an emulation limit: {getattr(self, 'unexpected', new)}"
        return step

    def _emulation_limited(self, keys: list[str]) -> list[str]:
        """The failures in a dbt job's artefacts, if every one is an emulation limit (else [])."""
        failures: list[str] = []
        s3 = self.client("s3")
        results = [k for k in keys if k.endswith(("run_results.json", "sources.json"))]
        for key in results:
            body = json.loads(s3.get_object(Bucket=self.lake_bucket, Key=key)["Body"].read())
            if key.endswith("sources.json") and not body["results"]:
                log_key = key.rsplit("/", 1)[0] + "/dbt.log"
                log = s3.get_object(Bucket=self.lake_bucket, Key=log_key)["Body"].read().decode()
                if not EMULATION_LIMITS[-1].search(log):
                    self.unexpected = f"{key}: no freshness result, and not for an empty query"
                    return []
                failures.append(f"{key}: freshness query returned no row")
            for result in body["results"]:
                if result["status"] in ("success", "pass", "skipped", "warn"):
                    continue
                message = result.get("message") or ""
                if not any(limit.search(message) for limit in EMULATION_LIMITS):
                    self.unexpected = f"{result['unique_id']}: {result['status']}: {message}"
                    return []
                failures.append(f"{result['unique_id']}: {message.strip().splitlines()[-1]}")
        return failures

    @cached_property
    def task_access(self) -> dict[str, str]:
        from orchestration.aws.render import render_all

        return {k: v for r in render_all().values() for k, v in r.get("task_access", {}).items()}

    def objects_keys(self, prefix: str) -> list[str]:
        pages = (
            self.client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.lake_bucket, Prefix=prefix)
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    @property
    def tripwire(self) -> Path:
        """Where a process of the account records that it opened a DuckDB database."""
        return self.work / "duckdb-opened.txt"

    def base_env(self) -> dict[str, str]:
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        return {
            "PATH": os.environ["PATH"],
            # Every process gets the DuckDB tripwire (tripwire/sitecustomize.py).
            "PYTHONPATH": str(TRIPWIRE),
            "DUCKDB_TRIPWIRE": str(self.tripwire),
            "HOME": str(home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            **{
                k: os.environ[k]
                for k in ("JAVA_HOME", "SPARK_JARS_CACHE", "SPARK_JAVA_OPTIONS")
                if k in os.environ
            },
            **self.aws_env,
        }

    # --- Spark ------------------------------------------------------------------------------

    def run_job_run(self, parameters: dict[str, Any], data: dict[str, Any]) -> Step:
        """An EMR Serverless job run: spark-submit of its entry point and arguments."""
        from orchestration.aws import spark_runtime

        driver = parameters["JobDriver"]["SparkSubmit"]
        conf = dict(
            pair.strip().split("=", 1)
            for pair in driver["SparkSubmitParameters"].split("--conf ")
            if pair.strip()
        )
        arguments = _states_array(driver["EntryPointArguments.$"], data)
        return self.spark_submit(
            driver["EntryPoint"], arguments, conf, spark_runtime.SERVERLESS_DRIVER_ENV
        )

    def run_emr_step(self, step: dict[str, Any]) -> Step:
        """An EMR step (command-runner.jar spark-submit ... <entry point> <args>)."""
        from orchestration.aws import spark_runtime

        args = step["Config"]["Args"]
        assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"], args
        rest, conf = args[3:], {}
        while rest and rest[0] == "--conf":
            key, value = rest[1].split("=", 1)
            conf[key] = value
            rest = rest[2:]
        return self.spark_submit(rest[0], rest[1:], conf, spark_runtime.YARN_DRIVER_ENV)

    def spark_submit(
        self, entry_point: str, arguments: list[str], conf: dict[str, str], driver_prefix: str
    ) -> Step:
        import pyspark

        from orchestration.aws import spark_runtime
        from spark_jobs.common.session import bundled_hadoop_version, jar_cache, s3a_conf

        s3 = self.client("s3")
        folder = self.work / f"spark-{uuid.uuid4().hex[:8]}"
        folder.mkdir()

        def download(uri: str) -> str:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            path = folder / key.rsplit("/", 1)[-1]
            s3.download_file(bucket, key, str(path))
            return str(path)

        code = conf["spark.submit.pyFiles"]
        assert code == spark_runtime.code_uri(self.code_bucket, spark_runtime.CODE_ZIP), code
        assert conf["spark.archives"].endswith(f"#{spark_runtime.ARCHIVE_ALIAS}")
        functions = conf["spark.jars"]
        assert functions == spark_runtime.code_uri(self.code_bucket, spark_runtime.FUNCTIONS_JAR)
        python = self.archive_python()
        env = {
            **self.base_env(),
            **{
                k.removeprefix(driver_prefix): v
                for k, v in conf.items()
                if k.startswith(driver_prefix)
            },
            "PYSPARK_PYTHON": python,
            "PYSPARK_DRIVER_PYTHON": python,
            "TMPDIR": str(folder),  # each job run has a machine of its own
        }
        # EMRFS's stand-in: S3A on the account's endpoint, from the jar cache.
        cache = jar_cache(os.environ.get("SPARK_JARS_CACHE"))
        emrfs = s3a_conf(REGION, bundled_hadoop_version(), cache, env=self.aws_env)
        submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        command = [
            str(submit),
            "--master",
            "local[2]",
            "--conf",
            "spark.driver.memory=1g",
            # A two-core machine's partition count, as a local session has (a cluster keeps
            # Spark's 200 and adaptive execution coalesces them).
            "--conf",
            "spark.sql.shuffle.partitions=4",
            # The tests' JVM options (tests/conftest.py), as every other JVM of the tests has.
            *(
                ("--driver-java-options", options)
                if (options := os.environ.get("SPARK_JAVA_OPTIONS"))
                else ()
            ),
            *(arg for key, value in emrfs.items() for arg in ("--conf", f"{key}={value}")),
            "--jars",
            download(functions),
            "--py-files",
            download(code),
            download(entry_point),
            *arguments,
        ]
        clock = time.monotonic()
        done = subprocess.run(
            command, env=env, cwd=folder, capture_output=True, text=True, timeout=900
        )
        seconds = time.monotonic() - clock
        detail = " ".join(shlex.quote(a) for a in arguments)
        output = done.stdout[-4000:] + done.stderr[-6000:]
        return Step("", "spark-submit", detail, done.returncode, output, seconds=seconds)

    def archive_python(self) -> str:
        """The bundle's packed environment, packed for this machine's Python (EMR's is packed
        for the runtime's /usr/bin/python3.11): built once per session. A lock: the branches
        of a Parallel state submit at once, and one must not start the environment's Python
        while the other is still unpacking it over the same files (it crashed: SIGSEGV)."""
        with self._archive_lock:
            return self._unpacked_archive_python()

    def _unpacked_archive_python(self) -> str:
        if self._archive_python is None:
            from orchestration.aws.package import spark_archive

            environment = self.work / "environment"
            with tarfile.open(
                fileobj=io.BytesIO(spark_archive(python_prefix=sys.base_prefix))
            ) as packed:
                packed.extractall(environment, filter="fully_trusted")
            self._archive_python = str(environment / "bin" / "python")
        return self._archive_python

    def queue_athena_result(self, rows: list[tuple]) -> None:
        queue_athena_result(self.endpoint, rows)

    # --- the lake ---------------------------------------------------------------------------

    def upload_tree(self, root: Path, zone: str) -> int:
        s3 = self.client("s3")
        count = 0
        for path in sorted((root / zone).rglob("*")):
            if path.is_file():
                s3.put_object(
                    Bucket=self.lake_bucket,
                    Key=path.relative_to(root).as_posix(),
                    Body=path.read_bytes(),
                )
                count += 1
        return count

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        s3 = self.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.lake_bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        return {k: s3.get_object(Bucket=self.lake_bucket, Key=k)["Body"].read() for k in keys}


def _path(data: dict[str, Any], path: str) -> Any:
    """A `$.a.b` JSONPath of the state's input."""
    value: Any = data
    for part in path.removeprefix("$").strip(".").split("."):
        if part:
            value = value[part]
    return value


def _states_array(expression: str, data: dict[str, Any]) -> list[str]:
    """`States.Array('a', 'b', $.date)` evaluated on the state's input."""
    inner = expression.removeprefix("States.Array(").removesuffix(")")
    values = []
    for item in (i.strip() for i in inner.split(",")):
        values.append(str(_path(data, item)) if item.startswith("$") else item.strip("'"))
    return values


@pytest.fixture(scope="session")
def account(emulated_server, synthesized, postgres_server, tmp_path_factory) -> Account:
    """The stack deployed into the emulated account, its bundle published, its catalog created.
    The warehouse secret names a fresh schema of the test PostgreSQL."""
    import psycopg

    from orchestration.aws.package import publish, read_bundle

    schema = f"aws_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    warehouse = f"{postgres_server}?options=-csearch_path%3D{schema}"

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=emulated_server,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    parameters, template = deploy_stack(
        synthesized.template_path,
        synthesized.outdir,
        client,
        {
            "PiiSaltSecretArn": ("analytics/pii-salt", SALT),
            "WarehouseUrlSecretArn": ("analytics/warehouse-url", warehouse),
        },
    )
    work = tmp_path_factory.mktemp("account")
    deployed = Account(emulated_server, work, template, parameters)
    deployed.warehouse_url = warehouse  # type: ignore[attr-defined]
    deployed.create_catalog()
    with patch.dict(os.environ, deployed.aws_env):
        publish(read_bundle(str(synthesized.outdir.parent / "dist")), deployed.code_bucket)
    yield deployed
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {schema} cascade")


@pytest.fixture(autouse=True)
def no_duckdb_opened(request):
    """No task of an AWS pipeline opens a DuckDB file: checked after every test of the account."""
    yield
    if "account" in request.fixturenames:
        account = request.getfixturevalue("account")
        assert not account.tripwire.exists(), account.tripwire.read_text()[-3000:]
