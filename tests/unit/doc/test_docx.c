/* Rendering .docx templates: tags split across runs, hyperlinks (tag targets, plain URLs, field
 * codes), headers and footers, repeated rows, paragraphs and inline sections, line breaks,
 * document properties, template errors; outputs are checked by parsing their XML. */
#include "core/common.h"

#include <pthread.h>

#include "test_docx_util.h"

#include "core/time.h"

/* Value hook: URLs of variables named *_url become tracked links. */
static int track_value(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    size_t n = strlen(name);

    (void)ud;
    (void)value;
    (void)len;
    if (n > 4 && strcmp(name + n - 4, "_url") == 0)
        return td_buf_printf(out, "https://t.example/v/%s", name) ? -1 : 1;
    return 0;
}

static int link_calls;

/* Link hook: every plain URL becomes a tracked link numbered in call order; "fail" fails. */
static int track_link(void *ud, const char *url, td_buf *out)
{
    (void)ud;
    link_calls++;
    if (strstr(url, "fail"))
        return TD_EIO;
    return td_buf_printf(out, "https://t.example/l/%d?from=%s&x=\"q\"", link_calls, url) ? -1 : 1;
}

/* Link hook that always fails, as a tracker that is down. */
static int failing_link(void *ud, const char *url, td_buf *out)
{
    (void)ud;
    (void)url;
    (void)out;
    return TD_EIO;
}

static const td_docx_opts opts = {.value_hook = track_value,
                                  .link_hook = track_link,
                                  .title = "Ada Lovelace – CV",
                                  .creator = "Ada <Lovelace>",
                                  .now_ms = 1700000000000};

/* Tags cut across runs are merged into the run where they begin. */
static void test_split_runs(void)
{
    td_buf in, out;
    td_docx_stats st;
    td_tmpl_error err;
    struct xdoc x;
    int rc =
        render_fixture("split_runs.docx",
                       "{\"first_name\": \"Ada\", \"last_name\": \"Lovelace\", \"raw\": \"<b>&\"}",
                       &opts, &out, &st, &err);

    CHECK_INT(rc, 0, "split runs: renders (%s)", err.message);
    keep_output("split_runs.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "split runs: document.xml parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"),
              "Dear Ada, welcome.|Family: Lovelace!|Raw: <b>& and <b>&; escaped: <b>&|"
              "Braces alone: { } } { and a tag at the end Ada|Untouched paragraph.",
              "split runs: paragraph texts");
    CHECK_STR(xp_str(&x, "string(//w:p[1]/w:r[w:rPr/w:b]/w:t)"), "Ada",
              "split runs: the value sits in the bold run where the tag began");
    CHECK_STR(xp_str(&x, "string(//w:p[1]/w:r[w:rPr/w:b]/w:t/@xml:space)"), "preserve",
              "split runs: the w:t that held the tag keeps its spaces");
    CHECK_INT(xp_num(&x, "count(//w:p[1]//w:i)"), 0, "split runs: the emptied italic run is gone");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:r)"), 4,
              "split runs: runs left: Dear, the tag, the page-break mark, the rest");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:proofErr) + count(//w:p[1]/w:bookmarkStart)"), 3,
              "split runs: proofing marks and bookmarks stay");
    CHECK_INT(xp_num(&x, "count(//w:p[2]/w:r)"), 3, "split runs: no-break spaces in a tag");
    CHECK_INT(xp_num(&x, "count(//@tdx:*)"), 0, "split runs: none of our marks is left");
    CHECK_INT((long long)st.tmpl.variables_substituted, 6, "split runs: 6 values");
    CHECK_INT((long long)st.parts_rendered, 1, "split runs: one part rendered");
    xdoc_close(&x);

    /* Every entry but document.xml and core.xml is copied byte for byte, in the same order. */
    fixture("split_runs.docx", &in);
    {
        static const char *const same[] = {"[Content_Types].xml", "_rels/.rels",
                                           "docProps/app.xml",    "word/_rels/document.xml.rels",
                                           "word/styles.xml",     "word/numbering.xml",
                                           "word/settings.xml"};
        td_buf a, b;

        for (size_t i = 0; i < TD_ARRAY_SIZE(same); i++)
            CHECK(same_entry(&in, &out, same[i]), "split runs: %s copied byte for byte", same[i]);
        CHECK(!same_entry(&in, &out, "word/document.xml"), "split runs: document.xml rewritten");
        zip_names(&in, &a);
        zip_names(&out, &b);
        CHECK_STR(td_buf_str(&b), td_buf_str(&a), "split runs: entry order kept");
        td_buf_release(&a);
        td_buf_release(&b);
    }

    /* Document properties. */
    CHECK(xdoc_open(&x, &out, "docProps/core.xml"), "core.xml parses");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dc:title)"), "Ada Lovelace – CV",
              "core.xml: title");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dc:creator)"), "Ada <Lovelace>",
              "core.xml: creator");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dcterms:modified)"), "2023-11-14T22:13:20Z",
              "core.xml: modified, W3CDTF in UTC");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dcterms:modified/@xsi:type)"), "dcterms:W3CDTF",
              "core.xml: modified has its xsi:type");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dcterms:created)"), "2024-01-01T00:00:00Z",
              "core.xml: created kept");
    xdoc_close(&x);

    /* The same render twice gives the same bytes. */
    {
        td_buf again;

        render_fixture("split_runs.docx",
                       "{\"first_name\": \"Ada\", \"last_name\": \"Lovelace\", \"raw\": \"<b>&\"}",
                       &opts, &again, NULL, NULL);
        CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0,
              "split runs: rendering is deterministic");
        td_buf_release(&again);
    }
    td_docx_stats_release(&st);
    td_buf_release(&in);
    td_buf_release(&out);
}

