/*
 * fuzz_reassembly.c - edge/wire/reassembly.c, fed the way libwebsockets feeds it: messages made of
 * frames, each frame handed over in reads of any size; and utf8_valid (jsontext.c), which every
 * broker payload meets, against a plain reference decoder of RFC 3629.
 *
 * Input: bytes 0-1 the size limit (1..65536); then per frame a header byte (bit 0 FIN, bit 1
 * binary on a message's first frame, bits 2-5 the size of the reads it arrives in, 0 = one read,
 * bits 6-7 a length multiplier 1-4), a length byte, and the payload (cut short by the input's end).
 *
 * Invariants: a text message comes out exactly as the concatenation of its frames' payloads,
 * once, on its last piece; MORE before; BINARY for a binary message; TOO_BIG exactly at the first
 * piece where held + piece + rest of the frame passes the limit (then the connection is closing:
 * the rest is not fed); BAD_UTF8 exactly at the first piece after which the text can no longer
 * become valid UTF-8, or on the last piece of a text that ends inside a character; a single-piece
 * message is returned in place; utf8_valid agrees with the reference on every input.
 */
#include "fuzz.h"
#include "mqedge/wire/reassembly.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* RFC 3629, written the slow, obvious way: decode the code point, then judge it. */
static bool reference_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t need;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			need = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			need = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			need = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff)
			return false;
		i += need + 1;
	}
	return true;
}

/* True when s[0..n) is valid UTF-8 or can still become so: some completion of at most 3 bytes
 * makes it valid (the second byte of a sequence is the one with special ranges). */
static bool reference_prefix(const uint8_t *s, size_t n)
{
	static const uint8_t second[] = { 0x80, 0x90, 0xa0 };
	uint8_t *buf;
	bool ok = reference_utf8(s, n);

	if (ok)
		return true;
	buf = malloc(n + 3);
	if (!buf)
		abort();
	if (n)
		memcpy(buf, s, n);
	for (size_t b = 0; b < sizeof(second) && !ok; b++) {
		for (size_t k = 1; k <= 3 && !ok; k++) {
			buf[n] = second[b];
			buf[n + 1] = buf[n + 2] = 0x80;
			ok = reference_utf8(buf, n + k);
		}
	}
	free(buf);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reassembly r = { 0 };
	uint8_t *expect;	/* the model: the current message so far */
	size_t expect_len = 0, max, pos = 2;
	bool in_message = false, binary = false;

	if (size < 2)
		return 0;
	FUZZ_CHECK(utf8_valid(data, size) == reference_utf8(data, size));
	max = 1 + ((size_t)data[0] << 8 | data[1]);
	expect = malloc(size + 1);
	if (!expect)
		abort();
	while (pos + 2 <= size) {
		uint8_t hdr = data[pos], lenb = data[pos + 1];
		bool fin = hdr & 1;
		size_t read_size = (hdr >> 2) & 0x0f, frame_len = (size_t)lenb * (1 + (hdr >> 6));
		size_t done = 0;

		pos += 2;
		if (frame_len > size - pos)
			frame_len = size - pos;
		if (!in_message) {
			binary = hdr & 2;
			expect_len = 0;
		}
		/* a frame arrives in reads of read_size bytes (0: all at once); an empty frame is one
		 * empty read */
		do {
			size_t n = read_size && read_size < frame_len - done ? read_size : frame_len - done;
			struct reassembly_piece p = {
				.data = (const char *)data + pos + done, .len = n,
				.first = !in_message && done == 0, .final = fin && done + n == frame_len,
				.binary = binary, .frame_remaining = frame_len - done - n,
			};
			const char *msg = NULL;
			size_t msg_len = 0;
			enum reassembly_result got = reassembly_feed(&r, &p, max, &msg, &msg_len);
			bool too_big = expect_len + n + p.frame_remaining > max, bad_utf8;

			if (too_big) {
				FUZZ_CHECK(got == REASSEMBLY_TOO_BIG);
				goto out;	/* the server closes the connection: nothing more is fed */
			}
			if (n)
				memcpy(expect + expect_len, p.data, n);
			expect_len += n;
			bad_utf8 = !binary && (p.final ? !reference_utf8(expect, expect_len) : !reference_prefix(expect, expect_len));
			if (bad_utf8) {
				FUZZ_CHECK(got == REASSEMBLY_BAD_UTF8);	/* at once, not at the end */
				goto out;
			}
			FUZZ_CHECK(got != REASSEMBLY_TOO_BIG && got != REASSEMBLY_NOMEM && got != REASSEMBLY_BAD_UTF8);
			if (!p.final) {
				FUZZ_CHECK(got == REASSEMBLY_MORE);
			} else if (binary) {
				FUZZ_CHECK(got == REASSEMBLY_BINARY);
			} else {
				FUZZ_CHECK(got == REASSEMBLY_TEXT);
				FUZZ_CHECK(msg_len == expect_len && (!msg_len || !memcmp(msg, expect, msg_len)));
				if (p.first)
					FUZZ_CHECK(msg == p.data);	/* in place, no copy */
				FUZZ_CHECK(utf8_valid((const unsigned char *)msg, msg_len));
				reassembly_done(&r);
				FUZZ_CHECK(r.cap <= REASSEMBLY_KEEP_BYTES);
			}
			in_message = !p.final;
			if (p.final)
				expect_len = 0;
			done += n;
		} while (done < frame_len);
		pos += frame_len;
	}
out:
	reassembly_free(&r);
	free(expect);
	return 0;
}
