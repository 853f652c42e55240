/*
 * tests/unit/test_status_fmt.c — the pure parts of `s3bridge status`
 * (fs/status_fmt.h): summary.json fields, the sliding-window rate with a
 * pinned clock, human sizes, the ETA, the bar and the whole line, against
 * values worked out by hand.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "status_fmt.h"

static const char *bytes(uint64_t v)
{
	static char b[32];

	s3b_fmt_bytes(v, b, sizeof(b));
	return b;
}

static const char *eta(double s)
{
	static char b[32];

	s3b_fmt_eta(s, b, sizeof(b));
	return b;
}

static const char *bar(double f, size_t w)
{
	static char b[64];

	s3b_fmt_bar(f, w, b, sizeof(b));
	return b;
}

static void test_parse(void)
{
	/* as db/report.c renders it (tests/unit/test_report.c's golden) */
	static const char offline[] =
		"{\"verified\":3,\"failed\":1,\"mismatch\":1,\"pending\":1,\"interrupted\":1,"
		"\"objects\":7,\"records\":9,\"bytes\":8,\"first_start\":1704067200.000,"
		"\"last_end\":1704067202.000,\"elapsed\":2.000,\"rate\":4,\"uploads\":0,\"check\":null}\n";
	/* as a mount renders it: live fields, a check whose keys look like ours */
	static const char live[] =
		"{\"verified\":18446744073709551615,\"failed\":0,\"mismatch\":2,\"pending\":5,"
		"\"interrupted\":0,\"objects\":7,\"records\":7,\"bytes\":104857600,"
		"\"first_start\":null,\"last_end\":null,\"elapsed\":12.500,\"rate\":8388608,"
		"\"uploads\":1,\"uploads_in_flight\":3,\"bytes_in_flight\":9,\"retries\":0,"
		"\"check\":{\"ran\":1.5,\"missing\":1,\"extra\":0,\"differ\":0,\"unverified\":4}}\n";
	struct s3b_status_summary s;

	CHECK_INT(s3b_status_parse(offline, &s), 0);
	CHECK_INT(s.verified, 3);
	CHECK_INT(s.failed, 1);
	CHECK_INT(s.mismatch, 1);
	CHECK_INT(s.pending, 1);
	CHECK_INT(s.interrupted, 1);
	CHECK_INT(s.bytes, 8);
	CHECK(s.rate == 4.0);
	CHECK(s.elapsed == 2.0);
	CHECK_INT(s.in_flight, 0);
	CHECK_INT(s3b_status_finished(&s), 6);
	CHECK_INT(s3b_status_bad(&s), 3);

	CHECK_INT(s3b_status_parse(live, &s), 0);
	CHECK(s.verified == UINT64_MAX);
	CHECK_INT(s.mismatch, 2);
	CHECK_INT(s.pending, 5);
	CHECK_INT(s.bytes, 104857600);
	CHECK(s.rate == 8388608.0);
	CHECK(s.elapsed == 12.5);
	CHECK_INT(s.in_flight, 3);

	CHECK_INT(s3b_status_parse("", &s), EPROTO);
	CHECK_INT(s3b_status_parse("{\"verified\":1}", &s), EPROTO);
	CHECK_INT(s3b_status_parse("{\"unverified\":1,\"failed\":0,\"mismatch\":0,\"pending\":0,"
				   "\"interrupted\":0,\"bytes\":0}", &s), EPROTO);
	CHECK_INT(s3b_status_parse("{\"verified\":-1,\"failed\":0,\"mismatch\":0,\"pending\":0,"
				   "\"interrupted\":0,\"bytes\":0}", &s), EPROTO);
	CHECK_INT(s3b_status_parse("{\"verified\":1x,\"failed\":0,\"mismatch\":0,\"pending\":0,"
				   "\"interrupted\":0,\"bytes\":0}", &s), EPROTO);
	CHECK_INT(s3b_status_parse("{\"verified\":99999999999999999999,\"failed\":0,"
				   "\"mismatch\":0,\"pending\":0,\"interrupted\":0,\"bytes\":0}", &s),
		  EPROTO);
	/* rate and elapsed null or absent: 0 */
	CHECK_INT(s3b_status_parse("{\"verified\":0,\"failed\":0,\"mismatch\":0,\"pending\":0,"
				   "\"interrupted\":0,\"bytes\":0,\"rate\":null}", &s), 0);
	CHECK(s.rate == 0 && s.elapsed == 0);
}

static void test_bytes(void)
{
	CHECK_STR(bytes(0), "0 B");
	CHECK_STR(bytes(1023), "1023 B");
	CHECK_STR(bytes(1024), "1.0 KiB");
	CHECK_STR(bytes(1536), "1.5 KiB");
	CHECK_STR(bytes(1048524), "1023.9 KiB");  /* 1023.949 KiB */
	CHECK_STR(bytes(1048575), "1.0 MiB");     /* 1023.999 KiB: not "1024.0 KiB" */
	CHECK_STR(bytes(104857600), "100.0 MiB");
	CHECK_STR(bytes(10737418240ull), "10.0 GiB");
	CHECK_STR(bytes(1099511627776ull), "1.0 TiB");
	CHECK_STR(bytes(UINT64_MAX), "16.0 EiB");
	char small[5];

	s3b_fmt_bytes(1536, small, sizeof(small)); /* truncated, terminated */
	CHECK_STR(small, "1.5 ");
}