/* Returns the Target of relationship id in a parsed .rels (static buffer). */
static const char *target_of(const struct xdoc *x, const char *id)
{
    char expr[256];

    snprintf(expr, sizeof expr, "string(/rel:Relationships/rel:Relationship[@Id='%s']/@Target)",
             id);
    return xp_str(x, expr);
}

/* Hyperlink targets: tags rendered through the value hook, plain URLs through the link hook,
 * field codes, per-occurrence targets inside a section. */
static void test_links(void)
{
    const char *data =
        "{\"linkedin_url\": \"https://linkedin.com/in/ada\", \"portfolio_url\": "
        "\"https://ada.dev\","
        " \"calendly_url\": \"https://calendly.com/ada\", \"github_url\": \"https://github.com/a\","
        " \"profiles\": [{\"name\": \"GitHub\", \"url\": \"https://github.com/ada\"},"
        "  {\"name\": \"Mastodon\", \"url\": \"https://mastodon.social/@ada\"},"
        "  {\"name\": \"GitHub again\", \"url\": \"https://github.com/ada\"}]}";
    td_buf out;
    td_docx_stats st;
    td_tmpl_error err;
    struct xdoc x, r;
    int rc;

    link_calls = 0;
    rc = render_fixture("links.docx", data, &opts, &out, &st, &err);
    CHECK_INT(rc, 0, "links: renders (%s)", err.message);
    keep_output("links.docx", &out);
    CHECK(xdoc_open(&r, &out, "word/_rels/document.xml.rels"), "links: rels parse");
    CHECK_STR(target_of(&r, "rIdLinkedIn"), "https://t.example/v/linkedin_url",
              "links: Target=\"{{linkedin_url}}\" rendered through the value hook");
    CHECK_STR(target_of(&r, "rIdPortfolio"), "https://t.example/v/portfolio_url",
              "links: percent-encoded %%7B%%7Bportfolio_url%%7D%%7D rendered");
    CHECK_STR(target_of(&r, "rIdCalendly"), "https://t.example/v/calendly_url",
              "links: lower-case encoding, spaces and Word's http:// prefix handled");
    CHECK(strncmp(target_of(&r, "rIdPlain"), "https://t.example/l/", 20) == 0 &&
              strstr(target_of(&r, "rIdPlain"), "from=https://example.com/about?a=1&b=2"),
          "links: a plain URL goes to the link hook (%s)", target_of(&r, "rIdPlain"));
    CHECK_STR(target_of(&r, "rIdMail"), "mailto:jane@example.com",
              "links: mailto: is not given to the link hook");
    CHECK_STR(target_of(&r, "rIdUnused"), "https://t.example/v/linkedin_url",
              "links: a tag target no hyperlink uses is rendered once");
    CHECK_STR(target_of(&r, "rIdProfile"), "https://github.com/ada",
              "links: per-occurrence target, first item");
    CHECK_INT(xp_num(&r, "count(//rel:Relationship[@Target='https://mastodon.social/@ada'])"), 1,
              "links: the second item got a relationship of its own");
    CHECK_INT(xp_num(&r, "count(//rel:Relationship[@TargetMode='External'])"), 8,
              "links: every hyperlink relationship is external");
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "links: document parses");
    CHECK_STR(xp_texts(&x, "//w:p[w:hyperlink[@r:id]][position() >= 6]"),
              "- GitHub|- Mastodon|- GitHub again", "links: one paragraph per profile");
    CHECK_STR(xp_str(&x, "string(//w:p[w:hyperlink][7]/w:hyperlink/@r:id)"), "rIdProfile",
              "links: the first profile keeps the template's relationship");
    {
        char expr[200];
        const char *id = xp_str(&x, "string(//w:p[w:hyperlink][8]/w:hyperlink/@r:id)");

        snprintf(expr, sizeof expr, "%s", target_of(&r, id));
        CHECK_STR(expr, "https://mastodon.social/@ada", "links: the second profile's r:id");
    }
    CHECK_STR(xp_str(&x, "string(//w:p[w:hyperlink][9]/w:hyperlink/@r:id)"), "rIdProfile",
              "links: the same target shares its relationship");
    CHECK_STR(xp_texts(&x, "//w:hyperlink[@r:id='rIdPortfolio']"),
              "https://t.example/v/portfolio_url", "links: a tag as visible text is rendered");
    CHECK_STR(xp_texts(&x, "//w:hyperlink[@r:id='rIdLinkedIn']"), "LinkedIn",
              "links: visible text stays as written");
    CHECK_STR(xp_str(&x, "string(//w:hyperlink[@w:anchor]/@w:anchor)"), "top",
              "links: internal anchors are left alone");
    CHECK_STR(xp_str(&x, "string(//w:p[7])"),
              "Code:  HYPERLINK \"https://t.example/v/github_url\" \\o \"GitHub\" GitHub",
              "links: field code cut across runs rendered");
    CHECK_STR(xp_str(&x, "string(//w:p[8]//w:instrText)"),
              " HYPERLINK \"https://t.example/l/2?from=https://blog.example.com/jane&x=%22q%22\" ",
              "links: plain URL of a field code given to the link hook, quotes encoded");
    CHECK_STR(xp_str(&x, "string(//w:p[9]//w:instrText)"), " HYPERLINK \\l \"top\" ",
              "links: an anchor field is left alone");
    CHECK_STR(xp_str(&x, "string(//w:p[10]/w:fldSimple/@w:instr)"),
              " HYPERLINK \"https://t.example/v/linkedin_url\" ",
              "links: tags of a simple field rendered");
    CHECK(strstr(xp_str(&x, "string(//w:p[11]/w:fldSimple/@w:instr)"), "https://t.example/l/"),
          "links: plain URL of a simple field given to the link hook");
    CHECK_INT((long long)st.links_rewritten, 3, "links: 3 plain URLs rewritten");
    CHECK_INT((long long)st.link_failures, 0, "links: no failure");
    CHECK_INT((long long)st.tmpl.hook_replacements, 7, "links: 7 values went through the hook");
    xdoc_close(&x);
    xdoc_close(&r);
    td_docx_stats_release(&st);
    td_buf_release(&out);

    /* Addresses whose variables are missing: the hyperlink goes, its text stays. */
    rc = render_fixture("links.docx", "{}", &opts, &out, NULL, &err);
    CHECK(rc == 0 && xdoc_open(&x, &out, "word/document.xml"), "links, no data: renders");
    CHECK_INT(xp_num(&x, "count(//w:hyperlink)"), 3,
              "links, no data: hyperlinks without an address are unwrapped");
    CHECK_STR(xp_texts(&x, "//w:body/w:p[1]"), "Profile: LinkedIn", "links, no data: text kept");
    xdoc_close(&x);
    CHECK(xdoc_open(&r, &out, "word/_rels/document.xml.rels"), "links, no data: rels parse");
    CHECK_INT(xp_num(&r, "count(//rel:Relationship[@Id='rIdProfile' or @Id='rIdLinkedIn'])"), 0,
              "links, no data: their relationships are removed");
    xdoc_close(&r);
    td_buf_release(&out);

    /* No link hook: plain URLs stay; a failing hook keeps them and counts. */
    {
        td_docx_opts o2 = {.value_hook = track_value};

        rc = render_fixture("links.docx", data, &o2, &out, &st, &err);
        CHECK(rc == 0 && xdoc_open(&r, &out, "word/_rels/document.xml.rels"),
              "links without a link hook: renders");
        CHECK_STR(target_of(&r, "rIdPlain"), "https://example.com/about?a=1&b=2",
                  "links without a link hook: plain URL kept");
        xdoc_close(&r);
        td_docx_stats_release(&st);
        td_buf_release(&out);

        o2.link_hook = failing_link;
        rc = render_fixture("links.docx", data, &o2, &out, &st, &err);
        CHECK(rc == 0 && xdoc_open(&r, &out, "word/_rels/document.xml.rels"),
              "links with a failing link hook: renders");
        CHECK_STR(target_of(&r, "rIdPlain"), "https://example.com/about?a=1&b=2",
                  "links with a failing link hook: plain URL kept");
        CHECK_INT((long long)st.link_failures, 3, "links with a failing link hook: 3 failures");
        CHECK_INT((long long)st.links_rewritten, 0,
                  "links with a failing link hook: none rewritten");
        xdoc_close(&r);
        td_docx_stats_release(&st);
        td_buf_release(&out);
    }
}

