/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * classad_test - the old ClassAd text parser (condor/classad.h) on ads as
 * the starter writes them (fPrintAd: sorted, old-syntax quoting) and on
 * every malformed form the contract names.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classad.h"
#include "util.h"
#include "kselftest_harness.h"
#include "gt.h"

/* A trimmed .job.ad of a vanilla job, as condor_starter 25.x writes it. */
static const char job_ad[] =
	"AccountingGroup = \"group_atlas.prod\"\n"
	"Args = \"-n 3 \\\"quoted arg\\\"\"\n"
	"ClusterId = 1234\n"
	"Cmd = \"/home/atlas001/job.sh\"\n"
	"CumulativeSlotTime = 0.0\n"
	"DiskUsage = 22\n"
	"Environment = \"\"\n"
	"ExitBySignal = false\n"
	"ImageSize = 1.5E+20\n"
	"Iwd = \"C:\\dir\\x\"\n"
	"JobPrio = -3\n"
	"KillSig = \"SIGTERM\"\n"
	"LastMatchTime = undefined\n"
	"MemoryUsage = ((ResidentSetSize + 1023) / 1024)\n"
	"Owner = \"atlas001\"\n"
	"ProcId = 0\n"
	"Rank = real(\"NaN\")\n"
	"RequestCpus = 2\n"
	"RequestMemory = 2048.0\n"
	"Requirements = (TARGET.Arch == \"X86_64\") && (TARGET.OpSys =?= \"LINUX\")\n"
	"TransferIn = FALSE\n"
	"WantCheckpointSignal = true\n"
	"WhenToTransferOutput = error\n"
	"x509userproxysubject = \"/DC=ch/DC=cern/CN=Alice\"\n"
	"x509UserProxyVOName = \"atlas\"\n";

