/* The template data model: the sample inputs against their golden models, names, dates, links,
 * bad types, bounds, idempotence, and the built-in text templates rendered strictly on it.
 * TD_UPDATE_GOLDEN=1 rewrites the golden files in tests/data/model/. */
#include "core/common.h"

#include "test.h"
#include "trackdoc/docx.h"
#include "trackdoc/model.h"
#include "trackdoc/tmpl.h"

#define DATA "tests/data/model/"

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

/* Builds the résumé model of a JSON text; returns NULL (and the code in *rc) on failure. */
static json_t *resume_of(const char *text, int *rc, char *err, size_t errsz)
{
    json_t *in = parse(text), *out = NULL;
    int r = td_model_resume(in, &out, err, errsz);

    if (rc)
        *rc = r;
    json_decref(in);
    return out;
}

/* Builds the cover-letter model of a JSON text. */
static json_t *letter_of(const char *text, int *rc, char *err, size_t errsz)
{
    json_t *in = parse(text), *out = NULL;
    int r = td_model_cover_letter(in, &out, err, errsz);

    if (rc)
        *rc = r;
    json_decref(in);
    return out;
}

/* The string at a slash-separated path ("personal/first_name", "experience/0/title"), or
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
    if (json_is_true(v))
        return "true";
    if (json_is_false(v))
        return "false";
    return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* The size of the list at path. */
static size_t len_at(const json_t *v, const char *path)
{
    char key[128];

    while (v && *path) {
        size_t n = strcspn(path, "/");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_is_array(v) ? json_array_get(v, strtoul(key, NULL, 10)) : json_object_get(v, key);
        path += n + (path[n] == '/');
    }
    return json_array_size(v);
}

/* Builds the model of the fixture name.json, compares it with its golden file gold.model.json
 * (or writes that file), and checks that the model of the model is the same. Returns it. */
static json_t *golden(const char *kind, const char *name, const char *gold)
{
    char in_path[256], gold_path[256], err[256] = "";
    json_error_t je;
    json_t *in, *m = NULL, *again = NULL, *want;
    int rc;

    snprintf(in_path, sizeof in_path, DATA "%s.json", name);
    snprintf(gold_path, sizeof gold_path, DATA "%s.model.json", gold);
    in = json_load_file(in_path, 0, &je);
    CHECK(in != NULL, "%s parses: %s", in_path, in ? "" : je.text);
    if (!in)
        return NULL;
    rc = td_model_apply(kind, in, &m, err, sizeof err);
    CHECK_INT(rc, 0, "%s: %s model built %s", name, kind, err);
    json_decref(in);
    if (rc)
        return NULL;
    if (getenv("TD_UPDATE_GOLDEN")) {
        char *text = json_dumps(m, JSON_INDENT(2));
        FILE *f = fopen(gold_path, "w");
        if (f && text)
            fprintf(f, "%s\n", text);
        if (f)
            fclose(f);
        free(text);
    }
    want = json_load_file(gold_path, 0, &je);
    CHECK(want && json_equal(m, want), "%s: model equals %s", name, gold_path);
    if (want && !json_equal(m, want)) {
        char *got = json_dumps(m, JSON_INDENT(2));
        printf("# got:\n%s\n", got);
        free(got);
    }
    json_decref(want);
    rc = td_model_apply(kind, m, &again, err, sizeof err);
    CHECK(rc == 0 && json_equal(m, again), "%s: the model of the model is the model %s", name, err);
    json_decref(again);
    return m;
}

