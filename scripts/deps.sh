#!/usr/bin/env bash
# Installs what mqedge needs on Debian 12 (as root), skipping what is already there, then the
# Node packages the tests use. Used by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libwebsockets-dev libmosquitto-dev libcjson-dev libsqlite3-dev
      libjwt-dev libssl-dev libev-dev mosquitto mosquitto-clients openssl curl)
if [ "${MQEDGE_WITH_TEST_DEPS:-0}" = 1 ]; then
	pkgs+=(chromium fonts-noto-color-emoji fonts-noto-cjk nginx-light)
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the distribution's mosquitto service would hold port 1883; we always run our own on a free port
for svc in mosquitto nginx; do	# tests run their own nginx too (nginx.test.mjs), never port 80
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
if [ "${MQEDGE_WITH_TEST_DEPS:-0}" = 1 ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