/* Headers and footers render like the body; a footer without tags is copied as it is. */
static void test_headers(void)
{
    td_buf in, out;
    td_docx_stats st;
    td_tmpl_error err;
    struct xdoc x;
    int rc =
        render_fixture("headers.docx",
                       "{\"full_name\": \"Ada Lovelace\", \"headline\": \"Engineer\","
                       " \"email\": \"ada@example.com\", \"linkedin_url\": \"https://l.in/a\"}",
                       &opts, &out, &st, &err);

    CHECK_INT(rc, 0, "headers: renders (%s)", err.message);
    keep_output("headers.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/header1.xml"), "headers: header1.xml parses");
    CHECK_STR(xp_texts(&x, "//w:p"), "Ada Lovelace \u2014 Engineer|LinkedIn",
              "headers: header text");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:r[1]/w:rPr/w:b)"), 1, "headers: bold kept");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "word/_rels/header1.xml.rels"), "headers: header rels parse");
    CHECK_STR(target_of(&x, "rIdH1Link"), "https://t.example/v/linkedin_url",
              "headers: hyperlink target in a header's rels rendered");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "word/footer1.xml"), "headers: footer1.xml parses");
    CHECK_STR(xp_texts(&x, "//w:p"), "Page 1 \u2014 ada@example.com", "headers: footer text");
    CHECK_STR(xp_str(&x, "string(//w:instrText)"), " PAGE ", "headers: PAGE field kept");
    xdoc_close(&x);
    fixture("headers.docx", &in);
    CHECK(same_entry(&in, &out, "word/footer2.xml"), "headers: footer without tags untouched");
    CHECK_INT((long long)st.parts_rendered, 3, "headers: 3 parts rendered");
    td_docx_stats_release(&st);
    td_buf_release(&in);
    td_buf_release(&out);
}

