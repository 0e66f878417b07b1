/* suggest.h -- the known name nearest a misspelt one, so that an error can say "did you mean".
 * Used for the job request's fields and options, `oigd serve`'s flags and the CLI's commands and
 * flags. */
#ifndef OIGD_SUGGEST_H
#define OIGD_SUGGEST_H

#include <stddef.h>

/* The name among names[0..n-1] (NULL entries skipped) that word most likely meant, or NULL when
 * none is near enough. Near means: the same but for case and '-' against '_'; or within an edit
 * distance (insertions, deletions, substitutions and swaps of neighbours) of 1 for words of up
 * to 4 characters, 2 up to 8, 3 beyond; or a word of 4 characters or more is one of the name's
 * '_'- or '-'-separated parts, or one edit from it ("iteration" for "max_iterations"). The smallest distance wins, the earlier name on a tie.
 * Words and names of 64 characters or more are never matched. */
const char *suggest_name(const char *word, const char *const *names, size_t n);

/* Append " (did you mean 'PREFIXNAME'?)" to the NUL-terminated msg of capacity cap when
 * suggest_name finds NAME, as far as it fits; prefix is how the name is written ("--" for a
 * flag, "" for a field). */
void suggest_append(char *msg, size_t cap, const char *word, const char *const *names, size_t n,
                    const char *prefix);

#endif
