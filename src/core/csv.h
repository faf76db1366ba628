/* CSV reading (RFC 4180, as spreadsheets write it): quoted fields with doubled quotes, commas
 * and newlines inside quotes, CRLF or LF, a UTF-8 byte order mark. Bounded in rows, fields and
 * bytes per field. */
#ifndef TD_CORE_CSV_H
#define TD_CORE_CSV_H

#include <stddef.h>

typedef struct td_csv_row {
    char **fields; /* NUL-terminated, owned by the table */
    size_t n;
    size_t line; /* line of the file where the row starts, from 1 */
} td_csv_row;

typedef struct td_csv {
    td_csv_row *rows;
    size_t n;
} td_csv;

#define TD_CSV_MAX_FIELDS 256
#define TD_CSV_MAX_FIELD ((size_t)64 * 1024)

/* Parses data into t (empty lines skipped). On failure err (errsz bytes) names the line:
 * an unclosed quote, a quote inside an unquoted field, text after a closing quote, more than
 * max_rows rows or TD_CSV_MAX_FIELDS fields, a field over TD_CSV_MAX_FIELD bytes.
 * Returns 0, TD_ESYNTAX, TD_ETOOBIG or TD_ENOMEM. Free with td_csv_release. */
int td_csv_parse(const char *data, size_t len, size_t max_rows, td_csv *t, char *err, size_t errsz);

/* Frees the rows of t. */
void td_csv_release(td_csv *t);

/* Returns the index of the column named name in row (compared ignoring case and blanks around
 * it; blanks around name too), or -1. */
int td_csv_column(const td_csv_row *row, const char *name);

#endif