/* Rows repeat; an inverted row shows for an empty list; a table left without rows goes. */
static void test_tables(void)
{
    const char *full =
        "{\"jobs\": [{\"company\": \"Acme & Co\", \"years\": \"2019-2024\", \"role\": \"Lead\"},"
        " {\"company\": \"Globex\", \"years\": \"2015-2019\", \"role\": \"Dev\"}],"
        " \"schools\": [{\"name\": \"MIT\", \"degree\": \"BSc\"}, {\"name\": \"ETH\", \"degree\":"
        " \"MSc\"}], \"skills\": [\"C\", \"Go\", \"SQL\"], \"languages\": []}";
    td_buf out;
    td_tmpl_error err;
    struct xdoc x;
    int rc = render_fixture("table.docx", full, &opts, &out, NULL, &err);

    CHECK_INT(rc, 0, "tables: renders (%s)", err.message);
    keep_output("table.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "tables: document parses");
    CHECK_INT(xp_num(&x, "count(//w:tbl)"), 3, "tables: three tables");
    CHECK_STR(xp_texts(&x, "//w:tbl[1]/w:tr"),
              "CompanyYearsRole|Acme & Co2019-2024Lead|Globex2015-2019Dev",
              "tables: the job row repeats, the inverted row goes");
    CHECK_INT(xp_num(&x, "count(//w:tbl[1]/w:tr[2]/w:tc)"), 3, "tables: repeated rows keep cells");
    CHECK_STR(xp_texts(&x, "//w:tbl[2]/w:tr"), "MIT|BSc|ETH|MSc",
              "tables: a section over two rows repeats both");
    CHECK_STR(xp_texts(&x, "//w:tbl[3]/w:tr/w:tc[1]/w:p"), "Skills|C|Go|SQL",
              "tables: paragraph section inside a cell");
    CHECK_INT(xp_num(&x, "count(//w:tbl[3]/w:tr/w:tc[1]/w:p[w:pPr/w:numPr])"), 3,
              "tables: the repeated bullets keep their numbering");
    CHECK_STR(xp_texts(&x, "//w:tbl[3]/w:tr/w:tc[2]/w:p"), "Languages",
              "tables: empty list in a cell leaves the heading");
    CHECK_INT(xp_num(&x, "count(//w:tc[not(w:p)])"), 0, "tables: every cell has a paragraph");
    xdoc_close(&x);
    td_buf_release(&out);

    rc = render_fixture("table.docx", "{\"jobs\": [], \"schools\": [], \"skills\": []}", &opts,
                        &out, NULL, &err);
    CHECK_INT(rc, 0, "tables, empty lists: renders (%s)", err.message);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "tables, empty lists: parses");
    CHECK_INT(xp_num(&x, "count(//w:tbl)"), 2, "tables, empty lists: the table without rows goes");
    CHECK_STR(xp_texts(&x, "//w:tbl[1]/w:tr"), "CompanyYearsRole|No jobs yet",
              "tables, empty lists: the inverted row shows");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"), "Jobs|Schools|Layout|End.",
              "tables, empty lists: body paragraphs");
    CHECK_STR(xp_texts(&x, "//w:tbl[2]/w:tr/w:tc[1]/w:p"), "Skills",
              "tables, empty lists: the cell keeps its heading");
    xdoc_close(&x);
    td_buf_release(&out);
}