/* The API résumé sample. */
static void api_resume(void)
{
    json_t *m = golden("resume", "sample_resume", "sample_resume");

    if (!m)
        return;
    CHECK_STR(at(m, "personal/first_name"), "Zoë", "first name split off, unicode kept");
    CHECK_STR(at(m, "personal/last_name"), "Lindqvist", "last name");
    CHECK_STR(at(m, "personal/initials"), "ZL", "initials");
    CHECK_STR(at(m, "personal/headline"), "Senior Backend Engineer",
              "headline from target_position");
    CHECK_STR(at(m, "personal/location"), "Stockholm, Sweden", "location from the address");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/zoe-lindqvist/",
              "linkedin_url lifted from personal to the top level");
    CHECK_STR(at(m, "personal/calendly_url"), "https://calendly.com/zoe-lindqvist/30min",
              "calendly_url mirrored into personal");
    CHECK_STR(at(m, "linkedin_text"), "linkedin.com/in/zoe-lindqvist", "readable LinkedIn text");
    CHECK_STR(at(m, "portfolio_text"), "zoelindqvist.dev", "readable portfolio text");
    CHECK_STR(at(m, "calendly_sep"), "true", "a separator before the calendly link");
    CHECK_STR(at(m, "experience/0/date_range"), "Mar 2021 \xE2\x80\x93 present", "open range");
    CHECK_STR(at(m, "experience/0/is_current"), "true", "no end date: current");
    CHECK_STR(at(m, "experience/1/date_range"), "Jan 2018 \xE2\x80\x93 Feb 2021", "closed range");
    CHECK_STR(at(m, "experience/1/is_current"), "false", "an end date: not current");
    CHECK_INT(len_at(m, "experience/0/highlights"), 4, "bullet lines became highlights");
    CHECK_STR(at(m, "experience/0/summary"),
              "Technical lead of the settlement platform (8 engineers), which pays out \xE2\x82\xAC"
              "2B a month to 40,000 merchants.",
              "the prose stays as the summary");
    CHECK(strstr(at(m, "experience/0/description"), "\n- Re-architected") != NULL,
          "the description is kept as given");
    CHECK_STR(at(m, "experience/2/has_highlights"), "false", "no bullets, no highlights");
    CHECK_STR(at(m, "experience/2/location"), "", "a missing text is an empty string");
    CHECK_STR(at(m, "experience/2/url"), "(null)", "a missing URL is null");
    CHECK_STR(at(m, "experience/2/last"), "true", "last flag");
    CHECK_STR(at(m, "education/0/graduation_year"), "2015", "an integer year becomes text");
    CHECK_STR(at(m, "education/0/degree_line"), "MSc in Computer Science", "degree line");
    CHECK_STR(at(m, "education/0/date_range"), "2015", "range of a graduation year alone");
    CHECK_STR(at(m, "skills/technical_text"),
              "Go, Kotlin, Java, PostgreSQL, Kafka, Kubernetes, AWS, Terraform, gRPC, "
              "Observability (OpenTelemetry)",
              "technical skills joined");
    CHECK_STR(at(m, "skills/groups/0/name"), "Technical", "technical group");
    CHECK_STR(at(m, "skills/groups/1/name"), "Interpersonal", "soft skills group");
    CHECK_STR(at(m, "languages_text"),
              "Swedish (Native), English (Fluent), German (Conversational)", "languages joined");
    CHECK_STR(at(m, "contact/1/href"), "tel:+46701234567", "tel: link keeps digits and the +");
    CHECK_STR(at(m, "has_projects"), "false", "no projects");
    CHECK_STR(at(m, "has_experience"), "true", "experience");
    json_decref(m);
}

/* The JSON Resume sample. */
static void jsonresume(void)
{
    json_t *m = golden("resume", "sample_resume_jsonresume", "sample_resume_jsonresume");

    if (!m)
        return;
    CHECK_STR(at(m, "personal/full_name"), "Daniel O'Connor", "basics.name");
    CHECK_STR(at(m, "personal/last_name"), "O'Connor", "last name with an apostrophe");
    CHECK_STR(at(m, "personal/headline"), "Machine Learning Engineer", "basics.label");
    CHECK_STR(at(m, "personal/location"), "San Francisco, CA, US", "location from city, region");
    CHECK_INT(len_at(m, "personal/address_lines"), 3, "postal address lines");
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/daniel-oconnor",
              "LinkedIn profile");
    CHECK_STR(at(m, "calendly_url"), "https://calendly.com/daniel-oconnor/intro",
              "Calendly URL made from the username");
    CHECK_STR(at(m, "portfolio_url"), "https://danieloconnor.io", "basics.url is the portfolio");
    CHECK_INT(len_at(m, "profiles"), 1, "LinkedIn and Calendly leave the other profiles");
    CHECK_STR(at(m, "profiles/0/url"), "https://github.com/doconnor", "GitHub URL from username");
    CHECK_STR(at(m, "professional_summary"),
              "Machine learning engineer who takes models from notebook to production. Six years "
              "of building recommendation and forecasting systems, with a bias for simple "
              "baselines, honest evaluation and pipelines that other people can run.",
              "basics.summary");
    CHECK_STR(at(m, "experience/0/company"), "Harbor Grocery", "work.name is the company");
    CHECK_STR(at(m, "experience/0/title"), "Senior Machine Learning Engineer", "work.position");
    CHECK_STR(at(m, "experience/0/date_range"), "Apr 2022 \xE2\x80\x93 present",
              "YYYY-MM-DD start");
    CHECK_STR(at(m, "experience/2/date_range"), "2017 \xE2\x80\x93 2019", "YYYY dates");
    CHECK_INT(len_at(m, "experience/0/highlights"), 3, "highlights kept");
    CHECK_STR(at(m, "experience/0/description"),
              "Own demand forecasting for 310 stores and the recommendation service behind the "
              "mobile app.",
              "work.summary is the description");
    CHECK_STR(at(m, "education/0/degree_line"), "MA in Statistics", "studyType in area");
    CHECK_STR(at(m, "education/0/graduation_year"), "2017", "graduation year from endDate");
    CHECK_STR(at(m, "education/0/courses_text"),
              "Statistical Learning, Causal Inference, Bayesian Methods", "courses joined");
    CHECK_STR(at(m, "skills/technical/0"), "Machine learning", "skill names go to technical");
    CHECK_STR(at(m, "skills/technical/1"), "PyTorch", "and their keywords");
    CHECK_STR(at(m, "skills/groups/2/keywords_text"),
              "Docker, Kubernetes, MLflow, Feast, GitHub Actions", "group keywords joined");
    CHECK_STR(at(m, "projects/0/url_text"), "github.com/doconnor/tidyforecast", "project link");
    CHECK_STR(at(m, "certificates/0/date_text"), "Feb 2023", "certificate date");
    CHECK_STR(at(m, "interests_text"), "Open data, Trail running", "interests joined");
    CHECK_STR(at(m, "has_volunteer"), "false", "no volunteering");
    CHECK_STR(at(m, "basics/name"), "Daniel O'Connor", "the input's own fields are kept");
    json_decref(m);
}

