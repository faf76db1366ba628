/* Untrusted packages: each unsafe or broken .docx is refused by td_docx_check (and by
 * td_docx_render) with a message naming the entry and the rule, without crashing and without
 * a large allocation (measured with the sanitizer's allocation hooks). */
#include "core/common.h"

#include <sys/stat.h>

#include "test_docx_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_HOOKS 1
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
#else
#define HAVE_HOOKS 0
#endif

static bool watching;
static size_t live, peak, biggest;

#if HAVE_HOOKS
/* Counts an allocation while watching. */
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    if (!watching)
        return;
    live += n;
    peak = TD_MAX(peak, live);
    biggest = TD_MAX(biggest, n);
}

/* Counts a release while watching. */
static void on_free(const volatile void *p)
{
    size_t n;

    if (!watching || !p)
        return;
    n = __sanitizer_get_allocated_size(p);
    live = n <= live ? live - n : 0;
}
#endif

/* Starts measuring allocations. */
static void watch(void)
{
    live = peak = biggest = 0;
    watching = true;
}

/* Checks data[0, len) expecting want_rc and a message containing want; the peak of live heap
 * bytes during the check must stay under max_heap. Also renders it, expecting the same. */
static void expect(const char *what, const void *data, size_t len, const td_docx_limits *lim,
                   int want_rc, const char *want, size_t max_heap)
{
    char why[512];
    td_docx_opts o = {.limits = lim};
    td_tmpl_error err;
    td_buf out;
    int rc;

    watch();
    rc = td_docx_check(data, len, lim, why, sizeof why);
    watching = false;
    CHECK_INT(rc, want_rc, "%s: refused with the right code", what);
    CHECK(strstr(why, want) != NULL, "%s: message \"%s\" says \"%s\"", what, why, want);
    if (HAVE_HOOKS)
        CHECK(peak < max_heap,
              "%s: at most %zu bytes of heap at once (largest block %zu, want "
              "under %zu)",
              what, peak, biggest, max_heap);
    td_buf_init(&out, 0);
    rc = td_docx_render(data, len, NULL, &o, &out, NULL, &err);
    CHECK_INT(rc, want_rc, "%s: render refuses it too", what);
    CHECK(strstr(err.message, want) != NULL, "%s: render message \"%s\"", what, err.message);
    CHECK_INT((long long)out.len, 0, "%s: render writes nothing", what);
    td_buf_release(&out);
}

/* Checks fixture name (see expect). */
static void expect_file(const char *name, int want_rc, const char *want)
{
    td_buf b;

    fixture(name, &b);
    expect(name, b.data, b.len, NULL, want_rc, want, (size_t)1 << 20);
    td_buf_release(&b);
}

