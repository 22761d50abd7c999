// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * spec_fuzz.c - libFuzzer target for the job-spec parser.
 *
 * Every input must either load (and then satisfy the spec.h contract) or
 * fail with exactly one one-line error in the FILE:LINE:COL: form; nothing
 * may crash, leak or read out of bounds.
 *
 * Build and run (from the repository root; the good and bad specs make a
 * useful seed corpus):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iruntime \
 *       runtime/spec.c runtime/spec-linux.c runtime/spec-resources.c runtime/spec-pos.c \
 *       runtime/error.c \
 *       tests/fuzz/spec_fuzz.c -ljansson -o build/spec_fuzz
 *   mkdir -p build/spec-corpus
 *   build/spec_fuzz -max_total_time=60 -max_len=4096 build/spec-corpus \
 *       tests/specs/good tests/specs/bad
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;
	int r;

	r = gr_spec_load_string((const char *)data, size, "f.json", &spec, &err);
	if (r < 0) {
		check(!spec && err && err->msg);
		check(strncmp(err->msg, "f.json:", 7) == 0 || r == -ENOMEM);
		check(!strchr(err->msg, '\n'));
		gr_error_free(err);
		return 0;
	}
	/* what the runtime relies on without checking again */
	check(spec->nargs >= 1 && spec->args[0][0] && !spec->args[spec->nargs]);
	check(spec->env && !spec->env[spec->nenv]);
	check(spec->cwd[0] == '/' && spec->root_path[0] == '/');
	check(strncmp(spec->cwd, "/proc", 5) != 0 || (spec->cwd[5] && spec->cwd[5] != '/'));
	for (size_t i = 0; i < spec->nmounts; i++) {
		const struct gr_mount *m = &spec->mounts[i];

		check(m->destination[0] == '/' && strcmp(m->destination, "/") != 0);
		check(!strstr(m->destination, "//") && !strstr(m->destination, "/./") &&
		      !strstr(m->destination, "/../"));
		check((m->type == GR_MOUNT_BIND) == (m->source != NULL));
	}
	check(spec->sandbox == NULL || strchr(spec->sandbox + 1, '/'));
	check(spec->accounting_fd == -1 || spec->accounting_fd >= 3);
	gr_spec_free(spec);
	return 0;
}
