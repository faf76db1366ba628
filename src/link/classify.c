/* Click truth: classifies a click as human, bot, preview or scanner from its user agent (the
 * lists compiled in from data/) and the signals of its request (docs/classification.md).
 *
 * Speed: this runs on every redirect. The ~1550 patterns are not tried one by one: each one
 * yields the literal text every match must contain (per top-level alternative), and one
 * Aho-Corasick automaton over those literals, lower-cased, reads the user agent once and names
 * the few patterns worth trying. Those (and the few patterns without a literal) run with PCRE2's
 * JIT in list order (scanner, preview, bot), and the first that matches gives the reason. */
#include "core/common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <pthread.h>

#include "core/data.h"
#include "link/classify_int.h"
#include "trackdoc/classify.h"

#define DEFAULT_BURST_WINDOW_MS 2000L
#define DEFAULT_TOO_SOON_MS 5000L
#define MAX_BURST_WINDOW_MS 3600000L /* an hour: longer would join unrelated clicks */
#define MAX_TOO_SOON_MS 86400000L    /* a day */
#define UA_MAX 2048                  /* bytes of a user agent that are judged */
#define MAX_PATTERNS 8192            /* the candidate bitmap lives on the stack */
#define BITMAP_WORDS (MAX_PATTERNS / 64)
#define LIT_MAX 64         /* longest literal kept per alternative */
#define MAX_ALTS 64        /* top-level alternatives of one pattern that get a literal */
#define MATCH_LIMIT 100000 /* backtracking bound per pattern and user agent */
#define NO_STATE UINT32_MAX
#define HIT 0x80000000u /* in a transition: some literal ends at the target state */

/* The data files, as tools/embed.c names them. */
#define FILE_DATASET "crawler-user-agents/crawler-user-agents.json"
#define FILE_EXCLUSIONS "ua-exclusions.txt"
#define FILE_SCANNERS "ua-scanners.txt"
#define FILE_PREVIEWS "ua-previews.txt"
#define FILE_BOTS "ua-bots-extra.txt"
#define DATASET_PREVIEW_TAG "social-preview"

struct ua_pattern {
    pcre2_code *re;
    td_click_class cls;
    char reason[TD_CLASS_REASON_SIZE]; /* "ua:<name or pattern>" */
};

/* One required literal of one pattern, while the automaton is built. */
struct literal {
    uint32_t pattern;
    uint32_t len;
    unsigned char text[LIT_MAX];
};

struct td_classifier {
    long burst_window_ms; /* 0 when off */
    long too_soon_ms;     /* 0 when off */
    bool accept_language;

    struct ua_pattern *pat; /* in checking order: scanner, preview, bot */
    size_t npat, pat_cap;
    uint64_t always[BITMAP_WORDS]; /* patterns without a literal: always tried */

    /* The automaton: byte -> symbol (lower-cased; 0 for bytes no literal holds), and a full
     * transition table of nstates rows of nsym entries, numbered breadth first so that the
     * rows a browser's user agent walks through (the root and its children) sit together.
     * An entry holds the target row's offset (state x nsym), plus HIT when a pattern's literal
     * ends at that state or at one of its suffixes. Per state: its own patterns (out_ids from
     * out_start[s] to out_start[s + 1]) and the nearest suffix state with patterns (dict). */
    uint8_t sym[256];
    uint32_t nsym, nstates;
    uint32_t *next;
    uint32_t *out_start, *out_ids, *dict;

    pcre2_match_context *mctx;
    td_classifier_info info;

    struct literal *lits; /* while building: the literals of the patterns */
    size_t nlits, lits_cap;
};

/* ---- class names (td_click_class_name is inline in the header) ---- */

/* Parses a class name. */
int td_click_class_parse(const char *name, td_click_class *out)
{
    for (int i = 0; name && i < TD_CLASS_COUNT; i++) {
        if (strcasecmp(name, td_click_class_name((td_click_class)i)) == 0) {
            *out = (td_click_class)i;
            return 0;
        }
    }
    return TD_EINVAL;
}

/* ---- per-thread match data ---- */

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_key_ok;

/* Frees a thread's match data when the thread ends. */
static void md_destroy(void *md)
{
    pcre2_match_data_free(md);
}

