/* CSV parsing: quotes, embedded commas and newlines, CRLF, BOM, errors with their line. */
#include "core/common.h"

#include "core/csv.h"
#include "test.h"

/* Parses s (max 100 rows). */
static int parse(const char *s, td_csv *t, char *err)
{
    return td_csv_parse(s, strlen(s), 100, t, err, 128);
}

/* Entry point. */
int main(void)
{
    td_csv t;
    char err[128] = "";

    CHECK(parse("\xEF\xBB\xBF"
                "Original_Text,Is_Variable,Static_Text\r\n"
                "\"Jane, Doe\",TRUE,\r\n"
                "\"She said \"\"hi\"\"\",FALSE,\"two\nlines\"\r\n"
                "\r\n"
                "last,,x",
                &t, err) == 0,
          "a spreadsheet export parses");
    CHECK_INT(t.n, 4, "four rows, the empty line skipped");
    CHECK_STR(t.rows[0].fields[0], "Original_Text", "the byte order mark is dropped");
    CHECK_STR(t.rows[1].fields[0], "Jane, Doe", "comma inside quotes");
    CHECK_STR(t.rows[2].fields[0], "She said \"hi\"", "doubled quotes");
    CHECK_STR(t.rows[2].fields[2], "two\nlines", "newline inside quotes");
    CHECK(t.rows[3].n == 3 && t.rows[3].fields[1][0] == '\0', "empty field kept");
    CHECK_INT(t.rows[3].line, 6, "the last row starts on line 6");
    CHECK_INT(td_csv_column(&t.rows[0], " static_text "), 2, "column by name, any case");
    CHECK_INT(td_csv_column(&t.rows[0], "Variable_name"), -1, "missing column");
    td_csv_release(&t);
    CHECK(parse("a,\"b\nc", &t, err) == TD_ESYNTAX && strstr(err, "not closed"),
          "unclosed quote: %s", err);
    CHECK(parse("a,b\"c\n", &t, err) == TD_ESYNTAX && strstr(err, "line 1"),
          "quote inside a field: %s", err);
    CHECK(parse("x\n\"a\"b,c\n", &t, err) == TD_ESYNTAX && strstr(err, "line 2"),
          "text after a closing quote names line 2: %s", err);
    {
        char many[2000];
        size_t o = 0;
        for (int i = 0; i < 150; i++)
            o += (size_t)snprintf(many + o, sizeof many - o, "r%d\n", i);
        CHECK(td_csv_parse(many, o, 100, &t, err, sizeof err) == TD_ETOOBIG, "row limit");
    }
    CHECK(parse("", &t, err) == 0 && t.n == 0, "empty input, no rows");
    td_csv_release(&t);
    TEST_DONE();
}
