"""Deploying the synthesized stack into an emulated account (moto, in-process or a server), as
`cdk deploy` would: the assets uploaded, the secrets created first and given by ARN, the stack
created by CloudFormation. moto's CloudFormation has no EMR Serverless and skips Glue, Athena
and Firehose resources: the application is created through moto's API, and `catalog_resources`
creates the Glue databases, tables and the Athena workgroup the template declares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account
SERVERLESS_APPLICATION = "AWS::EMRServerless::Application"
# moto accepts only release labels shaped emr-N.N.0 and knows no emr-spark-* release: the
# application is created there under this label; the real one is checked on the template.
MOTO_RELEASE = "emr-7.0.0"
IMAGE_TAG = "0123abcd4567"  # the build `make image` pushed


def publish_assets(outdir: Path, s3: Any) -> int:
    """What `cdk deploy` does before deploying: upload each file asset to its bucket and key."""
    manifest = json.loads((outdir / "Analytics.assets.json").read_text())
    uploaded = 0
    for asset in manifest["files"].values():
        for destination in asset["destinations"].values():
            bucket = (
                destination["bucketName"]
                .replace("${AWS::AccountId}", ACCOUNT)
                .replace("${AWS::Region}", REGION)
            )
            if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
                s3.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
                )
            s3.upload_file(str(outdir / asset["source"]["path"]), bucket, destination["objectKey"])
            uploaded += 1
    return uploaded


def without_serverless_application(template: dict, client: Any) -> dict:
    """The template with its EMR Serverless application created through moto's API instead,
    and the application's attributes put where the template reads them."""
    resources = template["Resources"]
    attributes: dict[str, dict[str, str]] = {}
    for logical_id in [k for k, r in resources.items() if r["Type"] == SERVERLESS_APPLICATION]:
        properties = resources.pop(logical_id)["Properties"]
        created = client.create_application(
            name=properties["Name"],
            releaseLabel=MOTO_RELEASE,
            type=properties["Type"],
            architecture=properties["Architecture"],
            autoStartConfiguration={"enabled": properties["AutoStartConfiguration"]["Enabled"]},
            autoStopConfiguration={
                "enabled": properties["AutoStopConfiguration"]["Enabled"],
                "idleTimeoutMinutes": properties["AutoStopConfiguration"]["IdleTimeoutMinutes"],
            },
            maximumCapacity={k.lower(): v for k, v in properties["MaximumCapacity"].items()},
        )
        attributes[logical_id] = {"ApplicationId": created["applicationId"], "Arn": created["arn"]}

    def replace(node: Any) -> Any:
        if isinstance(node, dict):
            target = node.get("Fn::GetAtt")
            if isinstance(target, list) and target[0] in attributes:
                return attributes[target[0]][target[1]]
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    return replace(template)


def deploy_stack(
    template_path: Path, outdir: Path, client: Any, secrets: dict[str, tuple[str, str]]
) -> tuple[dict[str, str], dict]:
    """Upload the assets, create the secrets (parameter → (name, value); their ARNs are the
    stack's parameters), deploy the stack; returns (the parameters given, the template as
    deployed). `client(service)` makes a boto3 client of the emulated account."""
    assert publish_assets(outdir, client("s3")) >= 1
    manager = client("secretsmanager")
    parameters = {
        parameter: manager.create_secret(Name=name, SecretString=value)["ARN"]
        for parameter, (name, value) in secrets.items()
    }
    parameters["ImageTag"] = IMAGE_TAG
    template = without_serverless_application(
        json.loads(template_path.read_text()), client("emr-serverless")
    )
    client("cloudformation").create_stack(
        StackName="Analytics",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    return parameters, template


def moto_api(endpoint: str, path: str, body: dict) -> None:
    """POST to a moto server's own API (`/moto-api/...`): its configuration, or the results its
    Athena gives the next queries."""
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/moto-api/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).close()


def queue_athena_result(endpoint: str, rows: list[tuple]) -> None:
    """The result moto's Athena gives the next query started (the header row first): moto runs
    no SQL, so a test says what the service would have answered."""
    result = {
        "rows": [
            {"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in rows
        ],
        "column_info": [{"Name": c, "Type": "varchar"} for c in rows[0]],
    }
    moto_api(
        endpoint,
        "static/athena/query-results",
        {"account_id": ACCOUNT, "region": REGION, "results": [result]},
    )
