// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * classad_fuzz.c - libFuzzer target for the old ClassAd parser
 * (condor/classad.h).
 *
 * Every input must either parse (and then satisfy the contract: identifier
 * names, unique in any case and each found by a lookup in another case,
 * trimmed non-empty values, decoded strings) or fail with exactly one
 * one-line "FILE:LINE: ..." error; nothing may crash, leak or read out of
 * bounds. `make fuzz` builds it (clang) and tests/classad_fuzz.t runs it for
 * a bounded time from the seeds in tests/fuzz/classad-seeds/.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gr_classad *ad = NULL;
	struct gr_error *err = NULL;
	int r;

	r = gr_classad_parse((const char *)data, size, "f.ad", &ad, &err);
	if (r < 0) {
		check(!ad && err && err->msg);
		check(strncmp(err->msg, "f.ad:", 5) == 0 || r == -ENOMEM);
		check(!strchr(err->msg, '\n'));
		gr_error_free(err);
		return 0;
	}
	check(ad && !err);
	for (size_t i = 0; i < ad->nattrs; i++) {
		const struct gr_ca_attr *a = &ad->attrs[i];
		char upper[256];
		size_t n = strlen(a->name), t = strlen(a->text);

		check(n > 0 && (isalpha((unsigned char)a->name[0]) || a->name[0] == '_'));
		for (size_t j = 0; j < n; j++)
			check(isalnum((unsigned char)a->name[j]) || a->name[j] == '_');
		check(t > 0 && !isspace((unsigned char)a->text[0]) && !isspace((unsigned char)a->text[t - 1]));
		check((a->type == GR_CA_STRING) == (a->str != NULL));
		check(a->type != GR_CA_STRING || strlen(a->str) < t);
		if (n < sizeof(upper)) {
			for (size_t j = 0; j <= n; j++)
				upper[j] = (char)toupper((unsigned char)a->name[j]);
			check(gr_classad_get(ad, upper) == a);
		}
	}
	gr_classad_free(ad);
	return 0;
}