/* Whole paragraphs repeat, with bullets nested inside; ids Word wants unique stay unique. */
static void test_nested(void)
{
    const char *data =
        "{\"experience\": [{\"title\": \"Lead\", \"company\": \"Acme\", \"dates\": \"2019\","
        " \"highlights\": [\"Shipped X\", \"Led <5> people & more\"]},"
        " {\"title\": \"Dev\", \"company\": \"Globex\", \"dates\": \"2015\", \"highlights\": []},"
        " {\"title\": \"Intern\", \"company\": \"Initech\", \"dates\": \"2014\","
        " \"highlights\": [\"Coffee\"]}]}";
    td_buf out;
    td_tmpl_error err;
    struct xdoc x;
    int rc = render_fixture("nested.docx", data, &opts, &out, NULL, &err);

    CHECK_INT(rc, 0, "nested: renders (%s)", err.message);
    keep_output("nested.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "nested: parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"),
              "Experience|Lead at Acme| 2019|Shipped X|Led <5> people & more|Dev at Globex| 2015|"
              "Intern at Initech| 2014|Coffee|End of experience.",
              "nested: entries and their highlights");
    CHECK_INT(xp_num(&x, "count(//w:p[w:pPr/w:numPr/w:numId/@w:val='1'])"), 3,
              "nested: bullet paragraphs repeat with their numbering");
    CHECK_INT(xp_num(&x, "count(//w:p[w:pPr/w:pStyle/@w:val='Heading2'])"), 3,
              "nested: headings repeat with their style");
    CHECK_STR(xp_str(&x, "string(//w:p[2]/w:r[3]/w:t)"), "Acme",
              "nested: run formatting kept (italic company)");
    CHECK_INT(xp_num(&x, "count(//w:p[2]/w:r[3]/w:rPr/w:i)"), 1, "nested: italic kept");
    CHECK_INT(xp_num(&x, "count(//w:p[@w14:paraId='2B000001'])"), 1,
              "nested: a repeated paragraph id stays unique");
    CHECK_INT(xp_num(&x, "count(//w:p[@w14:paraId])"), 3, "nested: first occurrences keep ids");
    CHECK_INT(xp_num(&x, "count(//wp:docPr)"), 3, "nested: the picture repeats");
    CHECK_INT(xp_num(&x, "count(//wp:docPr[@id = preceding::wp:docPr/@id])"), 0,
              "nested: repeated pictures get distinct drawing ids");
    CHECK_INT(xp_num(&x, "count(//wp:docPr[@id='7'])"), 1, "nested: the first keeps its id");
    xdoc_close(&x);
    td_buf_release(&out);
}

