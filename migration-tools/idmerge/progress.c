/*
 * The progress line: records per second and an ETA, redrawn in place on a terminal a
 * few times per second. Silent when stderr is not a terminal or CI=true, so logs and
 * CI output stay clean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "migration-tools/idmerge/mig.h"

struct mig_progress {
	const char *label;
	uint64_t total;
	int64_t start_ms, last_ms;
	bool drawn;
};

struct mig_progress *
mig_progress_new(bool force)
{
	const char *ci = getenv("CI");

	if (!force && (!isatty(2) || (ci != NULL && strcmp(ci, "true") == 0)))
		return NULL;
	return calloc(1, sizeof(struct mig_progress));
}

static void
end_line(struct mig_progress *p)
{
	if (p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
}

void
mig_progress_phase(struct mig_progress *p, const char *label, uint64_t total)
{
	if (p == NULL)
		return;
	end_line(p);
	p->label = label;
	p->total = total;
	p->start_ms = p->last_ms = yh_mono_ms();
	if (label != NULL)
		mig_progress_update(p, 0, 0);
}

void
mig_progress_update(struct mig_progress *p, uint64_t done, uint64_t records)
{
	int64_t now, el;
	double frac, eta;
	char rate[48] = "";

	if (p == NULL || p->label == NULL)
		return;
	now = yh_mono_ms();
	if (p->drawn && now - p->last_ms < 250 && (p->total == 0 || done < p->total))
		return;
	p->last_ms = now;
	el = now - p->start_ms;
	frac = p->total > 0 ? (double)done / (double)p->total : 0.0;
	if (frac > 1.0)
		frac = 1.0;
	eta = frac > 0.0 ? (double)el / 1000.0 * (1.0 - frac) / frac : 0.0;
	if (records > 0 && el > 0)
		snprintf(rate, sizeof(rate), "  %llu records  %.0f rec/s", (unsigned long long)records,
		    (double)records * 1000.0 / (double)el);
	fprintf(stderr, "\r\033[K[%s] %5.1f%%%s  ETA %d:%02d", p->label, frac * 100.0, rate,
	    (int)(eta / 60.0), (int)eta % 60);
	fflush(stderr);
	p->drawn = true;
}

void
mig_progress_free(struct mig_progress *p)
{
	if (p == NULL)
		return;
	end_line(p);
	free(p);
}
