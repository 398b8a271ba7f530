"""How the platform runs on one machine: the pipeline and workflow runners, the run history, dbt
invocation, the local query engine (DuckDB for Athena), the notifier and partition registration."""
