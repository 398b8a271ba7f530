"""The entry points of the Spark code on AWS, spark-submitted from the published bundle:

- `jobs/run_task.py <pipeline> <task> --<param> <value>` (EMR Serverless job runs) runs that one
  task as `analytics run <pipeline> --<param> <value> --task <task>` does locally;
- `jobs/<job>.py --date D` (EMR steps, any Spark job by configuration) runs `spark_jobs.<job>`.

Both run in the session spark-submit configured, and read the PII salt from Secrets Manager
first. Exit status: 0 done, 1 the task failed, 2 a bad argument or setting."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import MutableMapping
from typing import Any

from pydantic import ValidationError

from orchestration.core.errors import InputError


def resolve_secrets(env: MutableMapping[str, str], client: Any = None) -> None:
    """PII_SALT from the Secrets Manager secret PII_SALT_SECRET_ID names (read once, at start);
    a PII_SALT already in the environment wins."""
    secret = env.get("PII_SALT_SECRET_ID")
    if not secret or env.get("PII_SALT"):
        return
    if client is None:
        import boto3

        # The region the job was given (boto3 itself reads only AWS_DEFAULT_REGION).
        client = boto3.client("secretsmanager", region_name=env.get("AWS_REGION") or None)
    env["PII_SALT"] = client.get_secret_value(SecretId=secret)["SecretString"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="run_task.py", description=__doc__.splitlines()[0])
    parser.add_argument("pipeline")
    parser.add_argument("task")
    for param in ("date", "month", "uri"):
        parser.add_argument(f"--{param}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, secrets_client: Any = None) -> int:
    from orchestration.core.settings import Settings
    from orchestration.local.runner import Runner, parse_params
    from orchestration.pipelines import PIPELINES

    args = parse_args(argv)
    try:
        pipeline = PIPELINES[args.pipeline]
    except KeyError:
        print(f"error: unknown pipeline {args.pipeline!r}", file=sys.stderr)
        return 2
    spark_tasks = [t.name for t in pipeline.tasks if t.kind == "spark"]
    value = getattr(args, pipeline.param)
    if args.task not in spark_tasks or value is None:
        print(
            f"error: {pipeline.name} runs Spark tasks {spark_tasks} with --{pipeline.param}",
            file=sys.stderr,
        )
        return 2
    try:
        resolve_secrets(os.environ, secrets_client)
        settings = Settings()
        result = Runner(settings).run(pipeline.only(args.task), parse_params(pipeline, value))
    except (InputError, ValidationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0 if result.succeeded else 1


def run_job(job: str, argv: list[str], secrets_client: Any = None) -> int:
    """`spark_jobs.<job>.main(argv)`, after reading the salt."""
    try:
        resolve_secrets(os.environ, secrets_client)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return importlib.import_module(f"spark_jobs.{job}").main(argv)