/* The cover-letter sample. */
static void cover_letter(void)
{
    json_t *m = golden("cover-letter", "sample_cover_letter", "sample_cover_letter");

    if (!m)
        return;
    CHECK_STR(at(m, "date"), "24 November 2026", "ISO date written out");
    CHECK_STR(at(m, "date_iso"), "2026-11-24", "ISO date kept");
    CHECK_STR(at(m, "salutation"), "Dear Sarah Chen,", "salutation with the recipient's name");
    CHECK_STR(at(m, "subject"), "Application for Senior Backend Engineer (Ref. BE-2291)",
              "subject line");
    CHECK_INT(len_at(m, "recipient/lines"), 5, "recipient block: name, title, company, 2 lines");
    CHECK_INT(len_at(m, "personal/address_lines"), 3, "sender address lines");
    CHECK_INT(len_at(m, "paragraphs"), 5, "opening, three body paragraphs, closing");
    CHECK_INT(len_at(m, "body_paragraphs"), 3, "body paragraphs at the top level");
    CHECK_STR(at(m, "sign_off"), "Kind regards,", "default sign-off");
    CHECK_STR(at(m, "personal/headline"), "Senior Backend Engineer", "headline from the position");
    CHECK_STR(at(m, "calendly_url"), "https://calendly.com/zoe-lindqvist/30min", "calendly_url");
    json_decref(m);
}

/* Names: one word, particles, "Last, First", honorifics and suffixes, given parts, unicode. */
static void names(void)
{
    static const struct {
        const char *full, *first, *middle, *last, *initials;
    } cases[] = {
        {"Cher", "Cher", "", "", "C"},
        {"Jane Mary Doe", "Jane", "Mary", "Doe", "JD"},
        {"Ludwig van Beethoven", "Ludwig", "", "van Beethoven", "LB"},
        {"Juan de la Cruz", "Juan", "", "de la Cruz", "JC"},
        {"Doe, Jane", "Jane", "", "Doe", "JD"},
        {"Dr. Jane Doe, PhD", "Jane", "", "Doe", "JD"},
        {"  Åsa   Öberg  ", "Åsa", "", "Öberg", "ÅÖ"},
        {"李 小龍", "李", "", "小龍", "李小"},
        {"", "", "", "", ""},
    };
    char text[256], what[300];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        json_t *m;
        snprintf(text, sizeof text, "{\"personal\": {\"full_name\": \"%s\"}}", cases[i].full);
        snprintf(what, sizeof what, "name \"%s\"", cases[i].full);
        m = resume_of(text, NULL, NULL, 0);
        CHECK_STR(at(m, "personal/first_name"), cases[i].first, "%s: first", what);
        CHECK_STR(at(m, "personal/middle_name"), cases[i].middle, "%s: middle", what);
        CHECK_STR(at(m, "personal/last_name"), cases[i].last, "%s: last", what);
        CHECK_STR(at(m, "personal/initials"), cases[i].initials, "%s: initials", what);
        json_decref(m);
    }
    json_t *m = resume_of("{\"personal\": {\"first_name\": \"Ana\", \"last_name\": \"Lima\"}}",
                          NULL, NULL, 0);
    CHECK_STR(at(m, "personal/full_name"), "Ana Lima", "full name made from given parts");
    json_decref(m);
    m = resume_of("{\"personal\": {\"full_name\": \"Mary Jane Watson\", \"first_name\": "
                  "\"Mary Jane\", \"last_name\": \"Watson\"}}",
                  NULL, NULL, 0);
    CHECK_STR(at(m, "personal/first_name"), "Mary Jane", "given first name wins");
    CHECK_STR(at(m, "personal/middle_name"), "", "no middle name guessed when parts are given");
    json_decref(m);
}

