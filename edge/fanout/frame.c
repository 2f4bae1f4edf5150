/*
 * frame.c - shared outgoing frames: size-class free lists, WebSocket header, delivery serialiser.
 * Owns: frame memory. Must not: know sessions or sockets (queues hold references, writers write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqedge/fanout/frame.h"
#include "mqedge/wire/edge_frame.h"

#define CLASS_HUGE 0xff

/* Powers of two, so a frame never holds more than twice its payload (a queue's byte bound then
 * bounds memory within 2x); each class keeps about 1 MiB of free frames for reuse. */
static const struct {
	uint32_t cap;
	uint32_t keep;	/* free frames kept for reuse */
} classes[] = {
	{ 256, 4096 }, { 512, 2048 }, { 1024, 1024 }, { 2048, 512 }, { 4096, 256 }, { 8192, 128 }, { 16384, 64 },
};
#define N_CLASSES (sizeof(classes) / sizeof(classes[0]))

/* Free frames are chained through their first payload bytes. */
static struct frame *free_list[N_CLASSES];
static uint32_t free_count[N_CLASSES];

struct frame *frame_alloc(size_t cap)
{
	struct frame *f;
	unsigned c;

	if (cap > UINT32_MAX - FRAME_HEADROOM)
		return NULL;
	for (c = 0; c < N_CLASSES && classes[c].cap < cap; c++)
		;
	if (c < N_CLASSES && free_list[c]) {
		f = free_list[c];
		memcpy(&free_list[c], frame_payload(f), sizeof(struct frame *));
		free_count[c]--;
	} else {
		size_t alloc = c < N_CLASSES ? classes[c].cap : cap;

		f = malloc(sizeof(*f) + FRAME_HEADROOM + alloc);
		if (!f)
			return NULL;
		f->cap = (uint32_t)alloc;
		f->size_class = c < N_CLASSES ? (uint8_t)c : CLASS_HUGE;
	}
	f->refs = 1;
	f->len = 0;
	f->hdr_len = 0;
	f->born_us = 0;
	f->twin_state = FRAME_TWIN_UNTRIED;
	f->twin = NULL;
	return f;
}

void frame_unref(struct frame *f)
{
	unsigned c;

	if (--f->refs)
		return;
	if (f->twin)
		frame_unref(f->twin);
	c = f->size_class;
	if (c != CLASS_HUGE && free_count[c] < classes[c].keep) {
		memcpy(frame_payload(f), &free_list[c], sizeof(struct frame *));
		free_list[c] = f;
		free_count[c]++;
		return;
	}
	free(f);
}

void frame_pool_drain(void)
{
	for (unsigned c = 0; c < N_CLASSES; c++) {
		while (free_list[c]) {
			struct frame *f = free_list[c];

			memcpy(&free_list[c], frame_payload(f), sizeof(struct frame *));
			free(f);
		}
		free_count[c] = 0;
	}
}

/* RFC 6455 5.2: first byte (FIN, RSV1, text opcode), unmasked, 7/16/64-bit length */
static void seal(struct frame *f, size_t len, unsigned char first)
{
	unsigned char *p = frame_payload(f);

	f->len = (uint32_t)len;
	if (len < 126) {
		f->hdr_len = 2;
		p[-2] = first;
		p[-1] = (unsigned char)len;
	} else if (len < 65536) {
		f->hdr_len = 4;
		p[-4] = first;
		p[-3] = 126;
		p[-2] = (unsigned char)(len >> 8);
		p[-1] = (unsigned char)len;
	} else {
		f->hdr_len = 10;
		p[-10] = first;
		p[-9] = 127;
		for (int i = 0; i < 8; i++)
			p[-8 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
}

void frame_seal(struct frame *f, size_t len)
{
	seal(f, len, 0x81);	/* FIN, text */
}

void frame_seal_compressed(struct frame *f, size_t len)
{
	seal(f, len, 0xc1);	/* FIN, RSV1 (compressed), text */
}

struct frame *frame_from_text(const char *text, size_t len)
{
	struct frame *f = frame_alloc(len);

	if (!f)
		return NULL;
	memcpy(frame_payload(f), text, len);
	frame_seal(f, len);
	return f;
}

struct frame *frame_build_delivery(const struct delivery *d)
{
	struct frame *f = frame_alloc(edge_frame_delivery_size(d));

	if (!f)
		return NULL;
	frame_seal(f, edge_frame_delivery((char *)frame_payload(f), d));
	return f;
}
