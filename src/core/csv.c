/* CSV parsing into rows of strings. Hand-written: a few dozen lines, where a library would add
 * a dependency for two callers (template mappings and batch job lists). */
#include "core/common.h"

#include "core/csv.h"
#include "trackdoc/buf.h"

/* Frees the fields of one row. */
static void row_free(td_csv_row *r)
{
    for (size_t j = 0; j < r->n; j++)
        free(r->fields[j]);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

/* Frees every row. */
void td_csv_release(td_csv *t)
{
    for (size_t i = 0; i < t->n; i++)
        row_free(&t->rows[i]);
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
}

/* Appends the field in f to row; returns 0 or an error code. */
static int add_field(td_csv_row *row, td_buf *f)
{
    char **grown;

    if (row->n == TD_CSV_MAX_FIELDS)
        return TD_ETOOBIG;
    grown = realloc(row->fields, (row->n + 1) * sizeof *grown);
    if (!grown)
        return TD_ENOMEM;
    row->fields = grown;
    row->fields[row->n] = td_buf_detach(f, NULL);
    if (!row->fields[row->n])
        return TD_ENOMEM;
    row->n++;
    td_buf_init(f, TD_CSV_MAX_FIELD);
    return 0;
}

/* Appends row to t unless it is an empty line; row is handed over either way. */
static int add_row(td_csv *t, td_csv_row *row, size_t max_rows)
{
    td_csv_row *grown;

    if (row->n == 1 && row->fields[0][0] == '\0') { /* an empty line */
        row_free(row);
        return 0;
    }
    if (t->n == max_rows) {
        row_free(row);
        return TD_ETOOBIG;
    }
    grown = realloc(t->rows, (t->n + 1) * sizeof *grown);
    if (!grown) {
        row_free(row);
        return TD_ENOMEM;
    }
    t->rows = grown;
    t->rows[t->n++] = *row;
    memset(row, 0, sizeof *row);
    return 0;
}

/* Parses the whole text. */
int td_csv_parse(const char *data, size_t len, size_t max_rows, td_csv *t, char *err, size_t errsz)
{
    td_csv_row row = {0};
    td_buf f;
    size_t i = 0, line = 1, quote_line = 1;
    bool quoted = false, was_quoted = false;
    const char *why = NULL;
    int rc = 0;

    t->rows = NULL;
    t->n = 0;
    td_buf_init(&f, TD_CSV_MAX_FIELD);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    row.line = 1;
    for (; i <= len && rc == 0; i++) {
        char ch = i < len ? data[i] : '\n';
        bool end = i == len;

        if (quoted) {
            if (end) {
                why = "a quoted field is not closed";
                line = quote_line; /* report where the quote opened */
                rc = TD_ESYNTAX;
            } else if (ch == '"' && i + 1 < len && data[i + 1] == '"') {
                rc = td_buf_addc(&f, '"');
                i++;
            } else if (ch == '"') {
                quoted = false;
            } else {
                if (ch == '\n')
                    line++;
                rc = td_buf_addc(&f, ch);
            }
            continue;
        }
        if (ch == '"') {
            if (f.len || was_quoted) {
                why =
                    was_quoted ? "text after a closing quote" : "a quote inside an unquoted field";
                rc = TD_ESYNTAX;
            } else {
                quoted = was_quoted = true;
                quote_line = line;
            }
        } else if (ch == ',') {
            rc = add_field(&row, &f);
            was_quoted = false;
        } else if (ch == '\r' && i + 1 < len && data[i + 1] == '\n') {
            continue;
        } else if (ch == '\n') {
            if (end && row.n == 0 && f.len == 0 && !was_quoted)
                break; /* the file ended with a newline */
            if ((rc = add_field(&row, &f)) == 0)
                rc = add_row(t, &row, max_rows);
            was_quoted = false;
            line++;
            row.line = line;
        } else if (was_quoted) {
            why = "text after a closing quote";
            rc = TD_ESYNTAX;
        } else {
            rc = td_buf_addc(&f, ch);
        }
    }
    if (rc && err && errsz)
        snprintf(err, errsz, "line %zu: %s", line,
                 why                ? why
                 : rc == TD_ETOOBIG ? "too many rows or fields, or a field over 64 KiB"
                                    : td_strerror(rc));
    if (rc) {
        row_free(&row);
        td_csv_release(t);
    }
    td_buf_release(&f);
    return rc;
}

/* Finds a column by name. */
int td_csv_column(const td_csv_row *row, const char *name)
{
    size_t nl;

    while (isspace((unsigned char)*name))
        name++;
    nl = strlen(name);
    while (nl && isspace((unsigned char)name[nl - 1]))
        nl--;

    for (size_t i = 0; i < row->n; i++) {
        const char *s = row->fields[i];
        size_t n = strlen(s);
        while (n && isspace((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == nl && strncasecmp(s, name, n) == 0)
            return (int)i;
    }
    return -1;
}
