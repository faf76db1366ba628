/* td_docx_convert: the CSV mapping of the system our users come from turns a finished document
 * into a template (text found across runs, formatting of the first run kept, headers too,
 * hyperlink addresses that match), and the template renders back. */
#include "core/common.h"

#include "test_docx_util.h"

static const td_docx_mapping_row rows[] = {
    {"Jane Doe", TD_MAP_VARIABLE, "full_name"},
    {"Jane", TD_MAP_VARIABLE, "first_name"},
    {"jane.doe@example.com", TD_MAP_VARIABLE, "email"},
    {"linkedin.com/in/janedoe", TD_MAP_VARIABLE, "linkedin_url"},
    {"Acme Corp", TD_MAP_STATIC, "Globex & Sons"},
    {"CONFIDENTIAL draft", TD_MAP_DISCARD, NULL},
    {"not in the document", TD_MAP_VARIABLE, "nothing"},
    {"", TD_MAP_VARIABLE, "ignored"},
};

/* Converts convert.docx and checks the template. */
static void test_convert(void)
{
    size_t found[TD_ARRAY_SIZE(rows)];
    td_buf in, out, rendered;
    struct xdoc x;
    json_t *data;
    int rc;

    fixture("convert.docx", &in);
    td_buf_init(&out, 0);
    rc = td_docx_convert(in.data, in.len, rows, TD_ARRAY_SIZE(rows), NULL, &out, found);
    CHECK_INT(rc, 0, "convert: succeeds");
    keep_output("converted.docx", &out);
    CHECK_INT((long long)found[0], 4,
              "convert: \"Jane Doe\" found 4 times (title across runs, "
              "twice in a paragraph, header)");
    CHECK_INT((long long)found[1], 0, "convert: \"Jane\" never matches inside \"Jane Doe\"");
    CHECK_INT((long long)found[2], 1, "convert: e-mail found once");
    CHECK_INT((long long)found[3], 2, "convert: profile found as text and as link address");
    CHECK_INT((long long)found[4], 2, "convert: \"Acme Corp\" found twice");
    CHECK_INT((long long)found[5], 1, "convert: discarded text found");
    CHECK_INT((long long)found[6], 0, "convert: absent text not found");
    CHECK_INT((long long)found[7], 0, "convert: empty original text ignored");

    CHECK(xdoc_open(&x, &out, "word/document.xml"), "convert: document parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p"),
              "{{full_name}}|{{email}}  |  +1 555 0100|{{linkedin_url}}|"
              "Senior engineer at Globex & Sons since 2019. Globex & Sons makes anvils.||"
              "{{full_name}}, {{full_name}}.",
              "convert: paragraph texts");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:r)"), 1, "convert: the name's runs merged into one");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:r/w:rPr/w:b)"), 1,
              "convert: formatting of the run where the match starts kept");
    CHECK_INT(xp_num(&x, "count(//w:p[1]/w:proofErr)"), 2, "convert: proofing marks stay");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "word/header1.xml"), "convert: header parses");
    CHECK_STR(xp_texts(&x, "//w:p"), "{{full_name}} \u2014 r\u00e9sum\u00e9",
              "convert: header converted");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &out, "word/_rels/document.xml.rels"), "convert: rels parse");
    CHECK_STR(xp_str(&x, "string(//rel:Relationship[@Id='rIdLi']/@Target)"), "{{linkedin_url}}",
              "convert: the link address became the variable");
    xdoc_close(&x);
    CHECK(same_entry(&in, &out, "word/styles.xml"), "convert: untouched entries copied");

    /* The template renders back. */
    data = json_loads("{\"full_name\": \"Ada Lovelace\", \"email\": \"ada@example.com\","
                      " \"linkedin_url\": \"https://linkedin.com/in/ada\"}",
                      0, NULL);
    td_buf_init(&rendered, 0);
    rc = td_docx_render(out.data, out.len, data, NULL, &rendered, NULL, NULL);
    CHECK_INT(rc, 0, "convert: the template renders");
    CHECK(xdoc_open(&x, &rendered, "word/document.xml"), "convert: rendered document parses");
    CHECK_STR(xp_texts(&x, "//w:body/w:p[1]|//w:body/w:p[6]"),
              "Ada Lovelace|Ada Lovelace, Ada Lovelace.", "convert: round trip");
    xdoc_close(&x);
    CHECK(xdoc_open(&x, &rendered, "word/_rels/document.xml.rels"), "convert: rendered rels");
    CHECK_STR(xp_str(&x, "string(//rel:Relationship[@Id='rIdLi']/@Target)"),
              "https://linkedin.com/in/ada", "convert: round trip of the link address");
    xdoc_close(&x);
    json_decref(data);
    td_buf_release(&rendered);

    /* Bad input and no rows. */
    td_buf_reset(&out);
    CHECK_INT(td_docx_convert("nope", 4, rows, 1, NULL, &out, found), TD_EDOCX,
              "convert: not a .docx");
    CHECK_INT(found[0], 0, "convert: found zeroed on failure");
    rc = td_docx_convert(in.data, in.len, NULL, 0, NULL, &out, NULL);
    CHECK_INT(rc, 0, "convert: no rows copies the document");
    CHECK(same_entry(&in, &out, "word/document.xml"), "convert: no rows, document untouched");
    td_buf_release(&in);
    td_buf_release(&out);
}

/* Runs the checks of this file. */
int main(void)
{
    test_convert();
    TEST_DONE();
}