/* Dates: YYYY, YYYY-MM, YYYY-MM-DD, free text, integers, "present", bad dates. */
static void dates(void)
{
    static const struct {
        const char *start, *end, *range, *current;
    } cases[] = {
        {"\"2021\"", "\"2023\"", "2021 \xE2\x80\x93 2023", "false"},
        {"\"2021-03\"", "null", "Mar 2021 \xE2\x80\x93 present", "true"},
        {"\"2021-03-15\"", "\"2021-11-30\"", "Mar 2021 \xE2\x80\x93 Nov 2021", "false"},
        {"\"2021-03\"", "\"Present\"", "Mar 2021 \xE2\x80\x93 present", "true"},
        {"2019", "2020", "2019 \xE2\x80\x93 2020", "false"},
        {"\"Spring 2020\"", "\"Summer 2020\"", "Spring 2020 \xE2\x80\x93 Summer 2020", "false"},
        {"\"2021-13\"", "\"2022-02-30\"", "2021-13 \xE2\x80\x93 2022-02-30", "false"},
        {"\"2020-05\"", "\"2020-05\"", "May 2020", "false"},
        {"\"\"", "\"2018\"", "2018", "false"},
        {"null", "null", "", "true"},
    };
    char text[256];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        json_t *m;
        snprintf(text, sizeof text,
                 "{\"experience\": [{\"company\": \"X\", \"start_date\": %s, \"end_date\": %s}]}",
                 cases[i].start, cases[i].end);
        m = resume_of(text, NULL, NULL, 0);
        CHECK_STR(at(m, "experience/0/date_range"), cases[i].range, "dates %s..%s: range",
                  cases[i].start, cases[i].end);
        CHECK_STR(at(m, "experience/0/is_current"), cases[i].current, "dates %s..%s: current",
                  cases[i].start, cases[i].end);
        json_decref(m);
    }
    json_t *m = resume_of("{\"experience\": [{\"start_date\": \"2020\", \"date_range\": "
                          "\"since 2020\"}]}",
                          NULL, NULL, 0);
    CHECK_STR(at(m, "experience/0/date_range"), "since 2020", "a given range wins");
    json_decref(m);

    static const struct {
        const char *in, *out;
    } letter[] = {
        {"2026-11-24", "24 November 2026"}, {"2026-02-01T09:30:00Z", "1 February 2026"},
        {"2026-11", "November 2026"},       {"24/11/2026", "24/11/2026"},
        {"2025-02-29", "2025-02-29"},       {"2024-02-29", "29 February 2024"},
    };
    for (size_t i = 0; i < TD_ARRAY_SIZE(letter); i++) {
        snprintf(text, sizeof text, "{\"date\": \"%s\"}", letter[i].in);
        m = letter_of(text, NULL, NULL, 0);
        CHECK_STR(at(m, "date"), letter[i].out, "letter date %s", letter[i].in);
        json_decref(m);
    }
}

/* Descriptions: bullet lines become highlights once, the prose is the summary, and building
 * the model again changes nothing. */
static void descriptions(void)
{
    static const struct {
        const char *in, *summary;
        size_t n;
        const char *first;
    } cases[] = {
        {"{\"description\": \"- a\\n- b\"}", "", 2, "a"},
        {"{\"description\": \"Prose.\\n\\u2022 a\\n* b\\nMore prose.\"}", "Prose.\nMore prose.", 2,
         "a"},
        {"{\"description\": \"- b\\n- c\", \"highlights\": [\"a\", \"b\"]}", "", 3, "a"},
        {"{\"summary\": \"JSON Resume prose\\n- x\", \"highlights\": [\"x\"]}", "JSON Resume prose",
         1, "x"},
        {"{\"description\": \"-not a bullet\"}", "-not a bullet", 0, "(absent)"},
    };
    char text[512];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        json_t *m, *again = NULL;
        snprintf(text, sizeof text, "{\"experience\": [%s]}", cases[i].in);
        m = resume_of(text, NULL, NULL, 0);
        CHECK_STR(at(m, "experience/0/summary"), cases[i].summary, "%s: summary", cases[i].in);
        CHECK_INT(len_at(m, "experience/0/highlights"), cases[i].n, "%s: highlights", cases[i].in);
        CHECK_STR(at(m, "experience/0/highlights/0"), cases[i].first, "%s: first highlight",
                  cases[i].in);
        CHECK(m && td_model_resume(m, &again, NULL, 0) == 0 && json_equal(m, again),
              "%s: the model of the model is the model", cases[i].in);
        json_decref(again);
        json_decref(m);
    }
}

