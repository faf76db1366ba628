/* Reads the CSV mapping of the system our users come from (see mapping.h): one reader for
 * `template convert` and `generate --map`, so both accept and refuse the same files. */
#include "cli/mapping.h"

#include "cli/cli.h"

/* Reads a yes/no cell: TRUE/FALSE, 1/0, yes/no, x or empty. Returns -1 when unreadable. */
static int cell_bool(const char *s)
{
    bool b;

    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    if (strcasecmp(s, "x") == 0)
        return 1;
    return td_config_parse_bool(s, &b) == 0 ? b : -1;
}

/* A variable name for {{...}}: letters, digits, '_', '.', '-'. */
static bool var_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

/* Returns the cell of column col in row r, "" when the row is short or the column missing. */
static const char *cell(const td_csv_row *r, int col)
{
    return col >= 0 && (size_t)col < r->n ? r->fields[col] : "";
}

/* Reads the mapping into rows (pointing into t), or dies naming the line and column; what it
 * allocated is freed first, so that a leak check sees a clean exit. */
size_t cli_read_mapping(const char *path, td_csv *t, td_docx_mapping_row **rows_out)
{
    static const char *const cols[] = {"Original_Text", "Is_Variable",   "Is_Static",
                                       "Is_discarded",  "Variable_name", "Static_Text"};
    int idx[TD_ARRAY_SIZE(cols)];
    td_docx_mapping_row *rows = NULL;
    td_buf text;
    char err[256], msg[600] = "";
    size_t n = 0;

    memset(t, 0, sizeof *t);
    cli_read_file(path, CLI_MAPPING_MAX_BYTES, "mapping", &text);
    if (td_csv_parse(td_buf_str(&text), text.len, CLI_MAPPING_MAX_ROWS + 1, t, err, sizeof err) !=
        0) {
        snprintf(msg, sizeof msg, "mapping %s: %s", path, err);
        goto out;
    }
    if (t->n == 0) {
        snprintf(msg, sizeof msg, "mapping %s is empty", path);
        goto out;
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(cols); i++) {
        idx[i] = td_csv_column(&t->rows[0], cols[i]);
        if (idx[i] < 0 && i != 5) {
            snprintf(msg, sizeof msg, "mapping %s: no column \"%s\" in the header line", path,
                     cols[i]);
            goto out;
        }
    }
    if (!(rows = calloc(t->n, sizeof *rows))) {
        snprintf(msg, sizeof msg, "out of memory");
        goto out;
    }
    for (size_t i = 1; i < t->n; i++) {
        const td_csv_row *r = &t->rows[i];
        int v = cell_bool(cell(r, idx[1])), s = cell_bool(cell(r, idx[2])),
            d = cell_bool(cell(r, idx[3]));
        const char *orig = cell(r, idx[0]);

        if (v < 0 || s < 0 || d < 0) {
            snprintf(msg, sizeof msg,
                     "mapping %s line %zu: Is_Variable, Is_Static and Is_discarded take TRUE or "
                     "FALSE",
                     path, r->line);
            goto out;
        }
        if (!*orig)
            continue; /* nothing to find */
        if (v + s + d != 1) {
            snprintf(msg, sizeof msg,
                     "mapping %s line %zu: exactly one of Is_Variable, Is_Static, Is_discarded "
                     "must be true for \"%.60s\"",
                     path, r->line, orig);
            goto out;
        }
        rows[n].original_text = orig;
        if (v) {
            const char *name = cell(r, idx[4]);
            if (!var_name_ok(name)) {
                snprintf(msg, sizeof msg,
                         "mapping %s line %zu: Variable_name \"%.60s\" is not a variable name "
                         "(letters, digits, '_', '.', '-')",
                         path, r->line, name);
                goto out;
            }
            rows[n].kind = TD_MAP_VARIABLE;
            rows[n].value = name;
        } else if (s) {
            rows[n].kind = TD_MAP_STATIC;
            rows[n].value = cell(r, idx[5]);
        } else {
            rows[n].kind = TD_MAP_DISCARD;
            rows[n].value = NULL;
        }
        n++;
    }
out:
    td_buf_release(&text);
    if (msg[0]) {
        free(rows);
        td_csv_release(t);
        die("%s", msg);
    }
    *rows_out = rows;
    return n;
}