/* Creates the key of the per-thread match data, once per process. */
static void md_key_init(void)
{
    md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

/* Returns the calling thread's match data (made on first use, freed when the thread ends), or
 * NULL when memory ran out. One is enough: a pattern is only asked whether it matches. */
static pcre2_match_data *thread_match_data(void)
{
    pcre2_match_data *md;

    pthread_once(&md_once, md_key_init);
    if (!md_key_ok)
        return NULL;
    if ((md = pthread_getspecific(md_key)))
        return md;
    if (!(md = pcre2_match_data_create(1, NULL)))
        return NULL;
    if (pthread_setspecific(md_key, md) != 0) {
        pcre2_match_data_free(md);
        return NULL;
    }
    return md;
}

/* ---- required literals of a pattern ---- */

/* What parse_alts found. */
enum lit_result { LIT_OK, LIT_NONE, LIT_UNSUPPORTED };

/* The literal run being read and the best one of the current alternative. */
struct lit_state {
    unsigned char run[LIT_MAX], best[LIT_MAX];
    size_t rlen, blen;
    bool some_alt_without; /* an alternative had no literal at all */
};

/* Ends the current run: it becomes the alternative's best when it is longer. */
static void run_end(struct lit_state *st)
{
    if (st->rlen > st->blen) {
        memcpy(st->best, st->run, st->rlen);
        st->blen = st->rlen;
    }
    st->rlen = 0;
}

/* Adds a byte to the run (lower-cased); a full run is ended and a new one started. */
static void run_add(struct lit_state *st, unsigned char b)
{
    if (st->rlen == LIT_MAX)
        run_end(st);
    st->run[st->rlen++] = (unsigned char)tolower(b);
}

/* Returns the index past a quantifier at p[i] ("*", "+", "?", "{n}", "{n,}", "{n,m}", each
 * maybe followed by "?" or "+"), or i when there is none; *min gets its minimum count (1 when
 * there is none). A "{" that is not a quantifier sets *bad. */
static size_t quantifier(const char *p, size_t i, long *min, bool *bad)
{
    size_t j = i;

    *min = 1;
    if (p[j] == '*' || p[j] == '?') {
        *min = 0;
        j++;
    } else if (p[j] == '+') {
        j++;
    } else if (p[j] == '{') {
        char *end;
        long n = strtol(p + j + 1, &end, 10);
        if (end == p + j + 1 || !isdigit((unsigned char)p[j + 1])) {
            *bad = true;
            return i;
        }
        if (*end == ',') {
            end++;
            while (isdigit((unsigned char)*end))
                end++;
        }
        if (*end != '}') {
            *bad = true;
            return i;
        }
        *min = n;
        j = (size_t)(end - p) + 1;
    } else {
        return i;
    }
    if (p[j] == '?' || p[j] == '+')
        j++;
    return j;
}

/* Returns the index past the character class opening at p[i] ("["), or 0 when it does not
 * end; *lit gets the byte it stands for when it is one byte or a letter in both cases
 * ("[wW]"), else -1. */
static size_t char_class(const char *p, size_t i, int *lit)
{
    size_t j = i + 1, start;
    unsigned char set[2];
    size_t nset = 0;
    bool simple = true;

    if (p[j] == '^') {
        simple = false;
        j++;
    }
    start = j;
    for (; p[j]; j++) {
        if (p[j] == ']' && j > start)
            break;
        if (p[j] == '[' && p[j + 1] == ':') {
            const char *e = strstr(p + j + 2, ":]");
            if (!e)
                return 0;
            j = (size_t)(e - p) + 1;
            simple = false;
            continue;
        }
        if (p[j] == '\\') {
            if (!p[j + 1])
                return 0;
            j++;
            if (isalnum((unsigned char)p[j]))
                simple = false; /* \d, \s, \x41... */
        }
        if (nset < 2)
            set[nset] = (unsigned char)p[j];
        nset++;
        if (p[j] == '-' && j > start && p[j + 1] != ']')
            simple = false; /* a range */
    }
    if (!p[j])
        return 0;
    *lit = -1;
    if (simple && nset == 1)
        *lit = set[0];
    else if (simple && nset == 2 && isalpha(set[0]) && tolower(set[0]) == tolower(set[1]))
        *lit = tolower(set[0]);
    return j + 1;
}

/* Returns the index past the group opening at p[i] ("("), or 0 when it does not close or
 * switches on extended mode ("(?x"), under which blanks and "#" stop being literal. */
static size_t group_end(const char *p, size_t i)
{
    int depth = 0;
    size_t j = i;

    if (p[i + 1] == '?') {
        for (size_t k = i + 2; isalpha((unsigned char)p[k]) || p[k] == '-' || p[k] == '^'; k++)
            if (p[k] == 'x')
                return 0;
    }
    for (; p[j]; j++) {
        int lit;
        if (p[j] == '\\') {
            if (!p[j + 1])
                return 0;
            if (p[j + 1] == 'Q')
                return 0;
            j++;
        } else if (p[j] == '[') {
            size_t e = char_class(p, j, &lit);
            if (!e)
                return 0;
            j = e - 1;
        } else if (p[j] == '(') {
            depth++;
        } else if (p[j] == ')' && --depth == 0) {
            return j + 1;
        }
    }
    return 0;
}

/* Reads pattern p and writes, for each top-level alternative, the longest run of bytes that
 * every match of it contains, lower-cased, into lits (at most MAX_ALTS; *nlits how many).
 * Returns LIT_NONE when some alternative has no such run (the pattern must always be tried) and
 * LIT_UNSUPPORTED for syntax this reader does not follow (\Q, \x, back references, extended
 * mode...): such a pattern is always tried too. */
static enum lit_result required_literals(const char *p, struct literal *lits, size_t *nlits)
{
    struct lit_state st = {0};
    size_t i = 0;
    bool bad = false;

    *nlits = 0;
    for (;;) {
        unsigned char c = (unsigned char)p[i];
        int lit = -1; /* the byte of this atom, or -1 for an atom that is not one byte */
        bool atom = true;
        long min;
        size_t q;

        if (c == '\0' || c == '|') {
            run_end(&st);
            if (st.blen == 0)
                st.some_alt_without = true;
            else if (*nlits == MAX_ALTS)
                return LIT_NONE;
            else {
                memcpy(lits[*nlits].text, st.best, st.blen);
                lits[*nlits].len = (uint32_t)st.blen;
                (*nlits)++;
            }
            st.blen = 0;
            if (c == '\0')
                break;
            i++;
            continue;
        }
        if (c == '(') {
            size_t e = group_end(p, i);
            if (!e)
                return LIT_UNSUPPORTED;
            run_end(&st);
            /* A group is read as a whole, never as literal; its quantifier is skipped below. */
            i = e;
        } else if (c == '[') {
            size_t e = char_class(p, i, &lit);
            if (!e)
                return LIT_UNSUPPORTED;
            i = e;
        } else if (c == '\\') {
            unsigned char d = (unsigned char)p[i + 1];
            if (!d)
                return LIT_UNSUPPORTED;
            if (!isalnum(d)) {
                lit = d;
            } else if (strchr("bBAzZG", d)) {
                atom = false; /* zero-width */
            } else if (!strchr("dDwWsShHvV", d)) {
                return LIT_UNSUPPORTED;
            }
            i += 2;
        } else if (c == '^' || c == '$') {
            atom = false;
            i++;
        } else if (c == '.') {
            i++;
        } else if (c == ')' || c == '*' || c == '+' || c == '?' || c == '{') {
            return LIT_UNSUPPORTED; /* a quantifier without an atom, or unbalanced */
        } else {
            lit = c;
            i++;
        }
        if (!atom) {
            run_end(&st);
            continue;
        }
        q = quantifier(p, i, &min, &bad);
        if (bad)
            return LIT_UNSUPPORTED;
        if (lit < 0 || min == 0) {
            run_end(&st); /* not one byte, or optional: the run stops here */
        } else {
            run_add(&st, (unsigned char)lit);
            if (q != i)
                run_end(&st); /* repeated: what follows is not adjacent to this byte */
        }
        i = q;
    }
    return st.some_alt_without ? LIT_NONE : LIT_OK;
}

/* ---- building ---- */

/* Writes "where: message" into err. */
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errsz)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* Returns the embedded file called name, or NULL. */
static const struct td__data_file *data_file(const char *name)
{
    for (size_t i = 0; i < td__data_count; i++)
        if (strcmp(td__data_files[i].name, name) == 0)
            return &td__data_files[i];
    return NULL;
}

