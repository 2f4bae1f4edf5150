#!/bin/sh
# Keeps module boundaries honest: each third-party library is included only by the module that
# owns it, and edge/ never includes bridge/'s private headers (nor the reverse).
set -u
root=${1:-.}
cd "$root" || exit 2
fail=0

only() {	# only HEADER ALLOWED_FILE...
	header=$1; shift
	for f in $(grep -l "#include <$header" edge/*.c edge/*.h bridge/*.c bridge/*.h include/mqedge/*.h 2>/dev/null); do
		ok=0
		for allowed in "$@"; do [ "$f" = "$allowed" ] && ok=1; done
		if [ $ok = 0 ]; then echo "boundary: $f includes <$header>"; fail=1; fi
	done
}

only libwebsockets.h edge/server.h edge/server.c edge/ws_session.c edge/metrics.c bridge/mqtt_loop.c
only mosquitto.h bridge/mqtt_client.c
only jwt.h edge/auth.c
only sqlite3.h edge/inbox.c
only cjson/cJSON.h edge/auth.c edge/notify.c

if grep -n '#include "\.\./bridge\|#include "mqtt_' edge/*.c edge/*.h; then
	echo "boundary: edge/ reaches into bridge/ private headers"; fail=1
fi
if grep -n '#include "\.\./edge\|#include "edge.h"\|#include "server.h"' bridge/*.c bridge/*.h; then
	echo "boundary: bridge/ reaches into edge/ private headers"; fail=1
fi
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
