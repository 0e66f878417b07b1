/* support_tmp.h -- temporary directories for tests: made under $TMPDIR (or /tmp), removed with
 * everything in them. Linked into every test binary. */
#ifndef OIGD_SUPPORT_TMP_H
#define OIGD_SUPPORT_TMP_H

#include <stddef.h>

/* Make a new directory $TMPDIR/oigd-TAG-XXXXXX into dir (cap bytes). 0 on success. */
int support_tmpdir(char *dir, size_t cap, const char *tag);
/* Entries of dir (not . and ..) whose name holds part; every entry when part is NULL. */
int support_dir_entries(const char *dir, const char *part);
/* Remove dir and everything below it (symbolic links are not followed). */
void support_rmtree(const char *dir);

#endif