static void test_eta(void)
{
	CHECK_STR(eta(-1), "--");
	CHECK_STR(eta(NAN), "--");
	CHECK_STR(eta(INFINITY), "--");
	CHECK_STR(eta(0), "0s");
	CHECK_STR(eta(0.2), "1s");
	CHECK_STR(eta(59), "59s");
	CHECK_STR(eta(59.5), "1m00s");
	CHECK_STR(eta(65), "1m05s");
	CHECK_STR(eta(3599), "59m59s");
	CHECK_STR(eta(3600), "1h00m");
	CHECK_STR(eta(7322), "2h02m");
	CHECK_STR(eta(86399), "23h59m");
	CHECK_STR(eta(86400), "1d00h");
	CHECK_STR(eta(2 * 86400 + 3 * 3600 + 59), "2d03h");
	CHECK_STR(eta(99 * 86400 + 86399), "99d23h");
	CHECK_STR(eta(100 * 86400), ">99d");
	CHECK_STR(eta(1e300), ">99d");
}

static void test_bar(void)
{
	CHECK_STR(bar(0, 12), "[..........]");
	CHECK_STR(bar(0.5, 12), "[#####.....]");
	CHECK_STR(bar(0.999, 12), "[#########.]");
	CHECK_STR(bar(1, 12), "[##########]");
	CHECK_STR(bar(7, 12), "[##########]");
	CHECK_STR(bar(-3, 12), "[..........]");
	CHECK_STR(bar(NAN, 12), "[..........]");
	CHECK_STR(bar(0.25, 6), "[#...]");
	CHECK_STR(bar(1, 1), "[#]"); /* at least 3 columns */
	char small[4];

	s3b_fmt_bar(0.5, 12, small, sizeof(small));
	CHECK_STR(small, "[##");
}

static void test_rate(void)
{
	struct s3b_rate_window w;
	double b, o;

	s3b_rate_init(&w, 10, 2);
	CHECK(!s3b_rate_get(&w, &b, &o));
	s3b_rate_add(&w, 100, 0, 0);
	CHECK(!s3b_rate_get(&w, &b, &o));
	s3b_rate_add(&w, 101, 1000, 1);
	CHECK(!s3b_rate_get(&w, &b, &o)); /* 1 s apart: less than min_dt */
	CHECK(b == 0 && o == 0);
	s3b_rate_add(&w, 102, 4000, 4);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 2000 && o == 2);
	/* one sample a second up to t = 112: the window keeps t >= 102 (the
	 * oldest goes once the next covers 10 s) */
	for (int t = 103; t <= 112; t++)
		s3b_rate_add(&w, t, 4000 + (uint64_t)(t - 102) * 500, 4);
	CHECK_INT(w.n, 11);
	CHECK(w.s[0].t == 102);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 500 && o == 0);
	/* a stall: the rate falls to 0 once the window has passed it */
	for (int t = 113; t <= 122; t++)
		s3b_rate_add(&w, t, 9000, 4);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 0);
	/* counts going down (a re-copy) are no progress, not a negative rate */
	s3b_rate_add(&w, 130, 100, 1);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 0 && o == 0);

	/* an interval longer than the span: the previous sample stays */
	s3b_rate_init(&w, 10, 2);
	s3b_rate_add(&w, 0, 0, 0);
	s3b_rate_add(&w, 30, 3000, 30);
	s3b_rate_add(&w, 60, 9000, 90);
	CHECK_INT(w.n, 2);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 200 && o == 2);

	/* a full array drops its oldest */
	s3b_rate_init(&w, 1e9, 0.5);
	for (unsigned i = 0; i < S3B_RATE_SAMPLES + 5; i++)
		s3b_rate_add(&w, i, (uint64_t)i * 10, i);
	CHECK_INT(w.n, S3B_RATE_SAMPLES);
	CHECK(w.s[0].t == 5);
	CHECK(s3b_rate_get(&w, &b, &o));
	CHECK(b == 10 && o == 1);
}

static struct s3b_status_view view(void)
{
	/* 266 objects, 100 MiB; 117 verified (45 MiB), 3 failed, 2 pending */
	return (struct s3b_status_view){
		.sum = {.verified = 117, .failed = 3, .pending = 2, .bytes = 47185920,
			.in_flight = 2},
		.have_source = true, .total_objects = 266, .total_bytes = 104857600,
		.have_rate = true, .bytes_per_s = 11010048, .objects_per_s = 40.14,
	};
}

