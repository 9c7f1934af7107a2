#!/usr/bin/env bash
# The headless browser of the Airflow UI test (tests/airflow/test_e2e_browser.py): Debian's chromium.
# The test drives it over the DevTools protocol, so no driver and no browser download are needed.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing; as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
chromium --version