/* Inline sections, emptied paragraphs removed, newlines and tabs in values. */
static void test_inline(void)
{
    const char *data =
        "{\"email\": \"ada@example.com\", \"phone\": \"\", \"address\":"
        " \"1 Main St\\nLondon\\tUK\\r\\nEarth\", \"skills\": [{\"name\": \"C\"},"
        " {\"name\": \"Go\"}, {\"name\": \"SQL\", \"last\": true}], \"multi\": [1, 2]}";
    td_buf out;
    td_tmpl_error err;
    struct xdoc x;
    int rc = render_fixture("inline.docx", data, &opts, &out, NULL, &err);

    CHECK_INT(rc, 0, "inline: renders (%s)", err.message);
    keep_output("inline.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "inline: parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"),
              "Contact: mail ada@example.com.|Kept: |Address:|1 Main St\nLondon\tUK\nEarth|"
              "Skills: C, Go, SQL.|First part continues|middle|lastFirst part continues|middle|"
              "last tail|After.",
              "inline: paragraph texts");
    CHECK_STR(xp_str(&x, "string(//w:p[1]/w:r[w:rPr/w:b]/w:t)"), "ada@example.com",
              "inline: the value keeps the bold of its run");
    CHECK_INT(xp_num(&x, "count(//w:p[4]//w:br)"), 2, "inline: newlines became w:br");
    CHECK_INT(xp_num(&x, "count(//w:p[4]//w:tab)"), 1, "inline: a tab became w:tab");
    CHECK_INT(xp_num(&x, "count(//w:p[4]//w:t[not(@xml:space='preserve')])"), 0,
              "inline: every w:t of a value keeps its spaces");
    CHECK_INT(xp_num(&x, "count(//w:t[. = ''])"), 0, "inline: no empty w:t left");
    xdoc_close(&x);
    td_buf_release(&out);

    rc = render_fixture("inline.docx", "{\"phone\": \"555\"}", &opts, &out, NULL, &err);
    CHECK_INT(rc, 0, "inline, other data: renders (%s)", err.message);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "inline, other data: parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"),
              "Contact: no email.|Phone: 555|Kept: 555|Address:||Skills: .| tail|After.",
              "inline, other data: texts (a variable alone leaves its paragraph)");
    xdoc_close(&x);
    td_buf_release(&out);
}

