/*
 * fuzz_api_body.c - edge/wire/api_body.c: the retained status every edge reads from
 * {prefix}/edge/+/status (api_body_status_parse), and the HTTP error body written around a message
 * (api_body_error).
 *
 * Input: byte 0 bit 0 chooses the status parser (0) or the error writer (1); the rest is the
 * payload or the message.
 *
 * Invariants: an accepted status has a valid edge id and boot >= 0, and the status this edge
 * would publish with the same fields reads back the same; an error body is a JSON object of less
 * than API_BODY_ERROR_MAX bytes for any UTF-8 message, and carries the message whole when it is
 * short, or a prefix of it otherwise.
 */
#include "fuzz.h"
#include "mqedge/wire/api_body.h"
#include "mqedge/wire/topics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void check_status(const char *p, size_t len)
{
	char edge[TOPICS_ID_MAX + 1], edge2[TOPICS_ID_MAX + 1], buf[512];
	bool online, online2;
	int64_t boot, boot2;
	int n;

	if (api_body_status_parse(p, len, edge, &online, &boot))
		return;
	FUZZ_CHECK(topics_validate_id(edge, strlen(edge)) == 0);
	FUZZ_CHECK(boot >= 0);
	n = api_body_status(buf, sizeof(buf), edge, online ? "online" : "offline", boot, boot, "0.1.0");
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(buf) && fuzz_json_object(buf, (size_t)n));
	FUZZ_CHECK(api_body_status_parse(buf, (size_t)n, edge2, &online2, &boot2) == 0);
	FUZZ_CHECK(!strcmp(edge, edge2) && online == online2 && boot == boot2);
}

static void check_error(const uint8_t *data, size_t size)
{
	static const char *const codes[] = { "bad_json", "bad_request", "unauthorized", "internal", "unavailable" };
	char buf[API_BODY_ERROR_MAX], *msg;
	int n;

	if (!utf8_valid(data, size) || memchr(data, '\0', size))
		return;
	msg = fuzz_strndup(data, size);
	n = api_body_error(buf, codes[size % 5], msg);
	FUZZ_CHECK(n > 0 && n < API_BODY_ERROR_MAX && (size_t)n == strlen(buf));
	FUZZ_CHECK(fuzz_json_object(buf, (size_t)n));
	if (size <= 100 && !strpbrk(msg, "\"\\") ) {
		bool ctrl = false;

		for (size_t i = 0; i < size; i++)
			ctrl = ctrl || (unsigned char)msg[i] < 0x20;
		if (!ctrl)
			FUZZ_CHECK(strstr(buf, msg) != NULL);
	}
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_error(data + 1, size - 1);
	else
		check_status((const char *)data + 1, size - 1);
	return 0;
}
