#!/usr/bin/env bash
# Builds the Debian package (docs/PACKAGING.md): a tree configured for the prefix /usr, the two
# binaries, then cpack. Prints the .deb's path on its last line.
#   scripts/package.sh [BUILD_DIR]      (default build-pkg)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-pkg}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$dir" -j"$(nproc)" --target mqedge mqedge-token
rm -f "$dir"/mqedge_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls "$dir"/mqedge_*.deb)
dpkg-deb --field "$deb" Package Version Depends Recommends
echo "$deb"
