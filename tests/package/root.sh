# shellcheck shell=bash
# Sourced by tests/package/*.sh (as root): a minimal Debian 12 root made with debootstrap (Debian's
# package, installed here if missing), to install and run things in with chroot.
#   root_setup        → $root, a fresh root in a temporary folder, /proc mounted in it
#   root_copy_tree    the working tree (what a clone has) into $root/src
#   phase TEXT / die TEXT   a step with its elapsed seconds / a failure (exit 1)
#   free_port         a free loopback port (needs node and the repo's node_modules on the host)
#   inroot CMD...     runs CMD in it (clean environment; inroot_exec: the same, exec'ed);
#                     root_cleanup (on EXIT) ends what still
#                     runs in it, unmounts /proc and removes the folder
# The debootstrap'd root is cached as a tarball in $MQEDGE_ROOT_CACHE (/var/cache/mqedge-test),
# one per debootstrap arguments and ISO week (a week's security updates come from apt in the
# root anyway): a cold run debootstraps (~75 s here), a warm one unpacks (~3 s). The mirror is
# debootstrap's default, or $MQEDGE_DEBIAN_MIRROR. Not root, or the mirror out of reach: the test
# is skipped (exit 77, ctest's SKIP_RETURN_CODE), saying why.

skip() { echo "SKIPPED: $*" >&2; exit 77; }
t_start=$SECONDS
phase() { echo "== $* ($((SECONDS - t_start)) s)"; }
die() { echo "FAIL: $*" >&2; exit 1; }
# a free loopback port (the root shares the host's network), as the integration tests pick them
free_port() {
	node --input-type=module -e \
		"import { freePort } from '$PWD/tests/integration/lib/harness.mjs'; console.log(await freePort());"
}

root_cache=${MQEDGE_ROOT_CACHE:-/var/cache/mqedge-test}
root_suite=bookworm
root_args=(--variant=minbase "$root_suite")
root=
root_work=

inroot() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive HOME=/root chroot "$root" "$@"
}
# in the background: `inroot_exec CMD... &` makes $! the command's own pid
inroot_exec() { exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"; }

root_cleanup() {
	[ -n "$root_work" ] || return 0
	local p pids=()
	# whatever still runs inside the root (a broker, an edge, a daemon a package started)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
	done
	if [ ${#pids[@]} -gt 0 ]; then
		kill "${pids[@]}" 2>/dev/null || true
		sleep 1
		kill -9 "${pids[@]}" 2>/dev/null || true
	fi
	if mountpoint -q "$root/proc"; then
		umount "$root/proc" || umount -l "$root/proc"
	fi
	# never remove a folder that still has something mounted in it
	if findmnt -rn -o TARGET | grep -q "^$root/"; then
		echo "root: something is still mounted under $root; left in place" >&2
	elif [ "${MQEDGE_KEEP_ROOT:-0}" = 1 ]; then
		echo "root: kept at $root (MQEDGE_KEEP_ROOT=1)"
	else
		rm -rf "$root_work"
	fi
	root_work=
}

# the working tree as a clone has it (tracked and new files, nothing ignored) into $root/src; a
# tree that is no git checkout (suite-root.sh's copy, where git is not even installed): all of it
# but build trees and node_modules
root_copy_tree() {
	mkdir "$root/src"
	if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar --null -T - -cf - | tar -C "$root/src" -xf -
	else
		tar --exclude='./build*' --exclude=./node_modules --exclude=./.git -cf - . | tar -C "$root/src" -xf -
	fi
}

root_mirror() {
	if [ -n "${MQEDGE_DEBIAN_MIRROR:-}" ]; then
		echo "$MQEDGE_DEBIAN_MIRROR"
	else
		sed -n 's/^DEF_MIRROR="\(.*\)"$/\1/p' /usr/sbin/debootstrap
	fi
}

root_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot, mount)"
	if ! command -v debootstrap >/dev/null 2>&1; then
		echo "root: installing Debian's debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
			>/dev/null || skip "debootstrap is missing and apt-get could not install it"
	fi
	local mirror release key tarball t0
	mirror=$(root_mirror)
	[ -n "$mirror" ] || { echo "root: no default mirror found in /usr/sbin/debootstrap" >&2; exit 1; }
	release="$mirror/dists/$root_suite/Release"
	curl -fsS --max-time 20 -o /dev/null "$release" 2>/dev/null ||
		skip "the Debian mirror cannot be reached ($release); set MQEDGE_DEBIAN_MIRROR to another"
	key="debian-$(echo "${root_args[*]} $mirror" | sha256sum | cut -c1-12)-$(date +%G-W%V)"
	tarball="$root_cache/$key.tar.gz"
	root_work=$(mktemp -d "${TMPDIR:-/tmp}/mqedge-root.XXXXXX")
	root="$root_work/root"
	trap root_cleanup EXIT
	t0=$SECONDS
	mkdir -p "$root_cache"
	(
		flock 9   # one debootstrap at a time per cache
		if [ ! -f "$tarball" ]; then
			echo "root: no cached root ($tarball): debootstrap ${root_args[*]} $mirror"
			debootstrap "${root_args[@]}" "$root_work/new" "$mirror" >"$root_work/debootstrap.log" 2>&1 || {
				tail -20 "$root_work/debootstrap.log" >&2
				echo "root: debootstrap failed (log above)" >&2
				exit 1
			}
			tar -C "$root_work/new" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
			rm -rf "$root_work/new"
			find "$root_cache" -name 'debian-*.tar.gz' ! -name "$key.tar.gz" -delete   # older weeks
		fi
	) 9>"$root_cache/.lock"
	mkdir "$root"
	tar -C "$root" -xzf "$tarball"
	# Debian's sources as the debian:12 image has them (debootstrap writes only the release)
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<-SOURCES
		Types: deb
		URIs: $mirror
		Suites: $root_suite $root_suite-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: ${mirror%/debian}/debian-security
		Suites: $root_suite-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SOURCES
	# the root uses the host's network: its resolver, and the certificate authorities the host
	# added itself (a proxy's, say; ca-certificates takes them in when a test installs it)
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	mkdir -p "$root/usr/local/share/ca-certificates"
	find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$root/usr/local/share/ca-certificates/" \;
	# package scripts must not start services here: the root shares the host's network
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	echo "root: ready in $((SECONDS - t0)) s ($root from $tarball)"
}
