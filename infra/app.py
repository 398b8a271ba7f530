"""The CDK app: `python -m infra.app [--out cdk.out] [--bundle dist]` (or `make synth`) builds the
code bundle if needed and writes the CloudFormation template and its assets to cdk.out/, which
`cdk deploy --app cdk.out` deploys."""

from __future__ import annotations

import argparse
import os
import sys

# jsii runs on Node; Node 20 is past its end of life for jsii, which would print a banner on
# every synth. The templates do not depend on it.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

STACK_NAME = "Analytics"
# Behaviours of newer CDK versions this app relies on (a new project's cdk.json would set them).
FEATURE_FLAGS = {
    # Access logs delivered under a bucket policy, not the LogDeliveryWrite ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
}


def build_app(outdir: str, lambda_zip: str):
    """The app with its one stack (not synthesized yet)."""
    import aws_cdk as cdk

    from infra.stack import AnalyticsStack

    app = cdk.App(outdir=outdir, context=FEATURE_FLAGS)
    stack = AnalyticsStack(
        app,
        STACK_NAME,
        lambda_zip=lambda_zip,
        description="Analytics platform: lake, catalog, ingestion, batch, orchestration (DESIGN §8)",
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    return app, stack


def synth(outdir: str, bundle_dir: str) -> str:
    """Package the code, synthesize; return the template's path."""
    from orchestration.aws.package import build_bundle

    bundle = build_bundle(bundle_dir)
    app, stack = build_app(outdir, os.path.join(bundle.folder, "lambda.zip"))
    app.synth()
    return os.path.join(outdir, stack.template_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="cdk.out")
    parser.add_argument("--bundle", default="dist")
    args = parser.parse_args(argv)
    print(synth(args.out, args.bundle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
