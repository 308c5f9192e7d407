#!/usr/bin/env bash
# Installs the browser the dashboard's tests drive: Debian's `chromium`, which Playwright for
# Python (the `test` extra) launches by path. Playwright's own browser download needs hosts
# that CI and our machines cannot reach, so the system package stands in for it.
# Idempotent: does nothing when `chromium` is already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium) is installed"
    exit 0
fi

install=(apt-get install -y --no-install-recommends chromium)
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing; install it as root with:" >&2
    echo "  sudo apt-get update && sudo ${install[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -q
fi
if ! "${install[@]}" -q; then  # package lists too old for the mirror's files
    apt-get update -q
    "${install[@]}" -q
fi
command -v chromium >/dev/null
echo "chromium: $(command -v chromium) installed"
