/* Candidate profiles: every validation rule with the JSON pointer it names, the JSON round trip,
 * and the merge into both payload shapes (the payload wins; empty strings count as empty),
 * checked through the data model so that the merged values are the ones templates see. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/model.h"
#include "trackdoc/profile.h"

#define UID "3f2b8c1e-5d4a-4b6c-9e7f-0a1b2c3d4e5f"
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Parses JSON text or exits: the tests' own inputs are always valid. */
static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);

    if (!v) {
        printf("not ok - test input does not parse: %s: %s\n", je.text, text);
        exit(1);
    }
    return v;
}

/* The string at a slash-separated path ("personal/email", "basics/profiles/0/url"), or
 * "(absent)"/"(null)"/"(not a string)". */
static const char *at(const json_t *v, const char *path)
{
    char key[128];

    while (v && *path) {
        size_t n = strcspn(path, "/");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        if (json_is_array(v))
            v = json_array_get(v, strtoul(key, NULL, 10));
        else
            v = json_object_get(v, key);
        path += n + (path[n] == '/');
    }
    if (!v)
        return "(absent)";
    if (json_is_null(v))
        return "(null)";
    return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* A profile with every field set. */
static td_profile full_profile(void)
{
    td_profile p = {.user_id = UID,
                    .first_name = "Jane",
                    .last_name = "Doe",
                    .email = "jane.doe@example.com",
                    .phone_number = "+1 415 555 0100",
                    .mailing_address = "1 Market St\nSan Francisco, CA 94105",
                    .calendly_url = "https://calendly.com/jane-doe/intro",
                    .linkedin_url = "https://www.linkedin.com/in/jane-doe",
                    .portfolio_url = "https://jane.example.com/",
                    .created_at = 1700000000000,
                    .updated_at = 1700000001000};
    return p;
}

/* Runs td_profile_check on a JSON text over an empty profile; returns rc, e gets the error. */
static int check_text(const char *text, bool partial, td_profile *p, td_profile_error *e)
{
    json_t *in = parse(text);
    int rc = td_profile_check(in, partial, p, e);

    json_decref(in);
    return rc;
}

/* Expects text to fail with rc, code and field. */
static void expect_fail(const char *text, int want_rc, const char *code, const char *field,
                        const char *what)
{
    td_profile p = {.user_id = UID};
    td_profile_error e;
    int rc = check_text(text, false, &p, &e);

    CHECK_INT(rc, want_rc, "%s: return code", what);
    CHECK_STR(e.code, code, "%s: the code", what);
    CHECK_STR(e.field, field, "%s: the field", what);
    CHECK(strstr(e.message, field) != NULL, "%s: the message names %s (%s)", what, field,
          e.message);
}

/* Expects text (a JSON object) to be accepted. */
static void expect_ok(const char *text, td_profile *p, const char *what)
{
    td_profile_error e;
    int rc = check_text(text, false, p, &e);

    CHECK(rc == 0, "%s (%s)", what, rc ? e.message : "ok");
}

/* Types, unknown fields and the read-only members. */
static void structure(void)
{
    static const char *const names[] = {"first_name",   "last_name",       "email",
                                        "phone_number", "mailing_address", "calendly_url",
                                        "linkedin_url", "portfolio_url"};
    char text[128], ptr[64];
    td_profile p = {.user_id = UID};

    {
        json_t *arr = json_array();
        td_profile_error e;
        CHECK_INT(td_profile_check(arr, false, &p, &e), TD_EINVAL, "an array is refused");
        CHECK_STR(e.code, "invalid_json", "an array: invalid_json");
        CHECK_STR(e.field, "", "an array: the field is the whole object");
        json_decref(arr);
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        snprintf(text, sizeof text, "{\"%s\": 42}", names[i]);
        snprintf(ptr, sizeof ptr, "/%s", names[i]);
        expect_fail(text, TD_EINVAL, "invalid_type", ptr, "a number");
        snprintf(text, sizeof text, "{\"%s\": [\"x\"]}", names[i]);
        expect_fail(text, TD_EINVAL, "invalid_type", ptr, "an array");
    }
    expect_fail("{\"first_name\": \"Jane\", \"emial\": \"jane@example.com\"}", TD_EINVAL,
                "unknown_field", "/emial", "a misspelt field");
    expect_fail("{\"a/b~c\": 1}", TD_EINVAL, "unknown_field", "/a~1b~0c",
                "an unknown field is named as an escaped JSON pointer");
    {
        td_profile_error e;
        int rc = check_text("{\"x\": 1, \"first_name\": \"J\", \"y\": 2}", false, &p, &e);
        CHECK(rc == TD_EINVAL && strstr(e.message, "/x") && strstr(e.message, "/y"),
              "every unknown field is named in the message (%s)", e.message);
        CHECK_STR(e.field, "/x", "the field is the first unknown one");
    }
    {
        char big[400];
        size_t n = 0;
        td_profile_error e;
        int rc;
        /* 60 two-byte characters: the pointer is cut at a character boundary */
        n += (size_t)snprintf(big + n, sizeof big - n, "{\"");
        for (int i = 0; i < 60; i++)
            n += (size_t)snprintf(big + n, sizeof big - n, "\xc3\xa9");
        snprintf(big + n, sizeof big - n, "\": 1}");
        rc = check_text(big, false, &p, &e);
        CHECK(rc == TD_EINVAL && strlen(e.field) < 60 && strstr(e.field, "..."),
              "a long unknown name is shortened (%s)", e.field);
        json_t *s = json_string(e.field);
        CHECK(s != NULL, "the shortened name is still UTF-8");
        json_decref(s);
        s = json_string(e.message);
        CHECK(s != NULL, "the message is UTF-8");
        json_decref(s);
    }
    expect_ok("{\"user_id\": \"whatever: the caller checks it\", \"created_at\": "
              "\"2026-01-01T00:00:00.000Z\", \"updated_at\": null, \"first_name\": \"Jane\"}",
              &p, "user_id, created_at and updated_at are accepted");
    CHECK_STR(p.user_id, UID, "a user_id in the object does not change the profile's");
    CHECK_INT(p.created_at, 0, "created_at in the object is ignored");
}

/* The length of each field, its control characters, NUL, trimming. */
static void lengths(void)
{
    static const struct {
        const char *name;
        size_t max, off;
    } limits[] = {{"first_name", 128, offsetof(td_profile, first_name)},
                  {"last_name", 128, offsetof(td_profile, last_name)},
                  {"phone_number", 64, offsetof(td_profile, phone_number)},
                  {"mailing_address", 512, offsetof(td_profile, mailing_address)}};
    td_profile p = {.user_id = UID};
    char *text = malloc(2000), ptr[64];

    for (size_t i = 0; i < TD_ARRAY_SIZE(limits); i++) {
        snprintf(ptr, sizeof ptr, "/%s", limits[i].name);
        snprintf(text, 2000, "{\"%s\": \"%0*d\"}", limits[i].name, (int)limits[i].max, 0);
        expect_ok(text, &p, "a value of the longest length is accepted");
        CHECK_INT(strlen((char *)&p + limits[i].off), limits[i].max, "%s keeps all %zu bytes",
                  limits[i].name, limits[i].max);
        snprintf(text, 2000, "{\"%s\": \"%0*d\"}", limits[i].name, (int)limits[i].max + 1, 0);
        expect_fail(text, TD_ETOOBIG, "too_long", ptr, "one byte over the limit");
    }
    /* e-mail: 254 bytes at most: a local part of 64, "@", labels of 63, 63 and 61 (or 62) */
    snprintf(text, 2000, "{\"email\": \"%.64s@%.63s.%.63s.%.61s\"}", A64, A64, A64, A64);
    expect_ok(text, &p, "an e-mail address of 254 bytes is accepted");
    CHECK_INT(strlen(p.email), 254, "the 254-byte address is kept whole");
    snprintf(text, 2000, "{\"email\": \"%.64s@%.63s.%.63s.%.62s\"}", A64, A64, A64, A64);
    expect_fail(text, TD_ETOOBIG, "too_long", "/email", "an e-mail address of 255 bytes");

    expect_fail("{\"first_name\": \"Ja\\u0007ne\"}", TD_EINVAL, "invalid_value", "/first_name",
                "a control character in a name");
    expect_fail("{\"last_name\": \"Doe\\nSmith\"}", TD_EINVAL, "invalid_value", "/last_name",
                "a line break in a name");
    expect_fail("{\"phone_number\": \"+1 555\\u0085 0100\"}", TD_EINVAL, "invalid_value",
                "/phone_number", "a C1 control character in a phone number");
    expect_fail("{\"phone_number\": \"+1\\t555\"}", TD_EINVAL, "invalid_value", "/phone_number",
                "a tab in a phone number");
    {
        json_t *in = json_pack("{s:s%}", "first_name", "Ja\0ne", (size_t)5);
        td_profile_error e;
        CHECK_INT(td_profile_check(in, false, &p, &e), TD_EINVAL, "a NUL inside a value fails");
        CHECK_STR(e.code, "invalid_value", "a NUL inside a value: invalid_value");
        CHECK_STR(e.field, "/first_name", "a NUL inside a value: the field");
        json_decref(in);
    }
    expect_ok("{\"mailing_address\": \"1 Market St\\r\\nSan Francisco\\tCA\"}", &p,
              "line breaks and tabs are allowed in an address");
    expect_fail("{\"mailing_address\": \"1 Market St\\u001b[31m\"}", TD_EINVAL, "invalid_value",
                "/mailing_address", "an escape character in an address");
    expect_ok("{\"first_name\": \"  Zoë \\n\", \"phone_number\": \"+33 6 12 34 56 78 \"}", &p,
              "white space around values is accepted");
    CHECK_STR(p.first_name, "Zoë", "values are trimmed");
    CHECK_STR(p.phone_number, "+33 6 12 34 56 78", "a phone number is trimmed");
    free(text);
}

/* E-mail syntax. */
static void emails(void)
{
    static const char *const good[] = {
        "jane@example.com",       "jane.doe+cv@mail.example.co.uk",
        "o'brien@example.ie",     "x@a-b.io",
        "JANE@EXAMPLE.COM",       "zoë@exämple.fr",
        "a_b-c=d@example.museum",
    };
    static const char *const bad[] = {
        "jane",
        "jane@",
        "@example.com",
        "jane@@example.com",
        "jane@exa@mple.com",
        "jane@localhost",
        "jane doe@example.com",
        "jane@example .com",
        ".jane@example.com",
        "jane.@example.com",
        "ja..ne@example.com",
        "jane@example..com",
        "jane@-example.com",
        "jane@example-.com",
        "jane@example.com.",
        "jane@1.2.3.4",
        "<jane@example.com>",
        "jane@exa_mple.com",
        "\\\"j\\\"@example.com",
        A64 "a@example.com",
    };
    td_profile p = {.user_id = UID};
    char text[256];

    for (size_t i = 0; i < TD_ARRAY_SIZE(good); i++) {
        snprintf(text, sizeof text, "{\"email\": \"%s\"}", good[i]);
        expect_ok(text, &p, "e-mail accepted");
        CHECK_STR(p.email, good[i], "e-mail %zu is stored as given", i);
    }
    for (size_t i = 0; i < TD_ARRAY_SIZE(bad); i++) {
        char what[160];
        snprintf(text, sizeof text, "{\"email\": \"%s\"}", bad[i]);
        snprintf(what, sizeof what, "e-mail %s is refused", bad[i]);
        expect_fail(text, TD_EINVAL, "invalid_email", "/email", what);
    }
}

/* The three URLs: td_url_check's rules, its error codes, and the normalised form stored. */
static void urls(void)
{
    static const char *const names[] = {"calendly_url", "linkedin_url", "portfolio_url"};
    td_profile p = {.user_id = UID};
    char text[4200], ptr[64];

    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        snprintf(ptr, sizeof ptr, "/%s", names[i]);
        snprintf(text, sizeof text, "{\"%s\": \"calendly.com/jane\"}", names[i]);
        expect_fail(text, TD_EINVAL, "invalid_url", ptr, "a URL without a scheme");
        snprintf(text, sizeof text, "{\"%s\": \"ftp://files.example.com/cv.pdf\"}", names[i]);
        expect_fail(text, TD_EINVAL, "invalid_url", ptr, "an ftp URL");
        snprintf(text, sizeof text, "{\"%s\": \"javascript:alert(1)\"}", names[i]);
        expect_fail(text, TD_EINVAL, "invalid_url", ptr, "a javascript: URL");
        snprintf(text, sizeof text, "{\"%s\": \"https://jane:secret@example.com/\"}", names[i]);
        expect_fail(text, TD_EINVAL, "url_has_credentials", ptr, "a URL with credentials");
        snprintf(text, sizeof text, "{\"%s\": \"https://example.com/a b\"}", names[i]);
        expect_fail(text, TD_EINVAL, "url_bad_characters", ptr, "a URL with a space");
        snprintf(text, sizeof text, "{\"%s\": \"https://example.com/%04000d\"}", names[i], 0);
        expect_fail(text, TD_ETOOBIG, "url_too_long", ptr, "a URL of 4000 bytes");
        snprintf(text, sizeof text, "{\"%s\": \"https://example.com/%02028d\"}", names[i], 0);
        expect_ok(text, &p, "a URL of 2048 bytes is accepted");
    }
    expect_ok("{\"portfolio_url\": \" https://jane.example.com/r\xc3\xa9sum\xc3\xa9 \", "
              "\"linkedin_url\": \"HTTPS://WWW.LinkedIn.com/in/jane\"}",
              &p, "URLs with white space around and non-ASCII paths");
    CHECK_STR(p.portfolio_url, "https://jane.example.com/r%C3%A9sum%C3%A9",
              "the normalised URL is stored (trimmed, percent-encoded)");
    CHECK(strncasecmp(p.linkedin_url, "https://", 8) == 0 && strstr(p.linkedin_url, "/in/jane"),
          "an upper-case scheme is accepted (%s)", p.linkedin_url);
}

