/*
 * Fills the values of any compiled template (authd/ui/pages.h, struct page_tpl) from its
 * operations alone, for the tests that render every template (test_pages.c) and
 * fuzz_pages.c: each text or query slot gets text, each URL slot url, each raw slot
 * raw, each int 7, each bool `on`, each list two items filled the same way. The strings
 * are borrowed. Included after authd/ui/pages.h.
 */
#ifndef YH_TESTS_TPL_FILL_H
#define YH_TESTS_TPL_FILL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TPL_FILL_ITEMS 2
#define TPL_FILL_LISTS 8

struct tpl_fill {
	void *v;                          /* the template's struct (t->size bytes) */
	void *lists[TPL_FILL_LISTS];      /* the lists' item arrays */
	size_t nlists;
};

struct tpl_fill_with {
	const char *text, *url, *raw;
	bool on;
};

static void
tpl_fill_free(struct tpl_fill *f)
{
	free(f->v);
	for (size_t i = 0; i < f->nlists; i++)
		free(f->lists[i]);
	memset(f, 0, sizeof(*f));
}

/* Sets the slot of op o in the struct at base. */
static void
tpl_fill_slot(const struct page_tpl_op *o, char *base, const struct tpl_fill_with *w)
{
	const char *s = NULL, *have;
	int seven = 7;

	switch (o->op) {
	case PAGE_OP_TEXT: case PAGE_OP_PCT: s = w->text; break;
	case PAGE_OP_URL: s = w->url; break;
	case PAGE_OP_RAW: s = w->raw; break;
	case PAGE_OP_INT: memcpy(base + o->a, &seven, sizeof(seven)); return;
	case PAGE_OP_IF: case PAGE_OP_UNLESS:
		if (o->kind == PAGE_SLOT_BOOL)
			memcpy(base + o->a, &w->on, sizeof(w->on));
		else if (o->kind == PAGE_SLOT_INT)
			memcpy(base + o->a, &seven, sizeof(seven));
		else if (o->kind == PAGE_SLOT_STR) {
			memcpy(&have, base + o->a, sizeof(have));
			if (have == NULL)
				s = w->text;
		}
		break;
	default: return;
	}
	if (s != NULL)
		memcpy(base + o->a, &s, sizeof(s));
}

/* Allocates and fills t's values into f; 0, or -1 when out of memory or lists. */
static int
tpl_fill(const struct page_tpl *t, const struct tpl_fill_with *w, struct tpl_fill *f)
{
	char *items = NULL;
	size_t end = 0, size = 0, n = TPL_FILL_ITEMS;

	memset(f, 0, sizeof(*f));
	if ((f->v = calloc(1, t->size)) == NULL)
		return -1;
	for (size_t i = 0; i < t->nops; i++) {
		const struct page_tpl_op *o = &t->ops[i];

		if (i >= end)
			items = NULL;
		if (o->op == PAGE_OP_EACH) {
			if (f->nlists == TPL_FILL_LISTS ||
			    (items = calloc(TPL_FILL_ITEMS, o->size)) == NULL)
				return -1;
			f->lists[f->nlists++] = items;
			memcpy((char *)f->v + o->a, &items, sizeof(items));
			memcpy((char *)f->v + o->b, &n, sizeof(n));
			end = o->end;
			size = o->size;
		} else if (o->item) {
			for (size_t k = 0; items != NULL && k < TPL_FILL_ITEMS; k++)
				tpl_fill_slot(o, items + k * size, w);
		} else if (o->kind != PAGE_SLOT_SIZE) {
			tpl_fill_slot(o, f->v, w);
		}
	}
	return 0;
}

#endif