/* A realistic résumé renders fast and completely. */
static void test_resume(void)
{
    td_buf in, out, data;
    td_docx_stats st;
    td_tmpl_error err;
    json_t *j;
    struct xdoc x;
    int64_t t0, t1;
    int rc, runs = 50;

    fixture("resume.docx", &in);
    read_file(FIXTURES "resume.data.json", &data);
    j = json_loads(data.data, 0, NULL);
    td_buf_init(&out, 0);
    rc = td_docx_render(in.data, in.len, j, &opts, &out, &st, &err);
    CHECK_INT(rc, 0, "resume: renders (%s)", err.message);
    keep_output("resume.docx", &out);
    CHECK(xdoc_open(&x, &out, "word/document.xml"), "resume: parses");
    CHECK_INT(xp_num(&x, "count(//w:p[w:pPr/w:pStyle/@w:val='Heading2'])"), 20,
              "resume: 20 experience entries");
    CHECK_INT(xp_num(&x, "count(//w:p[w:pPr/w:numPr])"), 47, "resume: 47 highlights");
    CHECK_STR(xp_texts(&x, "//w:body/w:p[2]"), "Ada Lovelace", "resume: name");
    CHECK_INT(xp_num(&x, "count(//wp:docPr)"), 1, "resume: the photo is there");
    CHECK_STR(xp_texts(&x, "//w:body/w:p[6]"),
              "Engineer with 20 years of experience building reliable systems.\nI like small "
              "teams, clear code and measurable results.",
              "resume: summary with a line break");
    CHECK_INT(xp_num(&x, "count(//w:tbl/w:tr)"), 3, "resume: education rows");
    CHECK_INT(xp_num(&x, "count(//@tdx:*) + count(//*[namespace-uri()='urn:trackdoc:docx'])"), 0,
              "resume: nothing of ours left");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "word/footnotes.xml"), "resume: footnotes parse");
    CHECK_STR(xp_texts(&x, "//w:footnote[@w:id='1']/w:p"), " References on request, Ada.",
              "resume: footnote rendered");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "docProps/core.xml"), "resume: core.xml parses");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dc:title)"), "Ada Lovelace – CV",
              "resume: missing dc:title created");
    CHECK_STR(xp_str(&x, "string(/cp:coreProperties/dcterms:modified/@xsi:type)"), "dcterms:W3CDTF",
              "resume: missing dcterms:modified created with its type");
    xdoc_close(&x);
    CHECK_INT((long long)st.tmpl.hook_replacements, 4, "resume: 3 tracked links + footer link");
    CHECK_INT((long long)st.tmpl.missing_len, 0, "resume: nothing missing");
    CHECK_INT((long long)st.parts_rendered, 4, "resume: document, header, footer, footnotes");
    td_docx_stats_release(&st);
    t0 = td_time_mono_ms();
    for (int i = 0; i < runs; i++) {
        td_buf_reset(&out);
        td_docx_render(in.data, in.len, j, &opts, &out, NULL, NULL);
    }
    t1 = td_time_mono_ms();
    printf("# resume render (ASan build): %.2f ms each\n", (double)(t1 - t0) / runs);
    json_decref(j);
    td_buf_release(&data);
    td_buf_release(&in);
    td_buf_release(&out);
}

/* Strict mode lists every missing variable, of every part. */
static void test_strict(void)
{
    td_docx_opts o = opts;
    td_docx_stats st;
    td_tmpl_error err;
    td_buf out;
    int rc;

    o.strict = true;
    rc = render_fixture("headers.docx", "{\"full_name\": \"Ada\"}", &o, &out, &st, &err);
    CHECK_INT(rc, TD_EMISSING, "strict: missing variables fail");
    CHECK(strstr(err.message, "\"headline\"") && strstr(err.message, "\"email\"") &&
              strstr(err.message, "word/header1.xml") && strstr(err.message, "word/footer1.xml"),
          "strict: the message names the variables and parts (%s)", err.message);
    CHECK_INT((long long)out.len, 0, "strict: nothing written");
    CHECK_INT((long long)st.tmpl.missing_len, 3, "strict: stats list the missing names");
    td_docx_stats_release(&st);
    td_buf_release(&out);

    o.strict = false;
    rc = render_fixture("headers.docx", "{\"full_name\": \"Ada\"}", &o, &out, &st, &err);
    CHECK_INT(rc, 0, "lenient: missing variables render as nothing");
    CHECK_INT((long long)st.tmpl.missing_len, 3, "lenient: missing names counted");
    td_docx_stats_release(&st);
    td_buf_release(&out);
}