static void test_line(void)
{
	struct s3b_status_view v = view();
	char l[512];

	/* 45 MiB of 100: 45%; 55 MiB left at 10.5 MiB/s: 5.24 s, so 6s */
	CHECK(fabs(s3b_status_fraction(&v) - 0.45) < 1e-12);
	CHECK(fabs(s3b_status_eta(&v) - 57671680.0 / 11010048) < 1e-9);
	s3b_status_format(&v, 0, l, sizeof(l));
	CHECK_STR(l, "45% done: 120 of 266 objects, 45.0 MiB of 100.0 MiB | 10.5 MiB/s, "
		     "40.1 objects/s | ETA 6s | 117 verified, 3 failed, 0 mismatch, 2 pending, "
		     "0 interrupted | 2 uploads in flight");
	/* 80 columns: objects/s goes, the bar takes the rest (16 of 79) */
	s3b_status_format(&v, 80, l, sizeof(l));
	CHECK_STR(l, "[######........]  45% 120/266 obj 45.0 MiB/100.0 MiB 10.5 MiB/s "
		     "ETA 6s 3 failed");
	CHECK_INT(strlen(l), 79);
	/* wide: everything, the bar at its widest (42) */
	s3b_status_format(&v, 200, l, sizeof(l));
	CHECK_STR(l, "[##################......................]  45% 120/266 obj "
		     "45.0 MiB/100.0 MiB 10.5 MiB/s 40.1 obj/s ETA 6s 3 failed");
	/* 66 columns: both rates go, a 13-column bar */
	s3b_status_format(&v, 66, l, sizeof(l));
	CHECK_STR(l, "[####.......]  45% 120/266 obj 45.0 MiB/100.0 MiB ETA 6s 3 failed");
	CHECK_INT(strlen(l), 65);
	/* 40 columns: no bar, the text cut at 39 */
	s3b_status_format(&v, 40, l, sizeof(l));
	CHECK_STR(l, " 45% 120/266 obj 45.0 MiB/100.0 MiB ETA");
	CHECK_INT(strlen(l), 39);

	/* done: 100%, full bar, ETA 0s even with no rate; everything fits
	 * 80 columns with the narrowest bar */
	v.sum = (struct s3b_status_summary){.verified = 266, .bytes = 104857600};
	v.have_rate = false;
	CHECK(s3b_status_fraction(&v) == 1.0);
	CHECK(s3b_status_eta(&v) == 0);
	s3b_status_format(&v, 0, l, sizeof(l));
	CHECK_STR(l, "100% done: 266 of 266 objects, 100.0 MiB of 100.0 MiB | -- B/s, "
		     "-- objects/s | ETA 0s | 266 verified, 0 failed, 0 mismatch, 0 pending, "
		     "0 interrupted | 0 uploads in flight");
	s3b_status_format(&v, 80, l, sizeof(l));
	CHECK_STR(l, "[##########] 100% 266/266 obj 100.0 MiB/100.0 MiB --/s -- obj/s "
		     "ETA 0s 0 failed");
	CHECK_INT(strlen(l), 79);

	/* more in the journal than in the source: capped at 100% */
	v.sum.bytes = 3 * v.total_bytes;
	CHECK(s3b_status_fraction(&v) == 1.0);

	/* a rate of 0 with something left: no ETA */
	v = view();
	v.bytes_per_s = 0;
	CHECK(s3b_status_eta(&v) == -1);
	/* no bytes in the source: objects decide */
	v.total_bytes = 0;
	v.sum.bytes = 0;
	v.total_objects = 240;
	v.objects_per_s = 10;
	CHECK(fabs(s3b_status_fraction(&v) - 0.5) < 1e-12);
	CHECK(s3b_status_eta(&v) == 12);
	/* an empty source is done */
	v.total_objects = 0;
	CHECK(s3b_status_fraction(&v) == 1.0);

	/* no source: no percentage, no bar, no ETA */
	v = view();
	v.have_source = false;
	CHECK(s3b_status_eta(&v) == -1);
	s3b_status_format(&v, 0, l, sizeof(l));
	CHECK_STR(l, "120 objects, 45.0 MiB | 10.5 MiB/s, 40.1 objects/s | 117 verified, "
		     "3 failed, 0 mismatch, 2 pending, 0 interrupted | 2 uploads in flight");
	s3b_status_format(&v, 80, l, sizeof(l));
	CHECK_STR(l, "120 obj 45.0 MiB 10.5 MiB/s 40.1 obj/s 3 failed");
	s3b_status_format(&v, 30, l, sizeof(l));
	CHECK_STR(l, "120 obj 45.0 MiB 3 failed");
	v.sum.in_flight = 1;
	s3b_status_format(&v, 0, l, sizeof(l));
	CHECK(strstr(l, "| 1 upload in flight") != NULL);

	/* a short buffer: cut and terminated */
	v = view();
	char small[10];

	s3b_status_format(&v, 0, small, sizeof(small));
	CHECK_STR(small, "45% done:");
	s3b_status_format(&v, 80, small, sizeof(small));
	CHECK_STR(small, "[######..");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_parse();
	test_bytes();
	test_eta();
	test_bar();
	test_rate();
	test_line();
	return check_report();
}
