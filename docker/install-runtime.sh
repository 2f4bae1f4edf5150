#!/usr/bin/env bash
# The runtime image's packages: the mqedge .deb and what its control file depends on (apt resolves
# them, so nothing here lists a library by hand), plus curl for the image's HEALTHCHECK and
# ca-certificates for a TLS broker. Run by the Dockerfile's edge stage and, in a debootstrap'd
# Debian 12 root, by tests/package/debian-root.sh: what the test proves is what the image holds.
#   docker/install-runtime.sh PATH/mqedge_VERSION_ARCH.deb
set -euo pipefail
deb=${1:?usage: install-runtime.sh PATH/mqedge_VERSION_ARCH.deb}
[ -f "$deb" ] || { echo "install-runtime: no such package file: $deb" >&2; exit 1; }
case $deb in /* | ./*) ;; *) deb=./$deb ;; esac   # apt takes a path, not a name, only so
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$deb" ca-certificates curl
rm -rf /var/lib/apt/lists/*