/* Empty input: every section is hidden, every variable is there. */
static void empty(void)
{
    json_t *m = golden("cover-letter", "empty", "empty_cover_letter");

    json_decref(m);
    m = golden("resume", "empty", "empty_resume");
    static const char *const flags[] = {
        "has_summary",   "has_contact",   "has_links",     "has_profiles",  "has_experience",
        "has_education", "has_skills",    "has_projects",  "has_languages", "has_certificates",
        "has_awards",    "has_volunteer", "has_interests", "portfolio_sep", "calendly_sep",
    };

    CHECK(m != NULL, "an empty object is a valid résumé");
    for (size_t i = 0; i < TD_ARRAY_SIZE(flags); i++)
        CHECK_STR(at(m, flags[i]), "false", "empty: %s", flags[i]);
    CHECK_STR(at(m, "linkedin_url"), "(null)", "empty: linkedin_url is null");
    CHECK_STR(at(m, "personal/linkedin_url"), "(null)", "empty: personal.linkedin_url is null");
    CHECK_STR(at(m, "personal/full_name"), "", "empty: full_name is an empty string");
    CHECK_STR(at(m, "skills/technical_text"), "", "empty: technical_text");
    json_decref(m);

    m = resume_of("{\"experience\": [], \"skills\": {\"technical\": [\" \", \"\"]}, "
                  "\"linkedin_url\": \"\", \"professional_summary\": \"  \"}",
                  NULL, NULL, 0);
    CHECK_STR(at(m, "has_experience"), "false", "an empty list hides its section");
    CHECK_STR(at(m, "has_skills"), "false", "blank skills are dropped");
    CHECK_STR(at(m, "has_links"), "false", "an empty URL is no link");
    CHECK_STR(at(m, "linkedin_url"), "(null)", "an empty URL becomes null");
    CHECK_STR(at(m, "has_summary"), "false", "a blank summary is no summary");
    json_decref(m);

    m = letter_of("{}", NULL, NULL, 0);
    CHECK(m != NULL, "an empty object is a valid cover letter");
    CHECK_STR(at(m, "salutation"), "Dear Hiring Manager,", "salutation without a name");
    CHECK_STR(at(m, "has_date"), "false", "no date: left to the caller");
    CHECK_STR(at(m, "date"), "", "no date: empty");
    CHECK_STR(at(m, "subject"), "", "no position: no subject");
    CHECK_STR(at(m, "has_recipient"), "false", "no recipient");
    json_decref(m);
}

/* Links: precedence, mirroring, separators, display text, other profiles. */
static void links(void)
{
    json_t *m = resume_of("{\"linkedin_url\": \"https://linkedin.com/in/top\", \"personal\": "
                          "{\"linkedin_url\": \"https://linkedin.com/in/personal\", "
                          "\"calendly_url\": \"http://calendly.com/me?month=2026-01#x\"}}",
                          NULL, NULL, 0);

    CHECK_STR(at(m, "linkedin_url"), "https://linkedin.com/in/top", "the top level wins");
    CHECK_STR(at(m, "personal/linkedin_url"), "https://linkedin.com/in/top",
              "personal gets the same URL");
    CHECK_STR(at(m, "calendly_url"), "http://calendly.com/me?month=2026-01#x", "URL kept whole");
    CHECK_STR(at(m, "calendly_text"), "calendly.com/me", "display text without query");
    CHECK_STR(at(m, "portfolio_sep"), "false", "no portfolio, no separator");
    CHECK_STR(at(m, "calendly_sep"), "true", "calendly after linkedin");
    CHECK_STR(at(m, "has_links"), "true", "has_links");
    json_decref(m);

    m = resume_of("{\"portfolio_url\": \"https://me.dev\", \"calendly_url\": \"https://c.com/x\"}",
                  NULL, NULL, 0);
    CHECK_STR(at(m, "portfolio_sep"), "false", "the first link has no separator");
    CHECK_STR(at(m, "calendly_sep"), "true", "calendly after portfolio");
    json_decref(m);

    m = resume_of("{\"profiles\": [{\"network\": \"linkedin\", \"username\": \"jo\"}, "
                  "{\"network\": \"Mastodon\", \"url\": \"https://mastodon.social/@jo\"}]}",
                  NULL, NULL, 0);
    CHECK_STR(at(m, "linkedin_url"), "https://www.linkedin.com/in/jo",
              "API profiles feed linkedin_url too");
    CHECK_STR(at(m, "profiles/0/text"), "mastodon.social/@jo", "other profiles stay");
    CHECK_INT(len_at(m, "profiles"), 1, "one other profile");
    json_decref(m);
}

/* Fields the model does not know stay where they were. */
static void unknown_fields(void)
{
    json_t *m = resume_of("{\"custom\": {\"a\": [1, 2]}, \"experience\": [{\"company\": \"X\", "
                          "\"team\": \"Core\"}], \"personal\": {\"pronouns\": \"she/her\"}}",
                          NULL, NULL, 0);

    CHECK_INT(len_at(m, "custom/a"), 2, "an unknown top-level field is kept");
    CHECK_STR(at(m, "experience/0/team"), "Core", "an unknown entry field is kept");
    CHECK_STR(at(m, "personal/pronouns"), "she/her", "an unknown personal field is kept");
    json_decref(m);
}