/* PUT (whole) against PATCH (partial): absent, null and empty values. */
static void partial(void)
{
    td_profile p = full_profile(), before;
    td_profile_error e;

    CHECK_INT(check_text("{\"email\": \"new@example.com\", \"phone_number\": null, "
                         "\"calendly_url\": \"\"}",
                         true, &p, &e),
              0, "PATCH accepted");
    CHECK_STR(p.email, "new@example.com", "PATCH changes a given field");
    CHECK_STR(p.phone_number, "", "PATCH: null clears a field");
    CHECK_STR(p.calendly_url, "", "PATCH: an empty string clears a field");
    CHECK_STR(p.first_name, "Jane", "PATCH keeps an absent field");
    CHECK_STR(p.linkedin_url, "https://www.linkedin.com/in/jane-doe", "PATCH keeps an absent URL");
    CHECK_INT(p.created_at, 1700000000000, "PATCH keeps created_at");

    p = full_profile();
    CHECK_INT(check_text("{\"first_name\": \"Janet\"}", false, &p, &e), 0, "PUT accepted");
    CHECK_STR(p.first_name, "Janet", "PUT sets a given field");
    CHECK_STR(p.last_name, "", "PUT clears an absent field");
    CHECK_STR(p.portfolio_url, "", "PUT clears an absent URL");
    CHECK_STR(p.user_id, UID, "PUT keeps the user_id");

    p = full_profile();
    before = p;
    CHECK_INT(check_text("{\"first_name\": \"Janet\", \"email\": \"bad\"}", true, &p, &e),
              TD_EINVAL, "a PATCH with one bad field fails");
    CHECK(memcmp(&p, &before, sizeof p) == 0, "a failed check leaves the profile unchanged");

    {
        json_t *in = parse("{\"linkedin_url\": \"nope\"}");
        const char *field = NULL;
        char err[128] = "";
        int rc = td_profile_from_json(in, true, &p, &field, err, sizeof err);
        CHECK_INT(rc, TD_EINVAL, "td_profile_from_json fails like td_profile_check");
        CHECK_STR(field, "/linkedin_url", "td_profile_from_json names the field");
        CHECK(strstr(err, "/linkedin_url") != NULL, "td_profile_from_json explains (%s)", err);
        rc = td_profile_from_json(in, true, &p, NULL, NULL, 0);
        CHECK_INT(rc, TD_EINVAL, "td_profile_from_json takes NULL outputs");
        json_decref(in);
    }
}

