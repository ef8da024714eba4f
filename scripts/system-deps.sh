#!/usr/bin/env bash
# Install the Debian packages the tests use that pip cannot provide: Chromium and its
# WebDriver, for the browser tests of the HTML report; Prometheus (with promtool),
# Alertmanager (with amtool) and the Pushgateway, for the tests of deploy/. A JDK and Maven
# (for the Kafka broker) come with the machine. Needs root, or the packages already installed.
# The Debian packages also install systemd units; the tests start the binaries themselves.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps.sh: please install ${missing[*]} (Debian: apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "system-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq "${missing[@]}" >&2
