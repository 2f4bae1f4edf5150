/*
 * test_heartbeat.c - the timing wheel (edge/server/heartbeat.c) with explicit ticks: entries fire
 * once, at their second and not before (also beyond one lap), moves and cancels, a fire that
 * reschedules itself or cancels another entry, past deadlines, and a long gap between sweeps.
 */
#include <stdint.h>

#include "check.h"
#include "heartbeat.h"

struct item {
	struct hb_entry hb;
	int fired;
	int64_t fired_at;
	struct item *victim;	/* cancelled by this one's fire */
	int64_t again_in;	/* > 0: fire reschedules itself this much later */
};

static struct hb_wheel wheel;
static int64_t now_t;

static void on_fire(struct hb_entry *e, void *ctx)
{
	struct item *it = (struct item *)e;

	(void)ctx;
	it->fired++;
	it->fired_at = now_t;
	if (it->victim)
		hb_cancel(&wheel, &it->victim->hb);
	if (it->again_in > 0)
		hb_schedule(&wheel, &it->hb, now_t + it->again_in);
}

static size_t sweep_to(int64_t t)
{
	now_t = t;
	return hb_sweep(&wheel, t, on_fire, NULL);
}

static void test_order_and_laps(void)
{
	struct item a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

	hb_init(&wheel, 1000);
	hb_schedule(&wheel, &a.hb, 1003);
	hb_schedule(&wheel, &b.hb, 1003 + HB_SLOTS);	/* same slot, next lap */
	hb_schedule(&wheel, &c.hb, 1001);
	hb_schedule(&wheel, &d.hb, 900);	/* in the past: the next sweep */
	CHECK(wheel.count == 4);
	CHECK(sweep_to(1001) == 2 && c.fired == 1 && d.fired == 1 && c.fired_at == 1001);
	CHECK(sweep_to(1002) == 0);
	CHECK(sweep_to(1003) == 1 && a.fired == 1 && b.fired == 0);
	CHECK(!hb_scheduled(&a.hb) && hb_scheduled(&b.hb) && wheel.count == 1);
	for (int64_t t = 1004; t < 1003 + HB_SLOTS; t++)
		CHECK(sweep_to(t) == 0);
	CHECK(sweep_to(1003 + HB_SLOTS) == 1 && b.fired == 1 && b.fired_at == 1003 + HB_SLOTS);
	CHECK(wheel.count == 0 && a.fired == 1 && c.fired == 1);
}

static void test_move_cancel(void)
{
	struct item a = { 0 }, b = { 0 };

	hb_init(&wheel, 0);
	hb_schedule(&wheel, &a.hb, 5);
	hb_schedule(&wheel, &a.hb, 9);	/* moved: once in the wheel */
	CHECK(wheel.count == 1);
	hb_schedule(&wheel, &b.hb, 5);
	hb_cancel(&wheel, &b.hb);
	hb_cancel(&wheel, &b.hb);	/* twice: harmless */
	CHECK(wheel.count == 1 && !hb_scheduled(&b.hb));
	CHECK(sweep_to(8) == 0 && a.fired == 0 && b.fired == 0);
	CHECK(sweep_to(9) == 1 && a.fired == 1);
}

static void test_fire_reschedules_and_cancels(void)
{
	struct item a = { 0 }, b = { 0 }, c = { 0 };

	hb_init(&wheel, 0);
	a.again_in = 2;
	a.victim = &b;	/* b is due in the same second: cancelled before it fires, or fired first */
	hb_schedule(&wheel, &b.hb, 3);
	hb_schedule(&wheel, &a.hb, 3);	/* linked at the head: fires first */
	hb_schedule(&wheel, &c.hb, 3);
	CHECK(sweep_to(3) == 2 && a.fired == 1 && b.fired == 0 && c.fired == 1);
	CHECK(hb_scheduled(&a.hb) && a.hb.due == 5);
	a.again_in = 0;
	CHECK(sweep_to(5) == 1 && a.fired == 2 && wheel.count == 0);
}

static void test_long_gap(void)
{
	static struct item it[3 * HB_SLOTS];
	const int n = 3 * HB_SLOTS, cut = 2 * HB_SLOTS + 10;

	hb_init(&wheel, 0);
	for (int i = 0; i < n; i++)
		hb_schedule(&wheel, &it[i].hb, 1 + i);	/* three laps' worth */
	CHECK(sweep_to(cut) == (size_t)cut);	/* one sweep after a gap longer than a lap */
	for (int i = 0; i < n; i++)
		CHECK(it[i].fired == (i < cut));
	CHECK(sweep_to(100000) == (size_t)(n - cut) && wheel.count == 0);
	CHECK(sweep_to(99999) == 0);	/* time going back fires nothing */
}

int main(void)
{
	test_order_and_laps();
	test_move_cancel();
	test_fire_reschedules_and_cancels();
	test_long_gap();
	return CHECK_DONE();
}