/* td_profile_json, and back. */
static void round_trip(void)
{
    td_profile p = full_profile(), q = {.user_id = UID}, empty = {.user_id = UID};
    json_t *o = td_profile_json(&p);
    td_profile_error e;

    CHECK(o != NULL, "td_profile_json gives an object");
    CHECK_STR(at(o, "user_id"), UID, "JSON: user_id");
    CHECK_STR(at(o, "mailing_address"), p.mailing_address, "JSON: mailing_address");
    CHECK_STR(at(o, "created_at"), "2023-11-14T22:13:20.000Z", "JSON: created_at as ISO time");
    CHECK_STR(at(o, "updated_at"), "2023-11-14T22:13:21.000Z", "JSON: updated_at as ISO time");
    CHECK_INT(json_object_size(o), 11, "JSON: the eight fields, user_id and two times");
    CHECK_INT(td_profile_check(o, false, &q, &e), 0, "the JSON of a profile is accepted back");
    q.created_at = p.created_at;
    q.updated_at = p.updated_at;
    CHECK(memcmp(&p, &q, sizeof p) == 0, "the JSON round trip gives the same profile");
    json_decref(o);

    o = td_profile_json(&empty);
    CHECK_STR(at(o, "email"), "(null)", "JSON: an empty field is null");
    CHECK_STR(at(o, "created_at"), "(null)", "JSON: no time is null");
    q = full_profile();
    CHECK_INT(td_profile_check(o, false, &q, &e), 0, "the JSON of an empty profile is accepted");
    CHECK_STR(q.first_name, "", "nulls clear every field");
    CHECK_STR(q.portfolio_url, "", "nulls clear every URL");
    json_decref(o);
}