/* Packages that are not .docx files, or break the rules. */
static void test_refused(void)
{
    static const struct {
        const char *file;
        int rc;
        const char *want;
    } cases[] = {
        {"bad_not_zip.docx", TD_EDOCX, "not a zip file (a .docx is a zip package)"},
        {"bad_missing_document.docx", TD_EDOCX, "word/document.xml is missing"},
        {"bad_ratio.docx", TD_EDOCX, "word/media/pad.bin: compressed "},
        {"bad_ratio.docx", TD_EDOCX, "over the ratio limit of 200 (a zip bomb)"},
        {"bad_lie.docx", TD_EDOCX,
         "word/media/image1.png: holds more bytes than the 1000 it claims"},
        {"bad_lie_xml.docx", TD_EDOCX,
         "word/theme/theme1.xml: holds more bytes than the 100 it claims"},
        {"bad_many.docx", TD_EDOCX, "the package has 1003 entries, over the limit of 1000"},
        {"bad_dotdot.docx", TD_EUNSAFE, "word/../../evil.xml: '..' in an entry name"},
        {"bad_absolute.docx", TD_EUNSAFE, "/etc/evil.xml: absolute entry name"},
        {"bad_backslash.docx", TD_EUNSAFE, "word\\evil.xml: backslash in an entry name"},
        {"bad_drive.docx", TD_EUNSAFE, "C:/evil.xml: drive letter"},
        {"bad_duplicate.docx", TD_EUNSAFE, "word/document.xml: two entries have this name"},
        {"bad_vba.docx", TD_EUNSAFE, "word/vbaProject.bin: macros (a VBA project) are refused"},
        {"bad_vba_type.docx", TD_EUNSAFE,
         "[Content_Types].xml: bin declared as a VBA project (macros) is refused"},
        {"bad_macro_type.docx", TD_EUNSAFE,
         "[Content_Types].xml: macro-enabled content type "
         "\"application/vnd.ms-word.document.macroEnabled.main+xml\" is refused"},
        {"bad_attached_template.docx", TD_EUNSAFE,
         "word/_rels/settings.xml.rels: relationship rId1 attaches a remote template "
         "(http://evil.example.com/t.dotm)"},
        {"bad_attached_template_share1.docx", TD_EUNSAFE, "attaches a remote template"},
        {"bad_attached_template_share2.docx", TD_EUNSAFE, "attaches a remote template"},
        {"bad_attached_template_share3.docx", TD_EUNSAFE, "attaches a remote template"},
        {"bad_attached_template_unc.docx", TD_EUNSAFE,
         "word/_rels/settings.xml.rels: relationship rId1 attaches a remote template "
         "(file://fileserver/templates/t.dotm)"},
        {"bad_external_image.docx", TD_EUNSAFE,
         "word/_rels/document.xml.rels: relationship rIdImg (image) points outside the document "
         "to http://evil.example.com/track.png: only hyperlinks may"},
        {"bad_doctype.docx", TD_EUNSAFE, "word/document.xml: DOCTYPE or ENTITY declaration"},
        {"bad_entity_rels.docx", TD_EUNSAFE, "_rels/.rels: DOCTYPE or ENTITY declaration"},
        {"bad_utf16_doctype.docx", TD_EUNSAFE, "word/document.xml: DOCTYPE or ENTITY"},
        {"bad_malformed.docx", TD_EDOCX, "word/document.xml: not well-formed XML at line 2"},
        {"bad_encoding.docx", TD_EDOCX, "Document labelled UTF-16 but has UTF-8 content"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++)
        expect_file(cases[i].file, cases[i].rc, cases[i].want);
    expect("empty file", "", 0, NULL, TD_EDOCX, "empty file", (size_t)1 << 20);
    expect("NULL", NULL, 0, NULL, TD_EDOCX, "empty file", (size_t)1 << 20);
    expect("zip header only", "PK\3\4", 4, NULL, TD_EDOCX, "not a zip file", (size_t)1 << 20);
}

/* The limits of td_docx_limits, on a good package. */
static void test_limits(void)
{
    td_buf b;
    td_docx_limits small_input = {.max_input = 1000}, few = {.max_entries = 5},
                   entry = {.max_entry_size = 2000}, total = {.max_total = 10000},
                   ratio = {.max_ratio = 2};
    char msg[160];

    fixture("resume.docx", &b);
    snprintf(msg, sizeof msg, "the file has %zu bytes, over the limit of 1000", b.len);
    expect("max_input", b.data, b.len, &small_input, TD_EDOCX, msg, (size_t)1 << 20);
    expect("max_entries", b.data, b.len, &few, TD_EDOCX,
           "the package has 16 entries, over the limit of 5", (size_t)1 << 20);
    expect("max_entry_size", b.data, b.len, &entry, TD_EDOCX,
           "bytes uncompressed, over the limit of 2000 per entry", (size_t)1 << 20);
    expect("max_total", b.data, b.len, &total, TD_EDOCX,
           "the entries add up to more than 10000 bytes uncompressed", (size_t)1 << 20);
    CHECK_INT(td_docx_check(b.data, b.len, &ratio, NULL, 0), 0,
              "max_ratio: small entries are not held to the ratio");
    td_buf_release(&b);
}

/* Every template fixture passes the check. */
static void test_good(void)
{
    static const char *const good[] = {
        "split_runs.docx", "links.docx",   "headers.docx",
        "table.docx",      "nested.docx",  "inline.docx",
        "resume.docx",     "convert.docx", "local_attached_template.docx"};

    for (size_t i = 0; i < TD_ARRAY_SIZE(good); i++) {
        char why[256] = "";
        td_buf b;
        int rc;

        fixture(good[i], &b);
        rc = td_docx_check(b.data, b.len, NULL, why, sizeof why);
        CHECK_INT(rc, 0, "%s passes the check (%s)", good[i], why);
        td_buf_release(&b);
    }
}

/* A few thousand random corruptions of a good package: never a crash, always a clear code. */
static void test_corrupt(void)
{
    td_buf b, c;
    unsigned seed = 12345;
    int bad = 0;

    fixture("links.docx", &b);
    td_buf_init(&c, 0);
    for (int i = 0; i < 3000; i++) {
        char why[256];
        int rc, flips = 1 + (int)(seed % 4);

        td_buf_reset(&c);
        td_buf_add(&c, b.data, b.len);
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            c.data[(seed >> 8) % c.len] ^= (char)(1u << ((seed >> 4) % 8));
        }
        rc = td_docx_check(c.data, c.len, NULL, why, sizeof why);
        if (rc != 0 && rc != TD_EDOCX && rc != TD_EUNSAFE)
            bad++;
        if (rc != 0 && !why[0])
            bad++;
    }
    CHECK_INT(bad, 0, "3000 corrupted packages: each passes or is refused with a message");
    td_buf_release(&c);
    td_buf_release(&b);
}

/* The library never prints: libxml2's complaints about bad XML or encodings are swallowed. */
static void test_quiet(void)
{
    static const char *const files[] = {"bad_encoding.docx", "bad_malformed.docx",
                                        "bad_doctype.docx", "bad_utf16_doctype.docx",
                                        "bad_entity_rels.docx"};
    char path[] = "/tmp/tddocx.XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    struct stat sb;

    fflush(stderr);
    dup2(fd, 2);
    for (size_t i = 0; i < TD_ARRAY_SIZE(files); i++) {
        td_buf b, out;
        char why[256];

        fixture(files[i], &b);
        td_buf_init(&out, 0);
        td_docx_check(b.data, b.len, NULL, why, sizeof why);
        td_docx_render(b.data, b.len, NULL, NULL, &out, NULL, NULL);
        td_buf_release(&out);
        td_buf_release(&b);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(fstat(fd, &sb) == 0 && sb.st_size == 0, "nothing printed on stderr (%lld bytes)",
          (long long)sb.st_size);
    close(fd);
    unlink(path);
}

/* Runs the checks of this file. */
int main(void)
{
#if HAVE_HOOKS
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#endif
    test_refused();
    test_limits();
    test_good();
    test_corrupt();
    test_quiet();
    TEST_DONE();
}
