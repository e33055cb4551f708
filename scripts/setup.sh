#!/usr/bin/env bash
# Sets up everything shakedown and its lab need on a fresh Debian 12 machine (run as root for the lab):
# Debian packages for the lab, then a virtualenv in .venv with shakedown and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the browser tier (browser_probes) and the browser tests of report.html (headless, DevTools protocol).
PACKAGES=(openssh-server openssh-client docker.io docker-compose busybox-static git curl procps python3-venv time chromium)
missing=()
for cmd in /usr/sbin/sshd ssh ssh-keygen dockerd docker-compose busybox git curl pgrep /usr/bin/time chromium; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${missing[*]}; as root run: apt-get update && apt-get install -y ${PACKAGES[*]}" >&2
    exit 2
  fi
  echo "setup: installing ${PACKAGES[*]} (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup: ready (.venv/bin/invoke --list)"
