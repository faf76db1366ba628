/* trackdoc template convert|check: turn a finished .docx into a template with the CSV mapping
 * of the system our users come from; check an untrusted .docx. */
#include "cli/cli.h"

#include "cli/mapping.h"
#include "core/csv.h"
#include "trackdoc/docx.h"

static const char usage[] =
    "usage: trackdoc template <subcommand> [options]\n"
    "\n"
    "  convert DOC.docx --map MAPPING.csv -o TEMPLATE.docx [--json]\n"
    "      replaces text of a finished document by {{variables}}, static text or nothing, as\n"
    "      the mapping says; the text may span runs, the formatting where it starts is kept\n"
    "  check DOC.docx [--json]\n"
    "      checks a .docx against the safety rules and limits (zip bombs, macros, remote\n"
    "      templates, DTDs) without rendering it\n"
    "\n"
    "The mapping is a CSV file with the columns Original_Text, Is_Variable, Is_Static,\n"
    "Is_discarded, Variable_name, Variable intention, Static_Text (one of the three Is_ columns\n"
    "true per row: TRUE/FALSE, 1/0, yes/no or x).\n";

static const struct option options[] = {
    {"map", required_argument, NULL, 'm'},
    {"output", required_argument, NULL, 'o'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

#define DOCX_MAX ((size_t)20 << 20)
/* template convert */
static int convert(const char *doc, const char *map, const char *output, bool json)
{
    td_buf in, out;
    td_csv t;
    td_docx_mapping_row *rows = NULL;
    size_t n, *found, unmatched = 0;
    json_t *report = NULL;
    int rc;

    n = cli_read_mapping(map, &t, &rows);
    cli_read_file(doc, DOCX_MAX, "document", &in);
    found = calloc(n ? n : 1, sizeof *found);
    if (!found)
        die("out of memory");
    td_buf_init(&out, (size_t)256 << 20);
    rc = td_docx_convert(in.data, in.len, rows, n, NULL, &out, found);
    if (rc) {
        char why[512] = "";
        /* td_docx_check says which part and rule; free everything before exiting. */
        if (rc == TD_EDOCX || rc == TD_EUNSAFE)
            td_docx_check(in.data, in.len, NULL, why, sizeof why);
        free(found);
        free(rows);
        td_csv_release(&t);
        td_buf_release(&in);
        td_buf_release(&out);
        die("%s: %s", doc, *why ? why : td_strerror(rc));
    }
    cli_write_file(output, &out);
    if (json && !(report = json_array()))
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        unmatched += found[i] == 0;
        if (json)
            json_array_append_new(report,
                                  json_pack("{s:s, s:s, s:s?, s:I}", "original_text",
                                            rows[i].original_text, "kind",
                                            rows[i].kind == TD_MAP_VARIABLE ? "variable"
                                            : rows[i].kind == TD_MAP_STATIC ? "static"
                                                                            : "discard",
                                            "value", rows[i].value, "found", (json_int_t)found[i]));
        else if (found[i] == 0)
            warn("not found in %s: \"%.80s\"", doc, rows[i].original_text);
    }
    if (json && strcmp(output, "-") == 0) {
        /* The document is on standard output: the report goes to standard error. */
        json_t *r = json_pack("{s:s, s:I, s:I, s:o}", "output", output, "rows", (json_int_t)n,
                              "rows_not_found", (json_int_t)unmatched, "mapping", report);
        json_dumpf(r, stderr, JSON_INDENT(2));
        fputc('\n', stderr);
        json_decref(r);
    } else if (json) {
        cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "output", output, "rows", (json_int_t)n,
                                 "rows_not_found", (json_int_t)unmatched, "mapping", report));
    } else {
        fprintf(strcmp(output, "-") == 0 ? stderr : stdout, "%s: %zu of %zu mapping rows applied\n",
                output, n - unmatched, n);
    }
    free(found);
    free(rows);
    td_csv_release(&t);
    td_buf_release(&in);
    td_buf_release(&out);
    return 0;
}

/* template check */
static int check(const char *doc, bool json)
{
    td_buf in;
    char why[512] = "";
    int rc;

    cli_read_file(doc, DOCX_MAX, "document", &in);
    rc = td_docx_check(in.data, in.len, NULL, why, sizeof why);
    td_buf_release(&in);
    if (json) {
        cli_print_json(json_pack("{s:s, s:b, s:s?, s:s?}", "file", doc, "valid", rc == 0, "code",
                                 rc ? td_errcode(rc) : NULL, "reason", rc ? why : NULL));
        return rc ? 1 : 0;
    }
    if (rc)
        die("%s: %s", doc, why);
    printf("%s: a valid .docx within the limits, nothing unsafe found\n", doc);
    return 0;
}

/* Dispatches template subcommands. */
int cmd_template(int argc, char **argv)
{
    const char *sub, *map = NULL, *output = NULL, *doc = NULL;
    bool json = false;
    char cmd[32];
    int opt;

    if (argc < 2)
        usage_error("template", "give a subcommand: convert or check");
    sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        cli_help(usage);
    if (strcmp(sub, "convert") != 0 && strcmp(sub, "check") != 0)
        usage_error("template", "unknown subcommand '%s'", sub);
    snprintf(cmd, sizeof cmd, "template %s", sub);
    argc--;
    argv++;
    while ((opt = cli_getopt(cmd, argc, argv, "m:o:h", options)) != -1) {
        switch (opt) {
        case 'm':
            map = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        doc = argv[optind++];
    if (optind < argc)
        usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!doc)
        usage_error(cmd, "give the .docx file");
    if (strcmp(sub, "check") == 0) {
        if (map || output)
            usage_error(cmd, "--map and -o do not apply to template check");
        return check(doc, json);
    }
    if (!map)
        usage_error(cmd, "--map MAPPING.csv is required");
    if (!output)
        usage_error(cmd, "-o TEMPLATE.docx is required");
    if (strcmp(output, doc) == 0)
        usage_error(cmd, "-o must not be the input document");
    return convert(doc, map, output, json);
}
