/* The CSV mapping of the system our users come from: which text of a finished .docx becomes a
 * {{variable}}, static text or nothing. Read by `template convert` and `generate --map`. */
#ifndef TD_CLI_MAPPING_H
#define TD_CLI_MAPPING_H

#include <stddef.h>

#include "core/csv.h"
#include "trackdoc/docx.h"

/* The most rows a mapping may hold, and its largest size in bytes. */
#define CLI_MAPPING_MAX_ROWS 10000
#define CLI_MAPPING_MAX_BYTES ((size_t)8 << 20)

/* Reads the mapping CSV at path (columns Original_Text, Is_Variable, Is_Static, Is_discarded,
 * Variable_name, Static_Text) into *rows_out, whose strings point into t; rows with an empty
 * Original_Text are skipped. Returns how many rows *rows_out holds. The caller frees *rows_out
 * with free() and t with td_csv_release(). A file that cannot be read or a bad row exits 1
 * naming the file, the line and the column. */
size_t cli_read_mapping(const char *path, td_csv *t, td_docx_mapping_row **rows_out);

#endif