TEST(parses_an_ad_as_the_starter_writes_it)
{
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const struct gr_ca_attr *a;
	const char *s;
	long long i;

	ASSERT_EQ(0, gr_classad_parse(job_ad, strlen(job_ad), ".job.ad", &ad, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(25, ad->nattrs);

	ASSERT_EQ(0, gr_classad_string(ad, "Owner", &s, &err));
	ASSERT_STREQ("atlas001", s);
	/* \" is a quote; every other backslash is literal (old lexer) */
	ASSERT_EQ(0, gr_classad_string(ad, "Args", &s, &err));
	ASSERT_STREQ("-n 3 \"quoted arg\"", s);
	ASSERT_EQ(0, gr_classad_string(ad, "Iwd", &s, &err));
	ASSERT_STREQ("C:\\dir\\x", s);
	ASSERT_EQ(0, gr_classad_string(ad, "Environment", &s, &err));
	ASSERT_STREQ("", s);

	ASSERT_EQ(0, gr_classad_int(ad, "ClusterId", &i, &err));
	ASSERT_EQ(1234, i);
	ASSERT_EQ(0, gr_classad_int(ad, "JobPrio", &i, &err));
	ASSERT_EQ(-3, i);
	/* an integral real is an integer to gr_classad_int */
	ASSERT_EQ(0, gr_classad_int(ad, "RequestMemory", &i, &err));
	ASSERT_EQ(2048, i);

	a = gr_classad_get(ad, "ImageSize");
	ASSERT_NE(NULL, a);
	ASSERT_EQ(GR_CA_REAL, a->type);
	ASSERT_TRUE(a->d == 1.5e20);
	a = gr_classad_get(ad, "Rank");
	ASSERT_EQ(GR_CA_REAL, a->type);
	ASSERT_TRUE(isnan(a->d));
	a = gr_classad_get(ad, "CumulativeSlotTime");
	ASSERT_EQ(GR_CA_REAL, a->type);

	a = gr_classad_get(ad, "ExitBySignal");
	ASSERT_EQ(GR_CA_BOOL, a->type);
	ASSERT_FALSE(a->b);
	a = gr_classad_get(ad, "TransferIn");
	ASSERT_EQ(GR_CA_BOOL, a->type);
	ASSERT_FALSE(a->b);
	a = gr_classad_get(ad, "WantCheckpointSignal");
	ASSERT_TRUE(a->b);
	ASSERT_EQ(GR_CA_UNDEFINED, gr_classad_get(ad, "LastMatchTime")->type);
	ASSERT_EQ(GR_CA_ERROR, gr_classad_get(ad, "WhenToTransferOutput")->type);

	/* expressions are kept as written */
	a = gr_classad_get(ad, "Requirements");
	ASSERT_EQ(GR_CA_EXPR, a->type);
	ASSERT_STREQ("(TARGET.Arch == \"X86_64\") && (TARGET.OpSys =?= \"LINUX\")", a->text);
	ASSERT_EQ(20, a->line);
	ASSERT_EQ(GR_CA_EXPR, gr_classad_get(ad, "MemoryUsage")->type);
}

TEST(names_are_case_insensitive)
{
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *s;
	long long i;

	ASSERT_EQ(0, gr_classad_parse(job_ad, strlen(job_ad), ".job.ad", &ad, &err));
	ASSERT_EQ(0, gr_classad_string(ad, "X509UserProxySubject", &s, &err));
	ASSERT_STREQ("/DC=ch/DC=cern/CN=Alice", s);
	ASSERT_EQ(0, gr_classad_string(ad, "X509USERPROXYVONAME", &s, &err));
	ASSERT_STREQ("atlas", s);
	ASSERT_EQ(0, gr_classad_int(ad, "clusterid", &i, &err));
	ASSERT_EQ(1234, i);
	ASSERT_EQ(0, gr_classad_int(ad, "PROCID", &i, &err));
	ASSERT_EQ(0, i);
}

TEST(missing_undefined_and_mistyped_lookups)
{
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *s = "unchanged";
	long long i = 7;

	ASSERT_EQ(0, gr_classad_parse(job_ad, strlen(job_ad), ".job.ad", &ad, &err));
	ASSERT_EQ(-ENOENT, gr_classad_string(ad, "NoSuchAttr", &s, &err));
	ASSERT_EQ(-ENOENT, gr_classad_int(ad, "LastMatchTime", &i, &err));
	ASSERT_EQ(NULL, err);
	ASSERT_STREQ("unchanged", s);
	ASSERT_EQ(7, i);

	ASSERT_EQ(-EINVAL, gr_classad_int(ad, "Owner", &i, &err));
	ASSERT_STREQ(".job.ad:15: Owner: expected an integer, found a string `\"atlas001\"`", err->msg);
	gr_error_free(TAKE_PTR(err));
	ASSERT_EQ(-EINVAL, gr_classad_string(ad, "RequestCpus", &s, &err));
	ASSERT_STREQ(".job.ad:18: RequestCpus: expected a string, found an integer `2`", err->msg);
	gr_error_free(TAKE_PTR(err));
	ASSERT_EQ(-EINVAL, gr_classad_int(ad, "ImageSize", &i, &err));
	gr_error_free(TAKE_PTR(err));
	ASSERT_EQ(-EINVAL, gr_classad_int(ad, "MemoryUsage", &i, &err));
	ASSERT_NE(NULL, strstr(err->msg, "found an expression"));
}

TEST(a_quoted_newline_continues_the_string)
{
	/* the old-syntax unparser writes a newline inside a string raw */
	static const char ad_text[] = "A = \"line one\nline two\"\nB = 2\n";
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *s;

	ASSERT_EQ(0, gr_classad_parse(ad_text, strlen(ad_text), "m.ad", &ad, &err));
	ASSERT_EQ(2, ad->nattrs);
	ASSERT_EQ(0, gr_classad_string(ad, "a", &s, &err));
	ASSERT_STREQ("line one\nline two", s);
	ASSERT_EQ(3, gr_classad_get(ad, "B")->line);
}

TEST(blank_lines_crlf_and_spacing_are_tolerated)
{
	static const char ad_text[] = "\nA=1\r\n\n  B   =   \"x\"  \r\n\t\nC = true";
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *s;

	ASSERT_EQ(0, gr_classad_parse(ad_text, strlen(ad_text), "m.ad", &ad, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(3, ad->nattrs);
	ASSERT_EQ(0, gr_classad_string(ad, "B", &s, &err));
	ASSERT_STREQ("x", s);
	ASSERT_EQ(4, gr_classad_get(ad, "B")->line);
	ASSERT_TRUE(gr_classad_get(ad, "C")->b);
}

TEST(an_expression_that_starts_with_a_string_is_an_expression)
{
	static const char ad_text[] = "A = \"x\" + \"y\"\nB = {\"a\", \"b\"}\nC = [ a = 1; b = 2 ]\n";
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_classad_parse(ad_text, strlen(ad_text), "m.ad", &ad, &err));
	ASSERT_EQ(GR_CA_EXPR, gr_classad_get(ad, "A")->type);
	ASSERT_STREQ("\"x\" + \"y\"", gr_classad_get(ad, "A")->text);
	ASSERT_EQ(GR_CA_EXPR, gr_classad_get(ad, "B")->type);
	ASSERT_EQ(GR_CA_EXPR, gr_classad_get(ad, "C")->type);
	ASSERT_STREQ("[ a = 1; b = 2 ]", gr_classad_get(ad, "C")->text);
}

static void expect_bad(struct __test_metadata *_metadata, const char *text, size_t len, const char *msg)
{
	struct gr_classad *ad = (struct gr_classad *)1;
	struct gr_error *err = NULL;

	ASSERT_GT(0, gr_classad_parse(text, len, "bad.ad", &ad, &err)) TH_LOG("accepted: %s", text);
	ASSERT_EQ(NULL, ad);
	ASSERT_NE(NULL, err);
	ASSERT_STREQ(msg, err->msg);
	ASSERT_EQ(NULL, strchr(err->msg, '\n'));
	gr_error_free(err);
}
#define BAD(text, msg) expect_bad(_metadata, text, sizeof(text) - 1, msg)

TEST(malformed_ads_get_one_line_naming_the_place)
{
	BAD("A = 1\nno equals sign\n", "bad.ad:2: no: expected `Name = value`");
	BAD("A = 1\nB == 2\n", "bad.ad:2: B: expected `Name = value`");
	BAD("= 3\n", "bad.ad:1: expected an attribute name");
	BAD("9A = 3\n", "bad.ad:1: expected an attribute name");
	BAD("A-B = 3\n", "bad.ad:1: A: expected `Name = value`");
	BAD("A = 1\nB =   \nC = 2\n", "bad.ad:2: B: empty value");
	BAD("A = \"open\nB = 2\n", "bad.ad:1: A: unterminated string");
	BAD("A = \"ends in an escaped quote\\\"\n", "bad.ad:1: A: unterminated string");
	BAD("A = 1\nB = 99999999999999999999\n", "bad.ad:2: B: integer 99999999999999999999 does not fit in 64 bits");
	BAD("Owner = \"a\"\nB = 1\nowner = \"b\"\n", "bad.ad:3: owner: duplicate attribute (also on line 1)");
	BAD("A = 1\nB = \"x\0y\"\n", "bad.ad:2: NUL byte in the ad");
}

TEST(an_empty_ad_is_empty)
{
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_classad_parse("\n\n", 2, "e.ad", &ad, &err));
	ASSERT_EQ(0, ad->nattrs);
	ASSERT_EQ(NULL, gr_classad_get(ad, "Owner"));
}

TEST(load_reads_a_file_and_names_it)
{
	_cleanup_gr_classad_ struct gr_classad *ad = NULL;
	_cleanup_gr_error_ struct gr_error *err = NULL;
	char *dir = gt_tmpdir(), *path = gt_write(dir, ".machine.ad", "Cpus = 4\nMemory = 8192\nName = \"slot1@wn\"\n");
	char *missing;
	long long i;

	ASSERT_EQ(0, gr_classad_load(path, NULL, &ad, &err));
	ASSERT_EQ(0, gr_classad_int(ad, "memory", &i, &err));
	ASSERT_EQ(8192, i);
	gr_classad_free(TAKE_PTR(ad));
	free(gt_write(dir, "bad.ad", "Cpus = 4\nMemory\n"));
	ASSERT_LE(0, asprintf(&missing, "%s/bad.ad", dir));
	ASSERT_EQ(-EINVAL, gr_classad_load(missing, ".machine.ad", &ad, &err));
	ASSERT_STREQ(".machine.ad:2: Memory: expected `Name = value`", err->msg);
	gr_error_free(TAKE_PTR(err));
	free(missing);
	ASSERT_LE(0, asprintf(&missing, "%s/nope.ad", dir));
	ASSERT_EQ(-ENOENT, gr_classad_load(missing, NULL, &ad, &err));
	ASSERT_NE(NULL, strstr(err->msg, "No such file"));
	free(missing);
	free(path);
	gt_rm_rf(dir);
	free(dir);
}

TEST_HARNESS_MAIN