/* Wrong types are TD_EINVAL naming the field as a JSON pointer. */
static void bad_types(void)
{
    static const struct {
        const char *kind, *in, *msg;
    } cases[] = {
        {"resume", "{\"experience\": [{}, {}, {\"company\": 42}]}",
         "/experience/2/company must be a string"},
        {"resume", "{\"personal\": \"Jane\"}", "/personal must be an object"},
        {"resume", "{\"personal\": {\"email\": [\"a@b.c\"]}}", "/personal/email must be a string"},
        {"resume", "{\"experience\": {\"company\": \"X\"}}", "/experience must be an array"},
        {"resume", "{\"experience\": [\"X\"]}", "/experience/0 must be an object"},
        {"resume", "{\"experience\": [{\"highlights\": \"one\"}]}",
         "/experience/0/highlights must be an array"},
        {"resume", "{\"experience\": [{\"highlights\": [\"a\", 2]}]}",
         "/experience/0/highlights/1 must be a string"},
        {"resume", "{\"skills\": {\"technical\": [\"C\", null]}}",
         "/skills/technical/1 must be a string"},
        {"resume", "{\"skills\": 5}", "/skills must be an object or an array"},
        {"resume", "{\"education\": [{\"graduation_year\": 2015.5}]}",
         "/education/0/graduation_year must be a string or an integer"},
        {"resume", "{\"linkedin_url\": true}", "/linkedin_url must be a string"},
        {"resume", "{\"basics\": {\"name\": \"A\"}, \"work\": [{\"name\": 1}]}",
         "/work/0/name must be a string"},
        {"resume", "{\"basics\": {\"name\": \"A\", \"location\": {\"city\": 3}}}",
         "/basics/location/city must be a string"},
        {"resume", "{\"basics\": {\"profiles\": [{\"url\": 1}]}}",
         "/basics/profiles/0/url must be a string"},
        {"resume", "{\"languages\": [7]}", "/languages/0 must be an object or a string"},
        {"resume",
         "{\"a~b/c\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
         "/a~0b~1c/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0 is nested "
         "deeper than 32 levels"},
        {"cover-letter", "{\"content\": {\"body_paragraphs\": \"text\"}}",
         "/content/body_paragraphs must be an array"},
        {"cover-letter", "{\"recipient\": {\"name\": {\"first\": \"A\"}}}",
         "/recipient/name must be a string"},
        {"cover-letter", "{\"date\": 20261124}", "/date must be a string"},
        {"cover-letter", "[]", "the data must be a JSON object"},
    };
    char err[256];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        json_t *in = parse(cases[i].in), *out = (json_t *)1;
        int want = strstr(cases[i].msg, "nested") ? TD_ETOOBIG : TD_EINVAL, rc;

        err[0] = '\0';
        rc = td_model_apply(cases[i].kind, in, &out, err, sizeof err);
        CHECK(rc == want && out == NULL && strcmp(err, cases[i].msg) == 0, "%s %s refused: \"%s\"",
              cases[i].kind, cases[i].in, rc ? err : "(accepted)");
        json_decref(in);
    }
    json_t *out = (json_t *)1;
    CHECK(td_model_resume(NULL, &out, err, sizeof err) == TD_EINVAL && out == NULL, "NULL input");
    CHECK(td_model_apply("letter", NULL, &out, err, sizeof err) == TD_EINVAL &&
              strstr(err, "unknown model"),
          "unknown model kind: %s", err);
    CHECK(td_model_resume(NULL, &out, NULL, 0) == TD_EINVAL, "no error buffer is fine");
}

/* Lists are bounded, whatever field holds them. */
static void bounds(void)
{
    td_buf b;
    char err[256] = "";
    int rc;

    for (int n = TD_MODEL_MAX_LIST; n <= TD_MODEL_MAX_LIST + 1; n++) {
        json_t *m;
        td_buf_init(&b, 0);
        td_buf_adds(&b, "{\"experience\": [");
        for (int i = 0; i < n; i++)
            td_buf_printf(&b, "%s{\"company\": \"C%d\"}", i ? "," : "", i);
        td_buf_adds(&b, "]}");
        m = resume_of(td_buf_str(&b), &rc, err, sizeof err);
        if (n == TD_MODEL_MAX_LIST)
            CHECK(rc == 0 && len_at(m, "experience") == TD_MODEL_MAX_LIST, "200 jobs are fine");
        else
            CHECK(rc == TD_ETOOBIG && m == NULL &&
                      strcmp(err, "/experience has 201 entries, at most 200 are allowed") == 0,
                  "201 jobs are refused: %s", err);
        json_decref(m);
        td_buf_release(&b);
    }
    td_buf_init(&b, 0);
    td_buf_adds(&b, "{\"custom\": {\"list\": [");
    for (int i = 0; i <= TD_MODEL_MAX_LIST; i++)
        td_buf_printf(&b, "%s%d", i ? "," : "", i);
    td_buf_adds(&b, "]}}");
    json_t *m = letter_of(td_buf_str(&b), &rc, err, sizeof err);
    CHECK(rc == TD_ETOOBIG && m == NULL && strstr(err, "/custom/list has 201 entries"),
          "an unknown field's list is bounded too: %s", err);
    td_buf_release(&b);
}

