#!/usr/bin/env bash
# Sets everything up, imports the bundled samples with the embedded OCR engine and opens the app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ORT_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/workbench import samples
exec .venv/bin/streamlit run streamlit_app.py --server.headless true --browser.gatherUsageStats false "$@"
