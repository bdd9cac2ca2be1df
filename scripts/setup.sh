#!/usr/bin/env bash
# Sets up a fresh machine: Debian packages, a virtual environment in .venv, the project and its models.
# Usage: bash scripts/setup.sh [--test]   (--test adds the browser and the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

apt_packages=(poppler-utils fonts-dejavu-core fonts-liberation fonts-freefont-ttf)
[ "$with_tests" = 1 ] && apt_packages+=(chromium)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    $sudo_cmd apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The CPU build of torch first: a bare torch requirement would pull several GB of CUDA packages.
.venv/bin/python -m pip install -q torch==2.13.0
if [ "$with_tests" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[test]"
else
    .venv/bin/python -m pip install -q -e .
fi
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
