#!/bin/sh
# Sends offline notifications (docs/PROTOCOL.md section 7) straight to the broker with mosquitto_pub:
# one to a user ({prefix}/user/{user}/notify) and one announcement to everyone ({prefix}/notify/all).
# Every edge stores them (SQLite inbox) and pushes them to the user's sessions, now or when they
# reconnect, on whichever edge.
#
#   examples/backend/notify-mqtt.sh [USER] [TITLE]      e.g.  notify-mqtt.sh bob 'Carol sent you a note'
#
# Environment: MQTT_HOST (127.0.0.1), MQTT_PORT (1883), PREFIX (mqedge/v1), ACTOR (carol),
#   KIND (mailbox | remind | announcement-only: no user notification, only the announcement),
#   NOTIFY_ID (optional id: the same id twice is one
#   notification), ANNOUNCE (1: also send the announcement; 0: only the user's notification),
#   MOSQUITTO_PUB_ARGS (extra mosquitto_pub flags, e.g. "-u user -P pass" or "--cafile ca.pem").
set -eu

user=${1:-bob}
title=${2:-"You have a new message"}
host=${MQTT_HOST:-127.0.0.1}
port=${MQTT_PORT:-1883}
prefix=${PREFIX:-mqedge/v1}
actor=${ACTOR:-carol}
kind=${KIND:-mailbox}
announce=${ANNOUNCE:-1}

# JSON string literal of $1: escapes backslash, double quote, tab, CR and newlines; other control
# characters become spaces.
json_str() {
	printf '%s' "$1" | tr '\001-\010\013\014\016-\037' ' ' |
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' |
		awk 'BEGIN { ORS = ""; print "\"" } NR > 1 { print "\\n" } { print } END { print "\"" }'
}

case "$user" in
*[!A-Za-z0-9_.@:-]* | "") echo "notify-mqtt.sh: '$user' is not a valid user id" >&2; exit 2 ;;
esac

id_member=""
[ -n "${NOTIFY_ID:-}" ] && id_member="\"id\":$(json_str "$NOTIFY_ID"),"

case "$kind" in
announcement-only)
	payload=""
	announce=1
	;;
mailbox)
	# a private message from $actor
	payload="{$id_member\"kind\":\"mailbox\",\"actor\":$(json_str "$actor"),\"title\":$(json_str "$title"),\"data\":{\"url\":\"/messages/1\"}}"
	;;
remind)
	# $actor did something on an object $user follows: action, object_type, object_id are required
	payload="{$id_member\"kind\":\"remind\",\"action\":\"commented\",\"object_type\":\"post\",\"object_id\":\"42\",\"actor\":$(json_str "$actor"),\"title\":$(json_str "$title")}"
	;;
*) echo "notify-mqtt.sh: KIND must be mailbox, remind or announcement-only" >&2; exit 2 ;;
esac

# QoS 1: the broker acknowledges once it has it; every edge's inbox session gets it at least once and
# stores it once (by id; without an id, by a hash of topic and payload).
if [ -n "$payload" ]; then
	# shellcheck disable=SC2086 # MOSQUITTO_PUB_ARGS is meant to split into flags
	mosquitto_pub -h "$host" -p "$port" -q 1 ${MOSQUITTO_PUB_ARGS:-} -t "$prefix/user/$user/notify" -m "$payload"
	printf 'sent to %s: %s\n' "$prefix/user/$user/notify" "$payload"
fi

if [ "$announce" = 1 ]; then
	ann="{\"kind\":\"announcement\",\"title\":$(json_str "Maintenance tonight 22:00-22:15 UTC"),\"data\":{\"severity\":\"info\"}}"
	# shellcheck disable=SC2086
	mosquitto_pub -h "$host" -p "$port" -q 1 ${MOSQUITTO_PUB_ARGS:-} -t "$prefix/notify/all" -m "$ann"
	printf 'sent to %s: %s\n' "$prefix/notify/all" "$ann"
fi