/* Records the required literals of pattern number i for the automaton, or marks the pattern as
 * always tried when it has none. Returns 0 or TD_ENOMEM. */
static int add_literals(td_classifier *c, const char *pattern, size_t len, size_t i)
{
    struct literal alt[MAX_ALTS];
    size_t nalt = 0;

    if (strlen(pattern) != len || required_literals(pattern, alt, &nalt) != LIT_OK) {
        c->always[i / 64] |= 1ULL << (i % 64);
        c->info.always_tried++;
        return 0;
    }
    if (c->nlits + nalt > c->lits_cap) {
        size_t cap = c->lits_cap ? c->lits_cap * 2 : 4096;
        struct literal *nl;
        while (cap < c->nlits + nalt)
            cap *= 2;
        if (!(nl = realloc(c->lits, cap * sizeof *nl)))
            return TD_ENOMEM;
        c->lits = nl;
        c->lits_cap = cap;
    }
    for (size_t k = 0; k < nalt; k++) {
        alt[k].pattern = (uint32_t)i;
        c->lits[c->nlits++] = alt[k];
    }
    return 0;
}

/* Compiles pattern (len bytes) as the next pattern of class cls, its reason "ua:" + name.
 * Returns 0, TD_ENOMEM, TD_ETOOBIG (more than MAX_PATTERNS) or TD_ESYNTAX with the PCRE2
 * message in msg. */
