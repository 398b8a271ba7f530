#!/usr/bin/env bash
# Install the locked dependencies and the project into a virtual environment. The one install
# step of the platform: `make setup` (and so CI) and the image's build stage (Dockerfile) run it.
#   scripts/install.sh VENV LOCKFILE [editable|package]
# editable (make setup): the checkout is the installed code; package (the image): a normal
# install, with the dbt project found through DBT_PROJECT_DIR.
set -euo pipefail

venv="${1:?usage: scripts/install.sh VENV LOCKFILE [editable|package]}"
lock="${2:?usage: scripts/install.sh VENV LOCKFILE [editable|package]}"
mode="${3:-editable}"
python="${PYTHON:-python3.11}"
uv_version="0.13.9"

cd "$(dirname "$0")/.."
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
test -x "$venv/bin/python" || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir "uv==$uv_version"
# Compiled to bytecode as installed (pip's default, not uv's): a process that cannot write the
# .pyc files (the image's user, PYTHONDONTWRITEBYTECODE) would compile every module it imports,
# in every fresh process, on every run.
"$venv/bin/uv" pip sync --quiet --compile-bytecode --python "$venv/bin/python" "$lock"
case "$mode" in
    editable) "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --no-deps -e . ;;
    package) "$venv/bin/uv" pip install --quiet --compile-bytecode --python "$venv/bin/python" --no-deps . ;;
    *) echo "mode must be editable or package, not $mode" >&2; exit 2 ;;
esac
# The installed project imports: a broken install fails here, not in the first task.
"$venv/bin/analytics" --help >/dev/null