/* Merges text with the full profile and builds the résumé model of the result. */
static json_t *merged(const char *text, json_t **model)
{
    td_profile p = full_profile();
    json_t *in = parse(text), *out = td_profile_merge(in, &p);
    char err[256] = "";

    *model = NULL;
    if (out && td_model_resume(out, model, err, sizeof err) != 0)
        printf("# model: %s\n", err);
    json_decref(in);
    return out;
}

/* The API shape: personal.* and the URLs at the top level. */
static void merge_api(void)
{
    json_t *m, *d = merged("{}", &m);

    CHECK(d && m, "an empty payload is merged and modelled");
    CHECK_STR(at(d, "personal/full_name"), "Jane Doe", "API: full_name is first + last");
    CHECK_STR(at(d, "personal/email"), "jane.doe@example.com", "API: personal.email");
    CHECK_STR(at(d, "personal/phone"), "+1 415 555 0100", "API: personal.phone");
    CHECK_STR(at(d, "personal/address"), "1 Market St\nSan Francisco, CA 94105",
              "API: personal.address");
    CHECK_STR(at(d, "calendly_url"), "https://calendly.com/jane-doe/intro",
              "API: calendly_url at the top level");
    CHECK_STR(at(d, "linkedin_url"), "https://www.linkedin.com/in/jane-doe",
              "API: linkedin_url at the top level");
    CHECK_STR(at(d, "portfolio_url"), "https://jane.example.com/",
              "API: portfolio_url at the top level");
    CHECK_STR(at(m, "personal/full_name"), "Jane Doe", "model: full name");
    CHECK_STR(at(m, "personal/first_name"), "Jane", "model: first name");
    CHECK_STR(at(m, "personal/last_name"), "Doe", "model: last name");
    CHECK_STR(at(m, "personal/email"), "jane.doe@example.com", "model: e-mail");
    CHECK_STR(at(m, "personal/phone"), "+1 415 555 0100", "model: phone");
    CHECK_STR(at(m, "personal/address_lines/1"), "San Francisco, CA 94105", "model: address lines");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/jane-doe", "model: LinkedIn");
    CHECK_STR(at(m, "calendly_url"), "https://calendly.com/jane-doe/intro", "model: Calendly");
    CHECK_STR(at(m, "portfolio_url"), "https://jane.example.com/", "model: portfolio");
    json_decref(d);
    json_decref(m);

    d = merged("{\"personal\": {\"full_name\": \"Janet Roe\", \"email\": \"janet@example.org\", "
               "\"phone\": \"\", \"address\": \"   \"}, \"linkedin_url\": "
               "\"https://www.linkedin.com/in/janet\", \"target_position\": \"Engineer\"}",
               &m);
    CHECK_STR(at(d, "personal/full_name"), "Janet Roe", "API: the payload's name wins");
    CHECK_STR(at(d, "personal/first_name"), "(absent)", "API: no name part is added");
    CHECK_STR(at(d, "personal/email"), "janet@example.org", "API: the payload's e-mail wins");
    CHECK_STR(at(d, "personal/phone"), "+1 415 555 0100", "API: an empty phone is filled");
    CHECK_STR(at(d, "personal/address"), "1 Market St\nSan Francisco, CA 94105",
              "API: a blank address is filled");
    CHECK_STR(at(d, "linkedin_url"), "https://www.linkedin.com/in/janet",
              "API: the payload's LinkedIn wins");
    CHECK_STR(at(d, "target_position"), "Engineer", "API: other fields stay");
    CHECK_STR(at(m, "personal/first_name"), "Janet", "model: the payload's first name");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/janet",
              "model: the payload's LinkedIn");
    json_decref(d);
    json_decref(m);

    d = merged("{\"personal\": {\"first_name\": \"Janet\", \"address_lines\": [\"PO Box 1\"], "
               "\"portfolio_url\": \"https://janet.example.org/\"}, \"profiles\": "
               "[{\"network\": \" linkedin \", \"username\": \"janet\"}, {\"network\": "
               "\"Calendly\", \"url\": \"\"}]}",
               &m);
    CHECK_STR(at(d, "personal/full_name"), "(absent)",
              "API: a first name alone is a name: nothing is filled");
    CHECK_STR(at(d, "personal/last_name"), "(absent)", "API: no last name is added");
    CHECK_STR(at(d, "personal/address"), "(absent)", "API: address_lines count as an address");
    CHECK_STR(at(d, "portfolio_url"), "(absent)",
              "API: personal.portfolio_url counts as the portfolio");
    CHECK_STR(at(d, "linkedin_url"), "(absent)", "API: a LinkedIn profile with a username counts");
    CHECK_STR(at(d, "calendly_url"), "https://calendly.com/jane-doe/intro",
              "API: a Calendly profile without a URL does not count");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/janet",
              "model: the payload's LinkedIn profile");
    CHECK_STR(at(m, "portfolio_url"), "https://janet.example.org/",
              "model: the payload's portfolio");
    CHECK_STR(at(m, "personal/address_lines/0"), "PO Box 1", "model: the payload's address");
    json_decref(d);
    json_decref(m);

    {
        td_profile p = {.user_id = UID, .last_name = "Doe"};
        json_t *in = parse("{\"personal\": null}"), *out = td_profile_merge(in, &p);
        CHECK_STR(at(out, "personal/full_name"), "Doe", "API: a last name alone makes the name");
        CHECK_STR(at(out, "personal/email"), "(absent)", "API: empty profile fields fill nothing");
        CHECK_STR(at(out, "calendly_url"), "(absent)", "API: no URL from an empty profile");
        json_decref(out);
        json_decref(in);
        p.last_name[0] = '\0';
        in = parse("{\"job_id\": \"x\"}");
        out = td_profile_merge(in, &p);
        CHECK(json_equal(in, out), "an empty profile leaves the payload as it is");
        json_decref(out);
        json_decref(in);
    }
}

