/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vis.h - tarn-top's escaping of what a process sends, for a terminal.
 */
#ifndef TARN_TOP_VIS_H
#define TARN_TOP_VIS_H

#include <stddef.h>

/*
 * Copy the string `s` into out[0..size) for a terminal: printable ASCII and
 * valid UTF-8 of printable code points (U+00A0 and up, no surrogates) as
 * they are; every other byte (C0 controls such as ESC and newline, DEL, the
 * C1 controls U+0080-U+009F, bytes that are not UTF-8) as \xHH, and '\' as
 * "\\", so that what a process sends can neither move the cursor, retitle
 * or clear the terminal, nor pass for a line of tarn-top's own. The text is
 * cut between two escapes (or characters) to fit; `size` 0 writes nothing.
 * Returns `out`.
 */
const char *vis(char *out, size_t size, const char *s);

#endif
