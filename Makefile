# Thin wrappers over the `analytics` CLI and the tools; see README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov, in an environment of its own (scripts/scanners.in says why).
SCANNERS := $(VENV)/scanners
SCANNERS_STAMP := $(SCANNERS)/.installed
LAKE_ROOT ?= $(CURDIR)/.lake
export LAKE_ROOT

DEMO_START ?= 2026-10-28
DEMO_SCALE ?= 2000
BENCH_SCALE ?= 1000000
BENCH_DAYS ?= 2

.PHONY: setup demo test bench lint format lock clean postgres chromium synth spark-jars image

# The class-data archive local Spark sessions start from: made once per machine, JVM and Spark
# version (~30 s; then a check of under a second), in the jar cache's class-data/ folder.
setup: $(STAMP) $(SCANNERS_STAMP)
	@$(BIN)/analytics spark-archive

# Re-installs only when the lock file or the project metadata changed. The image's build stage
# runs the same script (Dockerfile).
$(STAMP): requirements.lock pyproject.toml scripts/install.sh
	@command -v java >/dev/null || (echo "Java 17 is required for Spark (java not found on PATH)" && exit 1)
	@test -x "$$JAVA_HOME/bin/javac" || command -v javac >/dev/null || (echo "a Java 17 development kit is required: the Spark jobs' Java functions are compiled on first use (javac not found; Debian: apt-get install openjdk-17-jdk-headless)" && exit 1)
	PYTHON=$(PYTHON) scripts/install.sh $(VENV) requirements.lock editable
	touch $(STAMP)

$(SCANNERS_STAMP): requirements-scan.lock $(STAMP)
	test -x $(SCANNERS)/bin/python || $(PYTHON) -m venv $(SCANNERS)
	$(BIN)/uv pip sync --quiet --python $(SCANNERS)/bin/python requirements-scan.lock
	touch $(SCANNERS_STAMP)

# Every pipeline over a generated week, in one process (orchestration/cli.py `demo`). Its days
# are tiny: the JIT's first tier only took it from 117-119 s to 106-107 s (docs/benchmarks.md).
# That tier alone reserves 48 MiB for compiled code, which the demo filled (the JIT then stops
# compiling): 256 MiB, as the tiered JIT reserves 240 MiB.
DEMO_JAVA_OPTIONS ?= -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m
demo: setup
	SPARK_JAVA_OPTIONS="$(DEMO_JAVA_OPTIONS)" $(BIN)/analytics demo --start $(DEMO_START) --days 7 --scale $(DEMO_SCALE)

# Two workers (pytest-xdist), each test file on one of them (its module fixtures built once),
# taking the files in the order tests/conftest.py gives them (the longest first): the suite is
# CPU-bound, and two cores run it in 628 s against 1002 s serially (docs/benchmarks.md).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/pytest --numprocesses $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Hadoop's S3A connector for Spark on an s3:// lake, resolved from Maven Central into the jar cache
# (~/.cache/analytics-platform/ivy, once per machine; a folder lake never loads it).
spark-jars: setup
	$(BIN)/python -c 'from orchestration.core.settings import Settings; from spark_jobs.common.session import prefetch_s3a_jars as p; print("\n".join(p(Settings())))'

# A local PostgreSQL for the warehouse tests (apt-get + service; needs root or sudo).
postgres:
	scripts/postgres-up.sh

# Not part of `make test`: generates (once, cached under .bench/) and times the daily pipeline.
bench: setup
	$(BIN)/analytics bench --scale $(BENCH_SCALE) --days $(BENCH_DAYS)

# Headless Chromium for the report test (apt-get; needs root or sudo).
chromium:
	scripts/chromium-up.sh

# CloudFormation template + assets of the CDK app (infra/) in cdk.out/, linted; `cdk deploy --app cdk.out`.
synth: setup
	$(BIN)/python -m infra.app --out cdk.out --bundle dist
	@# cfn-lint exits with a bit mask: 2 = errors, 4 = warnings (printed, not failing), 1 = crash.
	$(BIN)/cfn-lint cdk.out/Analytics.template.json; rc=$$?; test $$(( rc & 3 )) -eq 0
	@# checkov: no failed check (one that does not apply is skipped in the resource's metadata).
	$(SCANNERS)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f cdk.out/Analytics.template.json

# ruff (lint + format), the layer rules of DESIGN §10 (import-linter, pyproject.toml), hadolint,
# bandit, and SQLFluff over the dbt project.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	@# bandit: no finding of medium severity or more in the packages (a `# nosec` says why).
	$(BIN)/bandit -q -r orchestration spark_jobs ingestion infra --severity-level medium
	@# SQLFluff compiles the dbt project (.sqlfluff) against a throwaway lake, never the user's.
	lake=$$(mktemp -d) && LAKE_ROOT=$$lake $(BIN)/sqlfluff lint dbt_project/models dbt_project/tests; \
		rc=$$?; rm -rf "$$lake"; exit $$rc

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate requirements.lock from pyproject.toml (all extras).
lock: setup
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 --quiet -o requirements.lock
	$(BIN)/uv pip compile scripts/scanners.in --python-version 3.11 --quiet -o requirements-scan.lock
	@# The image's: the runtime extras only, at the versions of requirements.lock, for Linux x86_64.
	$(BIN)/uv pip compile pyproject.toml --extra spark --extra athena --extra redshift \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 -c requirements.lock \
		--no-annotate --quiet -o requirements-image.lock

# The Batch jobs' image (Dockerfile), pushed to the stack's ECR repository (the ImageRepository
# output): make image IMAGE_REPOSITORY=<account>.dkr.ecr.<region>.amazonaws.com/analytics
# Needs a Docker engine and AWS credentials (docs/aws.md); the job definitions use IMAGE_TAG.
IMAGE_TAG ?= latest
image:
	@test -n "$(IMAGE_REPOSITORY)" || (echo "set IMAGE_REPOSITORY (the stack's ImageRepository output)" && exit 2)
	docker build --platform linux/amd64 -t $(IMAGE_REPOSITORY):$(IMAGE_TAG) .
	aws ecr get-login-password | docker login --username AWS --password-stdin $(firstword $(subst /, ,$(IMAGE_REPOSITORY)))
	docker push $(IMAGE_REPOSITORY):$(IMAGE_TAG)

clean:
	rm -rf $(LAKE_ROOT) .pytest_cache .ruff_cache cdk.out dist