/* A JSON Resume document: basics.* and the profiles list. */
static void merge_jsonresume(void)
{
    json_t *m, *d = merged("{\"basics\": {\"label\": \"Engineer\"}, \"work\": []}", &m);

    CHECK(d && m, "a JSON Resume document is merged and modelled");
    CHECK_STR(at(d, "personal"), "(absent)", "JSON Resume: no personal object is added");
    CHECK_STR(at(d, "basics/name"), "Jane Doe", "JSON Resume: basics.name");
    CHECK_STR(at(d, "basics/email"), "jane.doe@example.com", "JSON Resume: basics.email");
    CHECK_STR(at(d, "basics/phone"), "+1 415 555 0100", "JSON Resume: basics.phone");
    CHECK_STR(at(d, "basics/location/address"), "1 Market St\nSan Francisco, CA 94105",
              "JSON Resume: basics.location.address");
    CHECK_STR(at(d, "basics/url"), "https://jane.example.com/", "JSON Resume: basics.url");
    CHECK_STR(at(d, "basics/profiles/0/network"), "LinkedIn", "JSON Resume: a LinkedIn profile");
    CHECK_STR(at(d, "basics/profiles/0/url"), "https://www.linkedin.com/in/jane-doe",
              "JSON Resume: its URL");
    CHECK_STR(at(d, "basics/profiles/1/network"), "Calendly", "JSON Resume: a Calendly profile");
    CHECK_STR(at(d, "linkedin_url"), "(absent)", "JSON Resume: no top-level URL is added");
    CHECK_STR(at(m, "personal/full_name"), "Jane Doe", "model: full name");
    CHECK_STR(at(m, "personal/email"), "jane.doe@example.com", "model: e-mail");
    CHECK_STR(at(m, "personal/address_lines/0"), "1 Market St", "model: address line 1");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/jane-doe", "model: LinkedIn");
    CHECK_STR(at(m, "calendly_url"), "https://calendly.com/jane-doe/intro", "model: Calendly");
    CHECK_STR(at(m, "portfolio_url"), "https://jane.example.com/", "model: portfolio");
    json_decref(d);
    json_decref(m);

    d = merged("{\"basics\": {\"name\": \"Janet Roe\", \"email\": \"\", \"url\": "
               "\"https://janet.example.org\", \"location\": {\"city\": \"Oakland\", "
               "\"countryCode\": \"US\"}, \"profiles\": [{\"network\": \"LinkedIn\", \"url\": "
               "\"https://www.linkedin.com/in/janet\"}]}}",
               &m);
    CHECK_STR(at(d, "basics/name"), "Janet Roe", "JSON Resume: the payload's name wins");
    CHECK_STR(at(d, "basics/email"), "jane.doe@example.com",
              "JSON Resume: an empty e-mail is filled");
    CHECK_STR(at(d, "basics/url"), "https://janet.example.org",
              "JSON Resume: the payload's url wins");
    CHECK_STR(at(d, "basics/location/city"), "Oakland", "JSON Resume: the location's city stays");
    CHECK_STR(at(d, "basics/location/address"), "1 Market St\nSan Francisco, CA 94105",
              "JSON Resume: the address is added to the location");
    CHECK_INT(json_array_size(json_object_get(json_object_get(d, "basics"), "profiles")), 2,
              "JSON Resume: LinkedIn is not added twice, Calendly is added");
    CHECK_STR(at(d, "basics/profiles/1/network"), "Calendly", "JSON Resume: Calendly added");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/janet",
              "model: the payload's LinkedIn");
    CHECK_STR(at(m, "personal/location"), "Oakland, US", "model: the payload's location");
    json_decref(d);
    json_decref(m);

    d = merged("{\"basics\": {\"location\": {\"address\": \"PO Box 1\"}}, \"profiles\": []}", &m);
    CHECK_STR(at(d, "basics/location/address"), "PO Box 1",
              "JSON Resume: the payload's address wins");
    CHECK_STR(at(d, "profiles/0/network"), "LinkedIn",
              "JSON Resume: entries go to the top-level profiles the model reads");
    CHECK_STR(at(d, "basics/profiles"), "(absent)", "JSON Resume: basics.profiles is not made");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/jane-doe",
              "model: LinkedIn from the top-level profiles");
    json_decref(d);
    json_decref(m);
}

