#!/bin/sh
# Keeps the layers honest (docs/ARCHITECTURE.md, "Layers"):
#  1. each third-party library is included only by the module that owns it;
#  2. a folder includes only its own private headers and the contracts (include/mqedge/<layer>/) of
#     layers below it: base < wire < {bridge, fanout} < {inbox, presence, history, rpc} < server;
#  3. no include cycle between modules (a module is foo.c with its foo.h, wherever they live; a
#     folder's shared private header foo_int.h belongs to module foo).
# Prints one line per violation and exits non-zero.
set -u
root=${1:-.}
cd "$root" || exit 2
fail=0
sources=$(find edge bridge include/mqedge -name '*.[ch]' | sort)

only() {	# only HEADER ALLOWED_FILE...
	header=$1; shift
	for f in $(grep -l "#include <$header" $sources 2>/dev/null); do
		ok=0
		for allowed in "$@"; do [ "$f" = "$allowed" ] && ok=1; done
		if [ $ok = 0 ]; then echo "boundary: $f includes <$header>"; fail=1; fi
	done
}
only libwebsockets.h edge/server/server.c edge/server/ws_session.c edge/server/ws_deflate.c edge/server/http.c edge/server/metrics.c edge/server/listener.c \
	edge/server/edge.h bridge/mqtt_loop.c
only mosquitto.h bridge/mqtt_client.c
only mqtt_protocol.h bridge/mqtt_client.c
only jwt.h edge/server/auth.c
only sqlite3.h edge/inbox/inbox.c edge/inbox/inbox_int.h edge/inbox/retention.c edge/inbox/checkpoint.c
only cjson/cJSON.h edge/server/auth.c
only ev.h edge/server/server.c
only zlib.h edge/fanout/deflate.c
only openssl/ edge/server/tls.c

# rank of a layer by folder; a file may include contracts of strictly lower ranks, and headers of its own folder
rank() {
	case $1 in
	edge/base|include/mqedge/base) echo 0 ;;
	edge/wire|include/mqedge/wire) echo 1 ;;
	bridge|include/mqedge/bridge) echo 2 ;;
	edge/fanout|include/mqedge/fanout) echo 2 ;;
	edge/inbox|include/mqedge/inbox) echo 3 ;;
	edge/presence|include/mqedge/presence) echo 3 ;;
	edge/history|include/mqedge/history) echo 3 ;;
	edge/rpc|include/mqedge/rpc) echo 3 ;;
	edge/server) echo 4 ;;
	*) echo 99 ;;
	esac
}
layer_of() {	# the layer folder name of a path: base, wire, bridge, fanout, inbox, server
	case $1 in
	include/mqedge/*) p=${1#include/mqedge/}; echo "${p%%/*}" ;;
	bridge/*) echo bridge ;;
	edge/*) p=${1#edge/}; echo "${p%%/*}" ;;
	esac
}
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in $sources; do
	dir=$(dirname "$f")
	myrank=$(rank "$dir")
	mylayer=$(layer_of "$f")
	mod=$(basename "$f" | sed 's/\.[ch]$//; s/_int$//')
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		mqedge/*)
			target=include/$inc
			tlayer=$(layer_of "$target")
			trank=$(rank "$(dirname "$target")")
			if [ "$tlayer" != "$mylayer" ] && [ "$trank" -ge "$myrank" ]; then
				echo "layer: $f ($mylayer) includes $inc ($tlayer): only lower layers"; fail=1
			fi ;;
		*/*)
			echo "layer: $f reaches into another folder with \"$inc\""; fail=1; continue ;;
		*)
			target=$dir/$inc
			[ -f "$target" ] || { echo "layer: $f includes \"$inc\", which is not beside it"; fail=1; continue; } ;;
		esac
		tmod=$(basename "$inc" | sed 's/\.h$//; s/_int$//')
		[ "$tmod" != "$mod" ] && echo "$(layer_of "$f")/$mod $(layer_of "$target")/$tmod" >> "$edges"
	done
done
# tsort names a loop when the module graph has one
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	echo "cycle: modules include each other:"; sed 's/^/  /' "$edges.err"; fail=1
fi
rm -f "$edges.err"
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