static int add_pattern(td_classifier *c, const char *pattern, size_t len, const char *name,
                       td_click_class cls, char *msg, size_t msgsz)
{
    struct ua_pattern *p;
    PCRE2_SIZE erroff;
    int errcode;

    if (c->npat == MAX_PATTERNS)
        return TD_ETOOBIG;
    if (c->npat == c->pat_cap) {
        size_t cap = c->pat_cap ? c->pat_cap * 2 : 1024;
        struct ua_pattern *np = realloc(c->pat, cap * sizeof *np);
        if (!np)
            return TD_ENOMEM;
        c->pat = np;
        c->pat_cap = cap;
    }
    p = &c->pat[c->npat];
    p->re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_NEVER_UTF, &errcode, &erroff, NULL);
    if (!p->re) {
        PCRE2_UCHAR buf[160];
        if (errcode == PCRE2_ERROR_NOMEMORY)
            return TD_ENOMEM;
        pcre2_get_error_message(errcode, buf, sizeof buf);
        snprintf(msg, msgsz, "%s at offset %zu", (const char *)buf, (size_t)erroff);
        return TD_ESYNTAX;
    }
    /* Without JIT (a platform PCRE2 has no JIT for) the interpreter runs instead. */
    pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);
    p->cls = cls;
    snprintf(p->reason, sizeof p->reason, "ua:%s", name);
    c->info.patterns[cls]++;
    return add_literals(c, pattern, len, c->npat++);
}

/* Adds the patterns of one of our lists (format: data/ua-scanners.txt) as class cls. A pattern
 * PCRE2 refuses is an error naming the file and line. */
