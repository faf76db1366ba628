/* trackdoc apikey create|list|revoke */
#include "cli/cli.h"

#include "core/time.h"
#include "trackdoc/apikey.h"
#include "trackdoc/report.h"

static const char usage[] =
    "usage: trackdoc apikey <subcommand> [options]\n"
    "\n"
    "  create --name NAME [--json]   makes a key for Authorization: Bearer <key>; the key is\n"
    "                                shown once and only its hash is stored\n"
    "  list [--all] [--json]         active keys (--all: revoked ones too)\n"
    "  revoke REF                    revokes the key whose id, name or prefix is REF\n"
    "\n"
    "Every subcommand takes --db URL (TRACKDOC_DB).\n";

enum { O_NAME = 256, O_JSON, O_ALL, O_DB };

static const struct option options[] = {
    {"name", required_argument, NULL, O_NAME}, {"json", no_argument, NULL, O_JSON},
    {"all", no_argument, NULL, O_ALL},         {"db", required_argument, NULL, O_DB},
    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
};

/* Prints or collects one key. */
static int list_one(void *ud, const td_apikey_row *k)
{
    json_t *arr = ud;
    char created[TD_TIME_ISO_SIZE], used[TD_TIME_ISO_SIZE] = "-";

    if (arr) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "key_id", k->key_id, "name", k->name,
                              "prefix", k->prefix, "active", k->revoked_at == 0);
        if (!o)
            return TD_ENOMEM;
        td_json_set_time(o, "created_at", k->created_at);
        td_json_set_time(o, "last_used_at", k->last_used_at);
        td_json_set_time(o, "revoked_at", k->revoked_at);
        return json_array_append_new(arr, o) ? TD_ENOMEM : 0;
    }
    td_time_format(k->created_at, created);
    if (k->last_used_at)
        td_time_format(k->last_used_at, used);
    printf("%-36s %-12s %-24s %-24s %s%s\n", k->key_id, k->prefix, created, used, k->name,
           k->revoked_at ? " (revoked)" : "");
    return 0;
}

/* Dispatches apikey subcommands. */
int cmd_apikey(int argc, char **argv)
{
    const char *sub, *name = NULL, *ref = NULL;
    bool json = false, all = false;
    char cmd[32], key[TD_APIKEY_SIZE];
    td_apikey_row row;
    td_config c;
    td_store *st;
    int opt, rc;

    if (argc < 2)
        usage_error("apikey", "give a subcommand: create, list or revoke");
    sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        cli_help(usage);
    snprintf(cmd, sizeof cmd, "apikey %s", sub);
    cli_config_load(cmd, &c);
    argc--;
    argv++;
    while ((opt = cli_getopt(cmd, argc, argv, "h", options)) != -1) {
        switch (opt) {
        case O_NAME:
            name = optarg;
            break;
        case O_JSON:
            json = true;
            break;
        case O_ALL:
            all = true;
            break;
        case O_DB:
            cli_set_db(cmd, &c, optarg);
            break;
        case 'h':
            cli_help(usage);
        }
    }
    if (optind < argc)
        ref = argv[optind++];
    if (optind < argc)
        usage_error(cmd, "unexpected argument '%s'", argv[optind]);

    if (strcmp(sub, "create") == 0) {
        if (!name || !*name)
            usage_error(cmd, "--name is required (a label such as 'laptop' or 'ci')");
        if (ref)
            usage_error(cmd, "unexpected argument '%s'", ref);
        st = cli_store_open(cmd, &c, CLI_DB_MIGRATED);
        rc = td_apikey_create(st, name, key, &row);
        if (rc == TD_EINVAL)
            usage_error(cmd, "--name \"%s\": use 1 to 128 printable characters", name);
        if (rc == TD_ECONFLICT)
            die("an active API key is already named \"%s\" (revoke it or pick another name)", name);
        if (rc)
            die("cannot create the API key: %s", td_store_errmsg(st));
        if (json) {
            cli_print_json(
                json_pack("{s:s, s:s, s:s}", "name", row.name, "key", key, "key_id", row.key_id));
        } else {
            printf("API key \"%s\" created. It is shown only now; keep it somewhere safe:\n\n"
                   "  %s\n\nUse it as: Authorization: Bearer %s\n",
                   row.name, key, key);
        }
        memset(key, 0, sizeof key);
    } else if (strcmp(sub, "list") == 0) {
        json_t *arr = NULL;
        if (ref)
            usage_error(cmd, "unexpected argument '%s'", ref);
        st = cli_store_open(cmd, &c, CLI_DB_MIGRATED);
        if (json && !(arr = json_array()))
            die("out of memory");
        if (!json)
            printf("%-36s %-12s %-24s %-24s %s\n", "KEY_ID", "PREFIX", "CREATED", "LAST_USED",
                   "NAME");
        rc = td_store_apikey_list(st, all, list_one, arr);
        if (rc)
            die("cannot list API keys: %s", td_store_errmsg(st));
        if (json)
            cli_print_json(arr);
    } else if (strcmp(sub, "revoke") == 0) {
        if (!ref)
            usage_error(cmd, "give the key id, name or prefix to revoke");
        st = cli_store_open(cmd, &c, CLI_DB_MIGRATED);
        rc = td_store_apikey_revoke(st, ref, td_time_now_ms());
        if (rc)
            die("%s", rc == TD_EDB ? td_store_errmsg(st) : td_store_errmsg(st));
        printf("revoked %s\n", ref);
    } else {
        usage_error("apikey", "unknown subcommand '%s'", sub);
    }
    td_store_close(st);
    return 0;
}
