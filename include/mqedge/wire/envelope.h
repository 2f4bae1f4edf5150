/*
 * envelope.h - the MQTT payload format between edges and backends (schemas/envelope.schema.json).
 *
 * An envelope is a JSON object {"v":1,"id":..,"ts":..,"from":..,"data":..}. Anything else that
 * arrives on a mapped topic is a bare payload: JSON, UTF-8 text, or bytes. Parsing points into the
 * payload (nothing is copied or allocated); building writes into a caller's buffer.
 */
#ifndef MQEDGE_ENVELOPE_H
#define MQEDGE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_ID_MAX 100

enum payload_kind {
	PAYLOAD_ENVELOPE,	/* fields below are set */
	PAYLOAD_JSON,		/* data is the whole JSON value */
	PAYLOAD_TEXT,		/* data is UTF-8 text, to be sent as a JSON string with enc "text" */
	PAYLOAD_BINARY,		/* data is bytes, to be sent as base64 with enc "base64" */
};

enum data_enc { ENC_NONE = 0, ENC_TEXT, ENC_BASE64 };

struct envelope {
	const char *id;		/* NULL for bare payloads */
	size_t id_len;
	int64_t ts;		/* -1 when absent */
	const char *from;	/* NULL when absent */
	size_t from_len;
	const char *data;	/* JSON text (envelope/JSON) or raw bytes (text/binary) */
	size_t data_len;
	enum data_enc enc;	/* how data must be presented to clients */
};

/* Classifies payload and fills env. Never fails: a JSON object that is not a valid envelope is
 * PAYLOAD_JSON (delivered as data), anything that is not JSON is TEXT or BINARY. */
enum payload_kind envelope_parse(const void *payload, size_t len, struct envelope *env);

/* True when id is a valid message id: 1..ENVELOPE_ID_MAX id characters. */
int envelope_validate_id(const char *id, size_t len);

/* Writes {"v":1,"id":ID,"ts":TS,"from":FROM,"data":DATA} (from omitted when NULL) into buf.
 * data must be valid JSON text. Returns the length, or -1 when it does not fit. */
int envelope_build(char *buf, size_t buflen, const char *id, int64_t ts, const char *from,
		   const char *data, size_t data_len);

/* Upper bound of envelope_build's output for the given sizes. */
size_t envelope_build_size(size_t id_len, size_t from_len, size_t data_len);

#endif