/* Reads a built-in template. */
static char *read_template(const char *name, size_t *len)
{
    char path[256];
    FILE *f;
    char *s;
    long n;

    snprintf(path, sizeof path, "templates/%s", name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (s)
        s[n] = '\0';
    *len = (size_t)n;
    return s;
}

/* Renders a built-in template strictly (every variable must exist) on a model. */
static void render_strict(const char *tname, const char *what, const json_t *m,
                          const char *must_contain)
{
    size_t len = 0;
    char *src = read_template(tname, &len);
    td_tmpl *t = NULL;
    td_tmpl_error te = {0};
    td_tmpl_render_opts o = {.strict = true};
    td_buf out;
    int rc;

    CHECK(src != NULL, "templates/%s exists", tname);
    if (!src)
        return;
    o.escape = strstr(tname, ".html") ? TD_TMPL_ESCAPE_HTML : TD_TMPL_ESCAPE_NONE;
    rc = td_tmpl_compile(src, len, NULL, &t, &te);
    CHECK_INT(rc, 0, "templates/%s compiles %d:%d %s", tname, te.line, te.col, te.message);
    td_buf_init(&out, 0);
    if (rc == 0) {
        rc = td_tmpl_render(t, m, &o, &out, NULL, &te);
        CHECK_INT(rc, 0, "templates/%s renders strictly on %s %s", tname, what, te.message);
        if (must_contain)
            CHECK(strstr(td_buf_str(&out), must_contain) != NULL, "templates/%s on %s shows \"%s\"",
                  tname, what, must_contain);
    }
    td_buf_release(&out);
    td_tmpl_free(t);
    free(src);
}

/* Every built-in text template reads only model variables: strict renders on full and empty
 * models succeed. */
static void builtin_templates(void)
{
    static const char *const resumes[] = {"resume.html", "resume.md", "resume.txt"};
    static const char *const letters[] = {"cover_letter.html", "cover_letter.md",
                                          "cover_letter.txt"};
    static const char *const inputs[] = {"sample_resume", "sample_resume_jsonresume"};
    char path[256];
    json_t *in, *m = NULL;

    for (size_t k = 0; k < TD_ARRAY_SIZE(inputs); k++) {
        snprintf(path, sizeof path, DATA "%s.json", inputs[k]);
        in = json_load_file(path, 0, NULL);
        if (in && td_model_resume(in, &m, NULL, 0) == 0)
            for (size_t i = 0; i < TD_ARRAY_SIZE(resumes); i++)
                render_strict(resumes[i], inputs[k], m, k ? "Harbor Grocery" : "Northwind");
        json_decref(in);
        json_decref(m);
        m = NULL;
    }
    m = resume_of("{}", NULL, NULL, 0);
    for (size_t i = 0; i < TD_ARRAY_SIZE(resumes); i++)
        render_strict(resumes[i], "an empty résumé", m, NULL);
    json_decref(m);

    in = json_load_file(DATA "sample_cover_letter.json", 0, NULL);
    m = NULL;
    if (in && td_model_cover_letter(in, &m, NULL, 0) == 0)
        for (size_t i = 0; i < TD_ARRAY_SIZE(letters); i++)
            render_strict(letters[i], "the sample letter", m, "24 November 2026");
    json_decref(in);
    json_decref(m);
    m = letter_of("{}", NULL, NULL, 0);
    for (size_t i = 0; i < TD_ARRAY_SIZE(letters); i++)
        render_strict(letters[i], "an empty letter", m, "Dear Hiring Manager,");
    json_decref(m);
}

/* A value hook that replaces the three tracked URLs as the link tracker would, and counts them. */
static int fake_tracker(void *ud, const char *name, const char *value, size_t len, td_buf *out)
{
    const char *last = strrchr(name, '.');
    int *seen = ud;

    TD_UNUSED(value);
    TD_UNUSED(len);
    last = last ? last + 1 : name;
    if (strcmp(last, "linkedin_url") && strcmp(last, "portfolio_url") &&
        strcmp(last, "calendly_url"))
        return 0;
    (*seen)++;
    return td_buf_printf(out, "https://t.example/track/%s", last) == 0 ? 1 : -1;
}

/* Renders a built-in .docx template strictly; returns the document or NULL. */
static char *render_docx(const char *tname, const json_t *m, int *seen, size_t *len)
{
    size_t tlen = 0;
    char *src = read_template(tname, &tlen), *doc = NULL;
    td_docx_opts o = {.strict = true, .value_hook = fake_tracker, .hook_ud = seen};
    td_docx_stats st = {0};
    td_tmpl_error te = {0};
    char why[256] = "";
    td_buf out;
    int rc;

    CHECK(src != NULL, "templates/%s exists", tname);
    if (!src)
        return NULL;
    CHECK_INT(td_docx_check(src, tlen, NULL, why, sizeof why), 0, "templates/%s is a safe .docx %s",
              tname, why);
    td_buf_init(&out, 0);
    rc = td_docx_render(src, tlen, m, &o, &out, &st, &te);
    CHECK_INT(rc, 0, "templates/%s renders strictly %s", tname, te.message);
    if (rc == 0)
        doc = td_buf_detach(&out, len);
    td_docx_stats_release(&st);
    td_buf_release(&out);
    free(src);
    return doc;
}

/* The .docx templates: strict renders on the samples and on empty models; the three URLs go
 * through the link hook into the hyperlink relationships. */
static void builtin_docx(void)
{
    static const struct {
        const char *tmpl, *kind, *data;
        int links;
    } cases[] = {
        {"resume.docx", "resume", "sample_resume", 3},
        {"resume.docx", "resume", "sample_resume_jsonresume", 3},
        {"resume.docx", "resume", "empty", 0},
        {"cover_letter.docx", "cover-letter", "sample_cover_letter", 3},
        {"cover_letter.docx", "cover-letter", "empty", 0},
    };
    char path[256];

    for (size_t i = 0; i < TD_ARRAY_SIZE(cases); i++) {
        json_t *in, *m = NULL;
        size_t len = 0;
        int seen = 0;
        char *doc;

        snprintf(path, sizeof path, DATA "%s.json", cases[i].data);
        in = json_load_file(path, 0, NULL);
        if (!in || td_model_apply(cases[i].kind, in, &m, NULL, 0) != 0) {
            CHECK(0, "model of %s", path);
            json_decref(in);
            continue;
        }
        doc = render_docx(cases[i].tmpl, m, &seen, &len);
        CHECK(doc && td_docx_check(doc, len, NULL, NULL, 0) == 0,
              "templates/%s on %s: the result is a valid package", cases[i].tmpl, cases[i].data);
        CHECK(seen >= cases[i].links, "templates/%s on %s: %d tracked URL values (want %d+)",
              cases[i].tmpl, cases[i].data, seen, cases[i].links);
        free(doc);
        json_decref(m);
        json_decref(in);
    }
}

/* The HTML templates hand the three URLs to the link hook (tracked links) in their hrefs. */
static void html_links(void)
{
    static const char *const names[] = {"resume.html", "cover_letter.html"};
    static const char *const inputs[] = {"sample_resume", "sample_cover_letter"};
    char path[256];

    for (size_t i = 0; i < TD_ARRAY_SIZE(names); i++) {
        size_t len = 0;
        char *src = read_template(names[i], &len);
        json_t *in, *m = NULL;
        td_tmpl *t = NULL;
        int seen = 0;
        td_tmpl_render_opts o = {.strict = true, .value_hook = fake_tracker, .hook_ud = &seen};
        td_buf out;

        snprintf(path, sizeof path, DATA "%s.json", inputs[i]);
        in = json_load_file(path, 0, NULL);
        td_buf_init(&out, 0);
        if (src && in && td_model_apply(i ? "cover-letter" : "resume", in, &m, NULL, 0) == 0 &&
            td_tmpl_compile(src, len, NULL, &t, NULL) == 0 &&
            td_tmpl_render(t, m, &o, &out, NULL, NULL) == 0) {
            const char *html = td_buf_str(&out);
            CHECK(strstr(html, "href=\"https://t.example/track/linkedin_url\"") &&
                      strstr(html, "href=\"https://t.example/track/portfolio_url\"") &&
                      strstr(html, "href=\"https://t.example/track/calendly_url\""),
                  "templates/%s: the three links are tracked hrefs", names[i]);
            CHECK(!strstr(html, "href=\"https://www.linkedin.com") &&
                      !strstr(html, "href=\"https://calendly.com"),
                  "templates/%s: no untracked href to the same pages", names[i]);
        } else {
            CHECK(0, "templates/%s renders", names[i]);
        }
        td_buf_release(&out);
        td_tmpl_free(t);
        json_decref(m);
        json_decref(in);
        free(src);
    }
}

int main(void)
{
    api_resume();
    jsonresume();
    cover_letter();
    names();
    dates();
    descriptions();
    empty();
    links();
    unknown_fields();
    bad_types();
    bounds();
    builtin_templates();
    html_links();
    builtin_docx();
    TEST_DONE();
}
