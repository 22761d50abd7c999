/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mountinfo_test - gr_mountinfo_next() (fsstat.h), the one reader of
 * mountinfo lines that fsstat.c and the namespace scan (lease-userns.c)
 * share: every field of a line in proc(5)'s shape, with optional fields,
 * escaped blanks and a mount point that spells " - " escaped; lines that
 * are not in that shape skipped, not misread; the last line without its
 * newline; and this process's own mountinfo, whose "/" line it must find.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsstat.h"
#include "util.h"
#include "kselftest_harness.h"

static bool field_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(p, want, n);
}

TEST(every_field_of_a_line_with_optional_fields_and_escapes)
{
	const char *text =
		"36 35 98:0 /mnt1 /mnt\\040with\\040blanks rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
		"37 36 0:55 / /tmp/a\\040-\\040b rw - fuse.sshfs host: rw,user_id=0\n"
		"38 36 0:4 user:[4026531837] /run/ns rw - nsfs nsfs rw";
	struct gr_mountinfo_line l;
	const char *pos = text;

	ASSERT_EQ(1, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(36ull, l.id);
	EXPECT_EQ(98u, l.major);
	EXPECT_EQ(0u, l.minor);
	EXPECT_TRUE(field_is(l.root, l.root_len, "/mnt1"));
	EXPECT_TRUE(field_is(l.point, l.point_len, "/mnt\\040with\\040blanks"));
	EXPECT_STREQ("ext3", l.type);

	/* " - " escaped in the mount point is not the separator */
	ASSERT_EQ(1, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(37ull, l.id);
	EXPECT_TRUE(field_is(l.point, l.point_len, "/tmp/a\\040-\\040b"));
	EXPECT_STREQ("fuse.sshfs", l.type);
	EXPECT_TRUE(gr_fs_type_fuse(l.type));

	/* the last line, without its newline */
	ASSERT_EQ(1, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(38ull, l.id);
	EXPECT_EQ(0u, l.major);
	EXPECT_EQ(4u, l.minor);
	EXPECT_TRUE(field_is(l.root, l.root_len, "user:[4026531837]"));
	EXPECT_STREQ("nsfs", l.type);
	EXPECT_FALSE(gr_fs_type_fuse(l.type));
	EXPECT_EQ(0, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(0, gr_mountinfo_next(&pos, &l));
}

TEST(lines_not_in_the_shape_are_skipped_not_misread)
{
	const char *text =
		"\n"
		"garbage\n"
		"40 1 8:1 / /no-separator rw shared:1 ext4 /dev/sda1 rw\n"   /* no " - " */
		"41 1 8:1 /\n"                                               /* too few fields */
		"x 1 8:1 / /bad-id rw - ext4 /dev/sda1 rw\n"
		"43 1 eight:one / /bad-dev rw - ext4 /dev/sda1 rw\n"
		"44 1 8:1 / /a rw\n- ext4 /dev/sda1 rw\n"                    /* separator on the next line */
		"45 1 8:2 / /good rw - xfs /dev/sda2 rw\n";
	struct gr_mountinfo_line l;
	const char *pos = text;

	ASSERT_EQ(1, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(45ull, l.id);
	EXPECT_TRUE(field_is(l.point, l.point_len, "/good"));
	EXPECT_STREQ("xfs", l.type);
	EXPECT_EQ(0, gr_mountinfo_next(&pos, &l));
}

TEST(a_long_type_is_cut_not_overrun)
{
	char text[256];
	struct gr_mountinfo_line l;
	const char *pos = text;

	snprintf(text, sizeof(text), "50 1 0:60 / /x rw - fuse.%0100d src rw\n", 7);
	ASSERT_EQ(1, gr_mountinfo_next(&pos, &l));
	EXPECT_EQ(sizeof(l.type) - 1, strlen(l.type));
	EXPECT_TRUE(gr_fs_type_fuse(l.type));
}

TEST(our_own_mountinfo_has_the_root_s_mount)
{
	_cleanup_free_ char *text = NULL;
	struct gr_mountinfo_line l;
	struct gr_fs_here h;
	const char *pos;
	unsigned long long root_mnt;
	struct stat st;
	bool found = false;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gr_fs_mnt_id(fd, &root_mnt));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &text, NULL, NULL));
	for (pos = text; gr_mountinfo_next(&pos, &l);)
		if (l.id == root_mnt) {
			found = true;
			EXPECT_TRUE(field_is(l.point, l.point_len, "/"));
			EXPECT_EQ(major(st.st_dev), l.major);
			EXPECT_EQ(minor(st.st_dev), l.minor);
			ASSERT_EQ(0, gr_fs_here_in(fd, text, &h));
			EXPECT_STREQ(l.type, h.type);
		}
	EXPECT_TRUE(found);
	close(fd);
}

TEST_HARNESS_MAIN