/* Template errors name the part, the tag and the paragraph. */
static void test_errors(void)
{
    static const struct {
        const char *file;
        int rc;
        const char *want;
    } cases[] = {
        {"err_unclosed_section.docx", TD_ESYNTAX,
         "word/document.xml: unclosed section \"experience\" in the paragraph \"{{#experience}}\""},
        {"err_unclosed_tag.docx", TD_ESYNTAX,
         "word/document.xml: unclosed tag \"{{first_name\" (no closing \"}}\") in the paragraph "
         "\"Hello {{first_name\""},
        {"err_mismatch.docx", TD_ESYNTAX,
         "closing tag \"b\" in the paragraph \"{{/b}}\" does not match the section \"a\""},
        {"err_levels.docx", TD_ESYNTAX, "section \"jobs\" opens and closes at different levels"},
        {"err_partial.docx", TD_ESYNTAX, "partials (\"{{> header}}\") are not supported"},
        {"bad_malformed.docx", TD_EDOCX, "word/document.xml: not well-formed XML at line"},
    };

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        td_tmpl_error err;
        td_buf out;
        int rc = render_fixture(cases[i].file, "{}", &opts, &out, NULL, &err);

        CHECK_INT(rc, cases[i].rc, "%s: error code", cases[i].file);
        CHECK(strstr(err.message, cases[i].want) != NULL, "%s: message \"%s\" says \"%s\"",
              cases[i].file, err.message, cases[i].want);
        CHECK(err.line == 0 && err.col == 0, "%s: no meaningless line and column", cases[i].file);
        td_buf_release(&out);
    }
}

/* A rendered part over max_entry_size fails with TD_ETOOBIG and says so. */
static void test_too_big(void)
{
    td_docx_limits lim = {.max_entry_size = 50000};
    td_docx_opts o = {.limits = &lim};
    td_tmpl_error err;
    td_buf data, out;
    int rc;

    td_buf_init(&data, 0);
    td_buf_adds(&data, "{\"experience\": [");
    for (int i = 0; i < 500; i++)
        td_buf_printf(&data, "%s{\"title\": \"T%d\", \"company\": \"C\", \"highlights\": [\"h\"]}",
                      i ? "," : "", i);
    td_buf_adds(&data, "]}");
    rc = render_fixture("nested.docx", data.data, &o, &out, NULL, &err);
    CHECK_INT(rc, TD_ETOOBIG, "too big: a rendered part over the entry limit fails");
    CHECK(strstr(err.message, "word/document.xml: output larger than") != NULL,
          "too big: the message names the part (%s)", err.message);
    td_buf_release(&out);
    td_buf_release(&data);
}

struct job {
    const td_buf *in;
    json_t *data;
    td_buf out;
    int rc;
};

/* Renders the résumé ten times in a thread; keeps the last output. */
static void *render_job(void *arg)
{
    struct job *j = arg;

    td_buf_init(&j->out, 0);
    for (int i = 0; i < 10 && !j->rc; i++) {
        td_buf_reset(&j->out);
        j->rc = td_docx_render(j->in->data, j->in->len, j->data, &opts, &j->out, NULL, NULL);
    }
    return NULL;
}

/* Renders run at once in several threads give the same bytes. */
static void test_threads(void)
{
    struct job jobs[4];
    pthread_t th[4];
    td_buf in, data;
    json_t *j;
    bool same = true;

    fixture("resume.docx", &in);
    read_file(FIXTURES "resume.data.json", &data);
    j = json_loads(data.data, 0, NULL);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){.in = &in, .data = j, .rc = 0};
        pthread_create(&th[i], NULL, render_job, &jobs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(jobs[i].rc, 0, "threads: render %d succeeds", i);
        same &= jobs[i].out.len == jobs[0].out.len &&
                memcmp(jobs[i].out.data, jobs[0].out.data, jobs[0].out.len) == 0;
    }
    CHECK(same, "threads: four threads render the same bytes");
    for (int i = 0; i < 4; i++)
        td_buf_release(&jobs[i].out);
    json_decref(j);
    td_buf_release(&data);
    td_buf_release(&in);
}

/* Runs the checks of this file. */
int main(void)
{
    test_split_runs();
    test_links();
    test_headers();
    test_tables();
    test_nested();
    test_inline();
    test_resume();
    test_strict();
    test_errors();
    test_too_big();
    test_threads();
    TEST_DONE();
}