static int load_list(td_classifier *c, const char *file, td_click_class cls, char *err,
                     size_t errsz)
{
    const struct td__data_file *f = data_file(file);
    const char *p, *end;
    int lineno = 0, rc;

    if (!f) {
        set_err(err, errsz, "data/%s is not compiled in", file);
        return TD_EINVAL;
    }
    for (p = (const char *)f->bytes, end = p + f->len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = eol ? eol : end;
        char line[1024], name[TD_CLASS_REASON_SIZE], msg[200];
        const char *pat;

        p = eol ? eol + 1 : end;
        lineno++;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b || *a == '#')
            continue;
        if ((size_t)(b - a) >= sizeof line) {
            set_err(err, errsz, "data/%s:%d: line longer than %zu bytes", file, lineno,
                    sizeof line - 1);
            return TD_EINVAL;
        }
        memcpy(line, a, (size_t)(b - a));
        line[b - a] = '\0';
        pat = line;
        if (line[0] == '@') {
            size_t n = strcspn(line + 1, " \t");
            pat = line + 1 + n;
            while (*pat == ' ' || *pat == '\t')
                pat++;
            if (n == 0 || !*pat) {
                set_err(err, errsz, "data/%s:%d: \"@name\" without a name or a pattern", file,
                        lineno);
                return TD_EINVAL;
            }
            snprintf(name, sizeof name, "%.*s", (int)n, line + 1);
        } else {
            snprintf(name, sizeof name, "%s", line);
        }
        rc = add_pattern(c, pat, strlen(pat), name, cls, msg, sizeof msg);
        if (rc == TD_ESYNTAX) {
            set_err(err, errsz, "data/%s:%d: %s", file, lineno, msg);
            return TD_EINVAL;
        }
        if (rc) {
            set_err(err, errsz, "data/%s: %s", file, td_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* True when the exclusion list (nexcl entries) names pattern; marks the entry used. */
static bool excluded(const char *pattern, char **excl, size_t nexcl, bool *used)
{
    for (size_t i = 0; i < nexcl; i++) {
        if (strcmp(excl[i], pattern) == 0) {
            used[i] = true;
            return true;
        }
    }
    return false;
}

/* Reads data/ua-exclusions.txt into a list of strings (free with free_strings). */
static int load_exclusions(char ***out, size_t *n, char *err, size_t errsz)
{
    const struct td__data_file *f = data_file(FILE_EXCLUSIONS);
    const char *p, *end;
    char **v = NULL;
    size_t cnt = 0;

    *out = NULL;
    *n = 0;
    if (!f) {
        set_err(err, errsz, "data/%s is not compiled in", FILE_EXCLUSIONS);
        return TD_EINVAL;
    }
    for (p = (const char *)f->bytes, end = p + f->len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = eol ? eol : end;
        char **nv;

        p = eol ? eol + 1 : end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b || *a == '#')
            continue;
        if (!(nv = realloc(v, (cnt + 1) * sizeof *v)) || !(nv[cnt] = strndup(a, (size_t)(b - a)))) {
            if (nv)
                v = nv;
            for (size_t i = 0; i < cnt; i++)
                free(v[i]);
            free(v);
            return TD_ENOMEM;
        }
        v = nv;
        cnt++;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* True when entry e of the data set is tagged tag. */
static bool has_tag(json_t *e, const char *tag)
{
    json_t *tags = json_object_get(e, "tags"), *t;
    size_t i;

    json_array_foreach(tags, i, t)
    {
        if (json_is_string(t) && strcmp(json_string_value(t), tag) == 0)
            return true;
    }
    return false;
}

/* Adds the patterns of the crawler-user-agents data set tagged "social-preview" (previews) or
 * not (bots), minus the exclusions. Patterns PCRE2 refuses are skipped and counted. */
static int load_dataset(td_classifier *c, json_t *set, bool previews, char **excl, size_t nexcl,
                        bool *used, char *err, size_t errsz)
{
    json_t *e;
    size_t i;

    json_array_foreach(set, i, e)
    {
        json_t *jp = json_object_get(e, "pattern");
        const char *pat = json_string_value(jp);
        char msg[200];
        int rc;

        if (!pat || !*pat) {
            if (previews)
                c->info.dataset_skipped++;
            continue;
        }
        if (has_tag(e, DATASET_PREVIEW_TAG) != previews)
            continue;
        if (excluded(pat, excl, nexcl, used)) {
            c->info.dataset_excluded++;
            continue;
        }
        rc = add_pattern(c, pat, json_string_length(jp), pat,
                         previews ? TD_CLASS_PREVIEW : TD_CLASS_BOT, msg, sizeof msg);
        if (rc == TD_ESYNTAX) {
            c->info.dataset_skipped++;
            continue;
        }
        if (rc) {
            set_err(err, errsz, "data/%s: %s", FILE_DATASET, td_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Loads every list in checking order: scanners, previews (ours, then the data set's), bots
 * (the data set's, then ours). */
static int load_patterns(td_classifier *c, char *err, size_t errsz)
{
    const struct td__data_file *f = data_file(FILE_DATASET);
    json_t *set = NULL;
    json_error_t jerr;
    char **excl = NULL;
    bool *used = NULL;
    size_t nexcl = 0;
    int rc;

    if (!f) {
        set_err(err, errsz, "data/%s is not compiled in", FILE_DATASET);
        return TD_EINVAL;
    }
    if ((rc = load_exclusions(&excl, &nexcl, err, errsz)))
        goto out;
    if (!(used = calloc(nexcl + 1, sizeof *used))) {
        rc = TD_ENOMEM;
        goto out;
    }
    if (!(set = json_loadb((const char *)f->bytes, f->len, JSON_REJECT_DUPLICATES, &jerr)) ||
        !json_is_array(set)) {
        set_err(err, errsz, "data/%s: line %d: %s", FILE_DATASET, jerr.line,
                set ? "not a JSON array" : jerr.text);
        rc = TD_EINVAL;
        goto out;
    }
    if ((rc = load_list(c, FILE_SCANNERS, TD_CLASS_SCANNER, err, errsz)) ||
        (rc = load_list(c, FILE_PREVIEWS, TD_CLASS_PREVIEW, err, errsz)) ||
        (rc = load_dataset(c, set, true, excl, nexcl, used, err, errsz)) ||
        (rc = load_dataset(c, set, false, excl, nexcl, used, err, errsz)) ||
        (rc = load_list(c, FILE_BOTS, TD_CLASS_BOT, err, errsz)))
        goto out;
    for (size_t i = 0; i < nexcl; i++)
        c->info.exclusions_unused += !used[i];
out:
    json_decref(set);
    for (size_t i = 0; i < nexcl; i++)
        free(excl[i]);
    free(excl);
    free(used);
    return rc;
}

/* Adds a new state to the automaton under construction; returns it, or NO_STATE. */
static uint32_t new_state(td_classifier *c, uint32_t *cap)
{
    if (c->nstates == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4096;
        uint32_t *nn = realloc(c->next, (size_t)ncap * c->nsym * sizeof *nn);
        if (!nn)
            return NO_STATE;
        c->next = nn;
        *cap = ncap;
    }
    memset(c->next + (size_t)c->nstates * c->nsym, 0, c->nsym * sizeof *c->next);
    return c->nstates++;
}

/* Builds the automaton over the literals that add_literals recorded, then drops them. */
static int build_prefilter(td_classifier *c)
{
    const struct literal *lits = c->lits;
    size_t nlits = c->nlits;
    uint32_t *lit_state = NULL, *fail = NULL, *queue = NULL, *count = NULL, *rank = NULL;
    uint32_t *packed = NULL, *start = NULL, *ids = NULL, *dict = NULL;
    uint32_t scap = 0, nsym = 1, head = 0, tail = 0;
    uint8_t *hit = NULL;
    int rc = TD_ENOMEM;

    /* 1. Symbols: one per byte that occurs in a literal, after lower-casing (at most 231: the
     * 256 bytes less the 26 upper-case letters, plus symbol 0, so they fit in a byte). */
    memset(c->sym, 0, sizeof c->sym);
    for (size_t k = 0; k < nlits; k++)
        for (uint32_t j = 0; j < lits[k].len; j++)
            if (!c->sym[lits[k].text[j]])
                c->sym[lits[k].text[j]] = (uint8_t)nsym++;
    for (int b = 'A'; b <= 'Z'; b++)
        c->sym[b] = c->sym[tolower(b)];
    c->nsym = nsym;

    /* 2. The trie. State 0 is the root; a 0 transition means "none yet". */
    if (!(lit_state = malloc((nlits + 1) * sizeof *lit_state)) || new_state(c, &scap) == NO_STATE)
        goto out;
    for (size_t k = 0; k < nlits; k++) {
        uint32_t s = 0;
        for (uint32_t j = 0; j < lits[k].len; j++) {
            uint32_t *t = &c->next[(size_t)s * nsym + c->sym[lits[k].text[j]]];
            if (!*t) {
                uint32_t ns = new_state(c, &scap);
                if (ns == NO_STATE)
                    goto out;
                t = &c->next[(size_t)s * nsym + c->sym[lits[k].text[j]]];
                *t = ns;
            }
            s = *t;
        }
        lit_state[k] = s;
    }

    /* 3. Failure links breadth first, completing the transitions into a full table. */
    if (!(fail = calloc(c->nstates, sizeof *fail)) || !(queue = malloc(c->nstates * sizeof *queue)))
        goto out;
    for (uint32_t a = 1; a < nsym; a++)
        if (c->next[a])
            queue[tail++] = c->next[a];
    while (head < tail) {
        uint32_t s = queue[head++];
        for (uint32_t a = 1; a < nsym; a++) {
            uint32_t *t = &c->next[(size_t)s * nsym + a];
            uint32_t via = c->next[(size_t)fail[s] * nsym + a];
            if (*t) {
                fail[*t] = via;
                queue[tail++] = *t;
            } else {
                *t = via;
            }
        }
    }

    /* 4. Outputs: each state's own patterns, the nearest suffix state with some, a hit flag. */
    if (!(count = calloc(c->nstates + 1, sizeof *count)) ||
        !(c->out_start = calloc(c->nstates + 1, sizeof *c->out_start)) ||
        !(c->out_ids = malloc((nlits + 1) * sizeof *c->out_ids)) ||
        !(c->dict = malloc(c->nstates * sizeof *c->dict)) ||
        !(hit = calloc(c->nstates, sizeof *hit)))
        goto out;
    for (size_t k = 0; k < nlits; k++)
        count[lit_state[k]]++;
    for (uint32_t s = 0; s < c->nstates; s++)
        c->out_start[s + 1] = c->out_start[s] + count[s];
    memset(count, 0, (c->nstates + 1) * sizeof *count);
    for (size_t k = 0; k < nlits; k++) {
        uint32_t s = lit_state[k];
        c->out_ids[c->out_start[s] + count[s]++] = lits[k].pattern;
    }
    c->dict[0] = NO_STATE;
    for (uint32_t q = 0; q < tail; q++) {
        uint32_t s = queue[q], f = fail[s];
        c->dict[s] = c->out_start[f + 1] > c->out_start[f] ? f : c->dict[f];
    }
    for (uint32_t s = 0; s < c->nstates; s++)
        hit[s] = c->out_start[s + 1] > c->out_start[s] || c->dict[s] != NO_STATE;

    /* 5. Renumber breadth first (the queue's order) and pack offsets and hit bits. */
    if ((size_t)c->nstates * nsym >= HIT) {
        rc = TD_ETOOBIG;
        goto out;
    }
    if (!(rank = malloc(c->nstates * sizeof *rank)) ||
        !(packed = malloc((size_t)c->nstates * nsym * sizeof *packed)) ||
        !(start = calloc(c->nstates + 1, sizeof *start)) ||
        !(ids = malloc((nlits + 1) * sizeof *ids)) || !(dict = malloc(c->nstates * sizeof *dict)))
        goto out;
    rank[0] = 0;
    for (uint32_t q = 0; q < tail; q++)
        rank[queue[q]] = q + 1;
    for (uint32_t r = 0; r < c->nstates; r++) {
        uint32_t s = r ? queue[r - 1] : 0, n = c->out_start[s + 1] - c->out_start[s];
        for (uint32_t a = 0; a < nsym; a++) {
            uint32_t t = c->next[(size_t)s * nsym + a];
            packed[(size_t)r * nsym + a] = rank[t] * nsym | (hit[t] ? HIT : 0);
        }
        memcpy(ids + start[r], c->out_ids + c->out_start[s], n * sizeof *ids);
        start[r + 1] = start[r] + n;
        dict[r] = c->dict[s] == NO_STATE ? NO_STATE : rank[c->dict[s]];
    }
    free(c->next);
    free(c->out_start);
    free(c->out_ids);
    free(c->dict);
    c->next = packed;
    c->out_start = start;
    c->out_ids = ids;
    c->dict = dict;
    packed = start = ids = dict = NULL;
    c->info.prefilter_states = c->nstates;
    c->info.prefilter_literals = nlits;
    c->info.prefilter_bytes = (size_t)c->nstates * nsym * sizeof *c->next +
                              (size_t)c->nstates * 2 * sizeof(uint32_t) + nlits * sizeof(uint32_t);
    rc = 0;
out:
    free(c->lits);
    c->lits = NULL;
    c->nlits = c->lits_cap = 0;
    free(lit_state);
    free(fail);
    free(queue);
    free(count);
    free(hit);
    free(rank);
    free(packed);
    free(start);
    free(ids);
    free(dict);
    return rc;
}

/* Checks the thresholds and fills the defaults. */
static int set_thresholds(td_classifier *c, const td_classify_config *cfg, char *err, size_t errsz)
{
    td_classify_config d = {0};

    if (cfg)
        d = *cfg;
    if (d.burst_window_ms > MAX_BURST_WINDOW_MS) {
        set_err(err, errsz, "burst window %ld ms is longer than an hour", d.burst_window_ms);
        return TD_EINVAL;
    }
    if (d.too_soon_ms > MAX_TOO_SOON_MS) {
        set_err(err, errsz, "too-soon threshold %ld ms is longer than a day", d.too_soon_ms);
        return TD_EINVAL;
    }
    if (d.accept_language < -1 || d.accept_language > 1) {
        set_err(err, errsz, "accept_language must be 1, 0 (default) or -1 (off)");
        return TD_EINVAL;
    }
    c->burst_window_ms = d.burst_window_ms == 0  ? DEFAULT_BURST_WINDOW_MS
                         : d.burst_window_ms < 0 ? 0
                                                 : d.burst_window_ms;
    c->too_soon_ms = d.too_soon_ms == 0  ? DEFAULT_TOO_SOON_MS
                     : d.too_soon_ms < 0 ? 0
                                         : d.too_soon_ms;
    c->accept_language = d.accept_language >= 0;
    return 0;
}

/* Builds the classifier from the compiled-in data. */
int td_classifier_new(const td_classify_config *cfg, td_classifier **out, char *err, size_t errsz)
{
    td_classifier *c = NULL;
    int rc;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c))) {
        rc = TD_ENOMEM;
        goto out;
    }
    if ((rc = set_thresholds(c, cfg, err, errsz)))
        goto out;
    if (!(c->mctx = pcre2_match_context_create(NULL))) {
        rc = TD_ENOMEM;
        goto out;
    }
    pcre2_set_match_limit(c->mctx, MATCH_LIMIT);
    if ((rc = load_patterns(c, err, errsz)))
        goto out;
    if ((rc = build_prefilter(c))) {
        set_err(err, errsz, "%s", td_strerror(rc));
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (rc == TD_ENOMEM && err && errsz && !err[0])
        set_err(err, errsz, "%s", td_strerror(rc));
    td_classifier_free(c);
    return rc;
}

/* Frees the classifier and the calling thread's match data (other threads free theirs when
 * they end). */
void td_classifier_free(td_classifier *c)
{
    pcre2_match_data *md;

    if (!c)
        return;
    for (size_t i = 0; i < c->npat; i++)
        pcre2_code_free(c->pat[i].re);
    free(c->pat);
    free(c->next);
    free(c->out_start);
    free(c->out_ids);
    free(c->dict);
    free(c->lits);
    pcre2_match_context_free(c->mctx);
    free(c);
    if (md_key_ok && (md = pthread_getspecific(md_key))) {
        pthread_setspecific(md_key, NULL);
        pcre2_match_data_free(md);
    }
}

/* Copies what the classifier holds. */
void td_classifier_info_get(const td_classifier *c, td_classifier_info *out)
{
    *out = c->info;
}

/* Returns the burst window. */
long td_classifier_burst_window(const td_classifier *c)
{
    return c ? c->burst_window_ms : 0;
}

/* ---- classifying ---- */

/* Writes text into reason (n bytes), cut to fit. */
static void put_reason(char *reason, size_t n, const char *text)
{
    if (reason && n)
        snprintf(reason, n, "%s", text);
}

/* Runs the user-agent lists over ua (len bytes): returns the index of the first pattern in
 * checking order that matches, or -1. */
static long match_lists(const td_classifier *c, const unsigned char *ua, size_t len)
{
    uint64_t bits[BITMAP_WORDS];
    size_t nwords = (c->npat + 63) / 64;
    pcre2_match_data *md = thread_match_data();
    uint32_t row = 0;

    if (!md)
        return -1;
    memcpy(bits, c->always, nwords * sizeof *bits);
    for (size_t i = 0; i < len; i++) {
        uint32_t v = c->next[row + c->sym[ua[i]]];
        row = v & ~HIT;
        if (!(v & HIT))
            continue;
        for (uint32_t t = row / c->nsym; t != NO_STATE; t = c->dict[t])
            for (uint32_t k = c->out_start[t]; k < c->out_start[t + 1]; k++)
                bits[c->out_ids[k] / 64] |= 1ULL << (c->out_ids[k] % 64);
    }
    for (size_t w = 0; w < nwords; w++) {
        uint64_t word = bits[w];
        while (word) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(word);
            word &= word - 1;
            if (pcre2_match(c->pat[i].re, ua, len, 0, 0, md, c->mctx) >= 0)
                return (long)i;
        }
    }
    return -1;
}

/* Runs every pattern in order without the prefilter (the unit test's reference). */
td_click_class td__classify_ua_unfiltered(const td_classifier *c, const char *ua, char *reason,
                                          size_t n)
{
    pcre2_match_data *md = thread_match_data();
    size_t len = ua ? strnlen(ua, UA_MAX) : 0;

    for (size_t i = 0; md && len && i < c->npat; i++) {
        if (pcre2_match(c->pat[i].re, (PCRE2_SPTR)ua, len, 0, 0, md, c->mctx) >= 0) {
            put_reason(reason, n, c->pat[i].reason);
            return c->pat[i].cls;
        }
    }
    if (!len) {
        put_reason(reason, n, "no-user-agent");
        return TD_CLASS_BOT;
    }
    put_reason(reason, n, "browser");
    return TD_CLASS_HUMAN;
}

/* Judges the user agent against the lists; fills reason and returns true on a match. */
static bool classify_by_lists(const td_classifier *c, const char *ua, td_click_class *cls,
                              char *reason, size_t n)
{
    size_t len;
    long i;

    if (!ua || !*ua)
        return false;
    len = strnlen(ua, UA_MAX);
    if ((i = match_lists(c, (const unsigned char *)ua, len)) < 0)
        return false;
    *cls = c->pat[i].cls;
    put_reason(reason, n, c->pat[i].reason);
    return true;
}

/* Classifies a click from its user agent and request signals. */
td_click_class td_classify(const td_classifier *c, const td_click_signals *s, char *reason,
                           size_t n)
{
    td_click_class cls;

    if (classify_by_lists(c, s->user_agent, &cls, reason, n))
        return cls;
    if (!s->user_agent || !*s->user_agent) {
        put_reason(reason, n, "no-user-agent");
        return TD_CLASS_BOT;
    }
    if (s->head) {
        put_reason(reason, n, "head-request");
        return TD_CLASS_SCANNER;
    }
    if (s->burst) {
        put_reason(reason, n, "burst");
        return TD_CLASS_SCANNER;
    }
    if (c->too_soon_ms > 0 && s->since_created_ms >= 0 && s->since_created_ms < c->too_soon_ms) {
        put_reason(reason, n, "too-soon");
        return TD_CLASS_SCANNER;
    }
    if (c->accept_language && s->know_accept_language && !s->has_accept_language) {
        put_reason(reason, n, "no-accept-language");
        return TD_CLASS_BOT;
    }
    put_reason(reason, n, "browser");
    return TD_CLASS_HUMAN;
}

/* Classifies a user agent alone. */
td_click_class td_classify_ua(const td_classifier *c, const char *user_agent, char *reason,
                              size_t n)
{
    td_click_class cls;

    if (classify_by_lists(c, user_agent, &cls, reason, n))
        return cls;
    if (!user_agent || !*user_agent) {
        put_reason(reason, n, "no-user-agent");
        return TD_CLASS_BOT;
    }
    put_reason(reason, n, "browser");
    return TD_CLASS_HUMAN;
}
