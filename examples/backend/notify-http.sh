#!/bin/sh
# Sends offline notifications (docs/PROTOCOL.md section 7) through an edge's HTTP API with curl:
# POST /api/v1/notifications with the API key (the edge runs with --api-key KEY). The edge assigns
# ids, stores them, publishes them to the broker for every other edge and answers 201 {"ids":[...]}
# once its commit is done and the broker acknowledged every publish.
#
#   API_KEY=KEY examples/backend/notify-http.sh [USER...]     e.g.  notify-http.sh bob alice
#
# Environment: EDGE_URL (http://127.0.0.1:8080; https://... for the TLS port), API_KEY (required),
#   ACTOR (dave), TITLE, INSECURE (1: accept a self-signed certificate, curl -k), ANNOUNCE (1: also
#   send an announcement to everyone; 0: only the users' notification).
set -eu

url=${EDGE_URL:-http://127.0.0.1:8080}
key=${API_KEY:?set API_KEY to a key given to the edge with --api-key}
actor=${ACTOR:-dave}
title=${TITLE:-"$actor commented on your post"}
announce=${ANNOUNCE:-1}
[ $# -gt 0 ] || set -- bob

# JSON string literal of $1: escapes backslash, double quote, tab, CR and newlines; other control
# characters become spaces.
json_str() {
	printf '%s' "$1" | tr '\001-\010\013\014\016-\037' ' ' |
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' |
		awk 'BEGIN { ORS = ""; print "\"" } NR > 1 { print "\\n" } { print } END { print "\"" }'
}

to=""
for u in "$@"; do
	case "$u" in
	*[!A-Za-z0-9_.@:-]* | "") echo "notify-http.sh: '$u' is not a valid user id" >&2; exit 2 ;;
	esac
	to="$to${to:+,}\"$u\""
done

# A remind: $actor commented on post 42, to the listed users (1-1000 of them).
one="{\"to\":[$to],\"kind\":\"remind\",\"action\":\"commented\",\"object_type\":\"post\",\"object_id\":\"42\",\"actor\":$(json_str "$actor"),\"title\":$(json_str "$title"),\"data\":{\"url\":\"/posts/42#c7\"}}"
# An announcement has no "to". An array of up to 100 notifications is one request.
ann="{\"kind\":\"announcement\",\"title\":$(json_str "New release: mqedge 0.2"),\"data\":{\"url\":\"/changelog\"}}"
if [ "$announce" = 1 ]; then body="[$one,$ann]"; else body=$one; fi

k=""
[ "${INSECURE:-0}" = 1 ] && k=-k
# --fail-with-body: a 4xx/5xx exits non-zero and still prints {"error":CODE,"message":TEXT}
curl -sS $k --fail-with-body -X POST "$url/api/v1/notifications" \
	-H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary "$body"
echo