/* A cover letter: the same fields reach its model. */
static void merge_cover_letter(void)
{
    td_profile p = full_profile();
    json_t *in = parse("{\"recipient\": {\"name\": \"Ada Hiring\"}, \"content\": "
                       "{\"opening_paragraph\": \"Hello\"}}");
    json_t *d = td_profile_merge(in, &p), *m = NULL;
    char err[256] = "";

    CHECK_INT(td_model_cover_letter(d, &m, err, sizeof err), 0, "cover letter: modelled (%s)", err);
    CHECK_STR(at(m, "personal/full_name"), "Jane Doe", "cover letter model: sender's name");
    CHECK_STR(at(m, "personal/email"), "jane.doe@example.com", "cover letter model: e-mail");
    CHECK_STR(at(m, "calendly_url"), "https://calendly.com/jane-doe/intro",
              "cover letter model: Calendly");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/jane-doe",
              "cover letter model: LinkedIn");
    json_decref(m);
    json_decref(d);
    json_decref(in);
}

/* Inputs the merge leaves alone. */
static void merge_edges(void)
{
    td_profile p = full_profile();
    json_t *in = parse("[1, 2]"), *out = td_profile_merge(in, &p);

    CHECK(out && json_equal(in, out), "a payload that is not an object is copied");
    json_decref(out);
    json_decref(in);
    in = parse("{\"personal\": {\"email\": \"\"}}");
    out = td_profile_merge(in, NULL);
    CHECK(out && json_equal(in, out), "no profile: a copy");
    json_decref(out);
    out = td_profile_merge(in, &p);
    CHECK_STR(at(in, "personal/email"), "", "the payload itself is not changed");
    CHECK_STR(at(out, "personal/email"), "jane.doe@example.com", "the copy is");
    json_decref(out);
    json_decref(in);
    in = parse("{\"personal\": \"Jane\"}");
    out = td_profile_merge(in, &p);
    CHECK_STR(at(out, "personal"), "Jane",
              "a personal of the wrong type is left for the model to report");
    json_decref(out);
    json_decref(in);
}

/* Runs every group of checks. */
int main(void)
{
    structure();
    lengths();
    emails();
    urls();
    partial();
    round_trip();
    merge_api();
    merge_jsonresume();
    merge_cover_letter();
    merge_edges();
    TEST_DONE();
}
