/* Calendly webhooks: signatures (made here with libcrypto's HMAC, not with the code under test),
 * the parse of invitee events, attribution through utm parameters, the idempotent record of each
 * event, invitee hashes, and the JSON of stored rows. */
#include "core/common.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/time.h"
#include "test.h"
#include "trackdoc/calendly.h"
#include "trackdoc/link.h"

#define KEY "whsec_9Kq2-test-signing-key"
#define JOB "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define JOB2 "3f2504e0-4f89-41d3-9a0c-0305e82c3302"
#define APP "9b2c3d4e-1111-4222-8333-444455556666"
#define TID "lt_calendly_Ab3dE5gH7jK9mN"
#define TID_JOB2 "lt_calendly_Zz9yX8wV7uT6sR"
#define INV "https://api.calendly.com/scheduled_events/EV1/invitees/INV1"

/* Writes the header Calendly would send for body at time t (seconds), with key. */
static void sign(const char *key, int64_t t, const void *body, size_t len, char *out, size_t n)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *msg = malloc(len + 32);
    int m = snprintf(msg, 32, "%" PRId64 ".", t);
    int o;

    memcpy(msg + m, body, len);
    HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)msg, (size_t)m + len, mac, &maclen);
    o = snprintf(out, n, "t=%" PRId64 ",v1=", t);
    for (unsigned int i = 0; i < maclen && (size_t)o + 3 < n; i++)
        o += snprintf(out + o, n - (size_t)o, "%02x", mac[i]);
    free(msg);
}

/* Signatures: what verifies, and every way of not verifying. */
static void signatures(void)
{
    const char *body = "{\"event\":\"invitee.created\",\"payload\":{}}";
    size_t len = strlen(body);
    int64_t now = td_time_now_ms(), t = now / 1000, tol = TD_CALENDLY_TOLERANCE_MS;
    char h[256], h2[512], upper[256];
    char tampered[64];

    sign(KEY, t, body, len, h, sizeof h);
    CHECK_INT(td_calendly_verify(KEY, h, body, len, now, tol), 0, "a fresh signature verifies");
    CHECK_INT(td_calendly_verify("another-key", h, body, len, now, tol), TD_EAUTH,
              "another key: mismatch");
    snprintf(tampered, sizeof tampered, "%s", body);
    tampered[10] = 'X';
    CHECK_INT(td_calendly_verify(KEY, h, tampered, len, now, tol), TD_EAUTH,
              "one byte of the body changed: mismatch");
    CHECK_INT(td_calendly_verify(KEY, h, body, len - 1, now, tol), TD_EAUTH,
              "the body one byte shorter: mismatch");
    CHECK_INT(td_calendly_verify(KEY, h, body, len, now + 299000, 300000), 0,
              "299 s old with a tolerance of 300 s: verifies");
    CHECK_INT(td_calendly_verify(KEY, h, body, len, now + 301000, 300000), TD_ETIME,
              "301 s old: stale");
    CHECK_INT(td_calendly_verify(KEY, h, body, len, now - 301000, 300000), TD_ETIME,
              "301 s in the future: refused too");
    sign(KEY, t - 3600, body, len, h2, sizeof h2);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_ETIME,
              "signed an hour ago: stale");
    CHECK_INT(td_calendly_verify(KEY, NULL, body, len, now, tol), TD_EINVAL, "no header");
    CHECK_INT(td_calendly_verify(KEY, "", body, len, now, tol), TD_EINVAL, "an empty header");
    CHECK_INT(td_calendly_verify("", h, body, len, now, tol), TD_EINVAL, "no key configured");
    CHECK_INT(td_calendly_verify(KEY, strchr(h, ',') + 1, body, len, now, tol), TD_EINVAL,
              "v1 without t");
    snprintf(h2, sizeof h2, "%.*s", (int)(strchr(h, ',') - h), h);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EINVAL, "t without v1");
    snprintf(h2, sizeof h2, "t=12ab,%s", strchr(h, ',') + 1);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EINVAL, "t not a number");
    snprintf(h2, sizeof h2, "%s,t=%" PRId64, h, t);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EINVAL, "two t");
    snprintf(h2, sizeof h2, "t=, v1=%s", strchr(h, ',') + 4);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EINVAL, "an empty t");
    snprintf(h2, sizeof h2, "%s", h);
    h2[strlen(h2) - 1] = '\0';
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EAUTH,
              "a v1 one hex digit short: mismatch");
    snprintf(h2, sizeof h2, "%s", h);
    h2[strlen(h2) - 1] = 'g';
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), TD_EAUTH,
              "a v1 with a non-hex digit: mismatch");
    /* Spaces, order, case and more than one v1 (a key being rotated). */
    snprintf(h2, sizeof h2, " %s , t=%" PRId64 " ", strchr(h, ',') + 1, t);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), 0,
              "v1 first, spaces around elements: verifies");
    snprintf(upper, sizeof upper, "%s", h);
    for (char *p = strchr(upper, ',') + 4; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    CHECK_INT(td_calendly_verify(KEY, upper, body, len, now, tol), 0, "upper-case hex: verifies");
    snprintf(h2, sizeof h2, "t=%" PRId64 ",v1=%064d,v0=abc,%s", t, 0, strchr(h, ',') + 1);
    CHECK_INT(td_calendly_verify(KEY, h2, body, len, now, tol), 0,
              "a wrong v1, an unknown v0 and the right v1: verifies");
    {
        char big[5000];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        CHECK_INT(td_calendly_verify(KEY, big, body, len, now, tol), TD_EINVAL,
                  "a header of 5000 bytes: refused");
    }
    {
        static const char bin[] = "{\"a\":\"x\"}\0tail";
        sign(KEY, t, bin, sizeof bin - 1, h2, sizeof h2);
        CHECK_INT(td_calendly_verify(KEY, h2, bin, sizeof bin - 1, now, tol), 0,
                  "a body with a NUL byte, signed whole: verifies byte for byte");
        CHECK_INT(td_calendly_verify(KEY, h2, bin, strlen(bin), now, tol), TD_EAUTH,
                  "the same body cut at its NUL: mismatch");
    }
    sign(KEY, t, "", 0, h2, sizeof h2);
    CHECK_INT(td_calendly_verify(KEY, h2, NULL, 0, now, tol), 0, "an empty body, signed: verifies");
}

/* A full invitee.created body. */
static const char created_body[] =
    "{\"created_at\":\"2026-03-02T10:00:01.123456Z\",\"created_by\":\"https://api.calendly.com/"
    "users/U1\",\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV "\","
    "\"email\":\"Recruiter@Example.com\",\"name\":\"Rita Recruiter\",\"status\":\"active\","
    "\"rescheduled\":false,\"old_invitee\":null,\"new_invitee\":null,"
    "\"questions_and_answers\":[{\"question\":\"Why?\",\"answer\":\"Because.\"}],"
    "\"scheduled_event\":{\"uri\":\"https://api.calendly.com/scheduled_events/EV1\","
    "\"name\":\"30 Minute Meeting\",\"start_time\":\"2026-03-09T14:00:00.000000Z\","
    "\"end_time\":\"2026-03-09T14:30:00.000000Z\",\"location\":{\"type\":\"zoom\"}},"
    "\"tracking\":{\"utm_campaign\":\"" APP "\",\"utm_source\":\"trackdoc\","
    "\"utm_medium\":\"calendly\",\"utm_content\":\"" TID "\",\"utm_term\":null,"
    "\"salesforce_uuid\":null},\"cancel_url\":\"https://calendly.com/cancellations/INV1\"}}";

/* Parses text as a body; returns the code, fills ev and the field. */
static int parse(const char *text, td_calendly_event *ev, const char **field)
{
    char err[256];

    return td_calendly_parse(text, strlen(text), ev, err, sizeof err, field);
}

/* Parsing: the fields read, and the refusals with their JSON pointer. */
static void parsing(void)
{
    td_calendly_event ev;
    const char *field = NULL;
    char err[256], big[2048];
    int64_t ms = 0;

    CHECK_INT(td_calendly_parse(created_body, strlen(created_body), &ev, err, sizeof err, &field),
              0, "a full invitee.created parses");
    CHECK_INT(ev.kind, TD_CALENDLY_CREATED, "its kind");
    CHECK_STR(ev.invitee_uri, INV, "the invitee URI");
    CHECK_STR(ev.email, "Recruiter@Example.com", "the address as sent");
    CHECK_STR(ev.event_name, "30 Minute Meeting", "the event name");
    CHECK_STR(ev.scheduled_event_uri, "https://api.calendly.com/scheduled_events/EV1",
              "the scheduled event");
    td_time_parse("2026-03-09T14:00:00Z", &ms);
    CHECK_INT(ev.start_time, ms, "the start time (microseconds dropped)");
    CHECK_STR(ev.utm_content, TID, "utm_content");
    CHECK_STR(ev.utm_campaign, APP, "utm_campaign");
    CHECK_STR(ev.utm_term, "", "a null utm_term is empty");
    CHECK(ev.created_at > 0 && !ev.rescheduled && !ev.old_invitee[0], "created_at, rescheduled");

    CHECK_INT(parse("{\"event\":\"invitee.canceled\",\"payload\":{\"uri\":\"" INV "\","
                    "\"status\":\"canceled\",\"rescheduled\":true,\"new_invitee\":\"https://api."
                    "calendly.com/scheduled_events/EV2/invitees/INV2\"}}",
                    &ev, &field),
              0, "a canceled event without tracking or scheduled_event parses");
    CHECK(ev.kind == TD_CALENDLY_CANCELED && ev.rescheduled && strstr(ev.new_invitee, "INV2"),
          "cancellation of a reschedule: rescheduled and new_invitee");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV "\","
                    "\"event\":\"https://api.calendly.com/scheduled_events/OLD\"}}",
                    &ev, &field),
              0, "an older payload naming the event by URI parses");
    CHECK_STR(ev.scheduled_event_uri, "https://api.calendly.com/scheduled_events/OLD",
              "its scheduled event URI");
    CHECK_INT(parse("{\"event\":\"routing_form_submission.created\",\"payload\":42}", &ev, &field),
              0, "another event type parses, whatever its payload");
    CHECK(ev.kind == TD_CALENDLY_OTHER && strcmp(ev.event, "routing_form_submission.created") == 0,
          "as TD_CALENDLY_OTHER, with its name");

    CHECK_INT(parse("{\"event\":", &ev, &field), TD_ESYNTAX, "not JSON");
    CHECK_STR(field, "", "its field is the whole body");
    CHECK_INT(td_calendly_parse("", 0, &ev, err, sizeof err, &field), TD_ESYNTAX, "an empty body");
    CHECK_INT(parse("[1,2]", &ev, &field), TD_ESYNTAX, "an array");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"event\":\"x\"}", &ev, &field), TD_ESYNTAX,
              "duplicate keys");
    CHECK_INT(parse("{\"payload\":{}}", &ev, &field), TD_EINVAL, "no event");
    CHECK_STR(field, "/event", "its field");
    CHECK_INT(parse("{\"event\":7}", &ev, &field), TD_EINVAL, "event a number");
    CHECK_INT(parse("{\"event\":\"invitee.created\"}", &ev, &field), TD_EINVAL, "no payload");
    CHECK_STR(field, "/payload", "its field");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":[]}", &ev, &field), TD_EINVAL,
              "payload an array");
    CHECK_INT(
        parse("{\"event\":\"invitee.created\",\"payload\":{\"email\":\"a@b.c\"}}", &ev, &field),
        TD_EINVAL, "no invitee URI");
    CHECK_STR(field, "/payload/uri", "its field");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV
                    "\",\"tracking\":\"utm\"}}",
                    &ev, &field),
              TD_EINVAL, "tracking a string");
    CHECK_STR(field, "/payload/tracking", "its field");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV
                    "\",\"tracking\":{\"utm_content\":5}}}",
                    &ev, &field),
              TD_EINVAL, "utm_content a number");
    CHECK_STR(field, "/payload/tracking/utm_content", "its field");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV
                    "\",\"scheduled_event\":{\"start_time\":\"tomorrow\"}}}",
                    &ev, &field),
              TD_ETIME, "a start time that is not a time");
    CHECK_STR(field, "/payload/scheduled_event/start_time", "its field");
    CHECK_INT(parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV
                    "\",\"rescheduled\":\"no\"}}",
                    &ev, &field),
              TD_EINVAL, "rescheduled a string");
    CHECK_INT(
        parse("{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"a\\u0000b\"}}", &ev, &field),
        TD_ESYNTAX, "a NUL in a string is refused as not JSON");
    memset(big, 'u', 600);
    snprintf(big + 600, sizeof big - 600, "\"}}");
    {
        char text[2200];
        snprintf(text, sizeof text, "{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"%s",
                 big);
        CHECK_INT(parse(text, &ev, &field), TD_ETOOBIG, "an invitee URI of 600 bytes");
        /* "x" and 130 two-byte characters: 261 bytes; 256 would split a character, so the
         * cut is at 255. */
        memset(big, 0, sizeof big);
        memcpy(big, "x", 1);
        for (int i = 0; i < 130; i++)
            memcpy(big + 1 + 2 * i, "\xc3\xa9", 2);
        snprintf(text, sizeof text,
                 "{\"event\":\"invitee.created\",\"payload\":{\"uri\":\"" INV
                 "\",\"scheduled_event\":{\"name\":\"%s\"}}}",
                 big);
        CHECK_INT(parse(text, &ev, &field), 0, "an event name of 261 bytes parses");
        CHECK_INT(strlen(ev.event_name), 255, "cut to 255 bytes: no character split");
    }
}

/* Opens a fresh store with links of two jobs. */
static td_store *store_with_links(void)
{
    char db[600];
    td_store *st = NULL;
    td_link l, out;
    bool created;

    snprintf(db, sizeof db, "%s/calendly.db", td_test_tmpdir());
    if (td_store_open(db, NULL, &st, NULL, 0) != 0)
        return NULL;
    memset(&l, 0, sizeof l);
    snprintf(l.tracking_id, sizeof l.tracking_id, TID);
    snprintf(l.job_id, sizeof l.job_id, JOB);
    snprintf(l.application_id, sizeof l.application_id, APP);
    snprintf(l.link_function, sizeof l.link_function, "Calendly");
    snprintf(l.original_url, sizeof l.original_url, "https://calendly.com/jane/30min");
    snprintf(l.redirect_url, sizeof l.redirect_url, "http://t/track/" TID);
    l.created_at = td_time_now_ms();
    l.is_active = true;
    td_store_link_insert(st, &l, &out, &created);
    snprintf(l.tracking_id, sizeof l.tracking_id, TID_JOB2);
    snprintf(l.job_id, sizeof l.job_id, JOB2);
    l.application_id[0] = '\0';
    snprintf(l.redirect_url, sizeof l.redirect_url, "http://t/track/" TID_JOB2);
    td_store_link_insert(st, &l, &out, &created);
    return st;
}

/* An event of kind k about invitee uri with the given tracking. */
static td_calendly_event event(td_calendly_kind k, const char *uri, const char *content,
                               const char *campaign)
{
    td_calendly_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = k;
    snprintf(ev.invitee_uri, sizeof ev.invitee_uri, "%s", uri);
    snprintf(ev.utm_content, sizeof ev.utm_content, "%s", content);
    snprintf(ev.utm_campaign, sizeof ev.utm_campaign, "%s", campaign);
    snprintf(ev.email, sizeof ev.email, "rita@example.com");
    snprintf(ev.status, sizeof ev.status, k == TD_CALENDLY_CREATED ? "active" : "canceled");
    return ev;
}

/* Attribution: by tracking id, by campaign (application, then job), or none. */
static void attribution(td_store *st)
{
    td_conversion c;
    td_calendly_event ev;

    memset(&c, 0, sizeof c);
    ev = event(TD_CALENDLY_CREATED, INV, TID, "whatever");
    CHECK_INT(td_calendly_attribute(st, &ev, &c), 0, "attribute by utm_content");
    CHECK(strcmp(c.attribution, "tracking_id") == 0 && strcmp(c.tracking_id, TID) == 0 &&
              strcmp(c.job_id, JOB) == 0 && strcmp(c.application_id, APP) == 0 &&
              strcmp(c.link_function, "Calendly") == 0,
          "the link's tracking_id, job, application and function");
    ev = event(TD_CALENDLY_CREATED, INV, "lt_calendly_00000000000000", APP);
    CHECK_INT(td_calendly_attribute(st, &ev, &c), 0, "unknown link, known application");
    CHECK(strcmp(c.attribution, "campaign") == 0 && !c.tracking_id[0] &&
              strcmp(c.application_id, APP) == 0 && strcmp(c.job_id, JOB) == 0,
          "by campaign: the application and its job (%s %s %s)", c.attribution, c.job_id,
          c.application_id);
    ev = event(TD_CALENDLY_CREATED, INV, "", "3F2504E0-4F89-41D3-9A0C-0305E82C3302");
    CHECK_INT(td_calendly_attribute(st, &ev, &c), 0, "a job id in upper case as the campaign");
    CHECK(strcmp(c.attribution, "campaign") == 0 && strcmp(c.job_id, JOB2) == 0 &&
              !c.application_id[0],
          "by campaign: the job only");
    ev = event(TD_CALENDLY_CREATED, INV, "newsletter", "spring-sale");
    CHECK_INT(td_calendly_attribute(st, &ev, &c), 0, "foreign utm values");
    CHECK(strcmp(c.attribution, "none") == 0 && !c.job_id[0] && !c.tracking_id[0] &&
              strcmp(c.utm_campaign, "spring-sale") == 0,
          "none, the utm values kept");
    ev = event(TD_CALENDLY_CREATED, INV, "", "0a1b2c3d-4e5f-4a6b-8c7d-00000000ffff");
    CHECK_INT(td_calendly_attribute(st, &ev, &c), 0, "an unknown UUID as campaign");
    CHECK_STR(c.attribution, "none", "none");
}

/* The expected invitee hash, computed here. */
static void expected_hash(const char *secret, const char *norm, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)norm, strlen(norm), mac,
         &n);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* Recording: once per event, cancellations, hashes, e-mail addresses, reschedules, counts. */
static void recording(td_store *st)
{
    td_calendly_options keep = {.store_email = true};
    td_calendly_event ev;
    td_conversion c, again, canceled;
    char secret[65], want[65];
    bool created = true;
    int64_t now = td_time_now_ms();
    json_t *j;

    ev = event(TD_CALENDLY_CREATED, INV, TID, APP);
    CHECK_INT(td_calendly_record(st, &ev, NULL, now, &c, &created), 0, "record a booking");
    CHECK(created && strcmp(c.attribution, "tracking_id") == 0 && c.conversion_id[0] &&
              c.received_at == now && !c.canceled_at,
          "stored, attributed, not canceled");
    CHECK_STR(c.invitee_email, "", "the address is not stored by default");
    CHECK_INT(td_store_secret(st, TD_CALENDLY_SECRET, secret), 0, "the database secret");
    expected_hash(secret, "rita@example.com", want);
    CHECK_STR(c.invitee_hash, want, "the hash is HMAC-SHA256 of the address with the secret");
    CHECK_INT(td_calendly_record(st, &ev, NULL, now + 5000, &again, &created), 0,
              "the same event again");
    CHECK(!created && strcmp(again.conversion_id, c.conversion_id) == 0 && again.received_at == now,
          "not stored twice: the first row is the answer");

    ev = event(TD_CALENDLY_CANCELED, INV, TID, APP);
    snprintf(ev.email, sizeof ev.email, "  RITA@Example.COM ");
    CHECK_INT(td_calendly_record(st, &ev, NULL, now + 1000, &canceled, &created), 0,
              "record its cancellation");
    CHECK(created && strcmp(canceled.event_type, TD_CONV_CANCELED) == 0, "a second row");
    CHECK_STR(canceled.invitee_hash, c.invitee_hash,
              "the same person, spelled otherwise, has the same hash");
    CHECK_INT(td_store_conversion_get(st, INV, TD_CONV_CREATED, &again), 0, "read the booking");
    CHECK_INT(again.canceled_at, now + 1000, "the booking shows its cancellation");
    j = td_conversion_json(&again);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "booking_status")), "canceled") == 0 &&
              json_is_null(json_object_get(j, "invitee_email")) &&
              strcmp(json_string_value(json_object_get(json_object_get(j, "utm"), "content")),
                     TID) == 0,
          "its JSON: booking_status canceled, no address, utm.content");
    json_decref(j);

    ev = event(TD_CALENDLY_CREATED, "https://api.calendly.com/scheduled_events/EV3/invitees/I3", "",
               JOB2);
    snprintf(ev.email, sizeof ev.email, "other@example.org");
    CHECK_INT(td_calendly_record(st, &ev, &keep, now + 2000, &c, &created), 0,
              "a booking with TRACKDOC_CALENDLY_STORE_EMAIL");
    CHECK_STR(c.invitee_email, "other@example.org", "the address is stored");
    CHECK(strcmp(c.invitee_hash, canceled.invitee_hash) != 0 && strlen(c.invitee_hash) == 64,
          "another person, another hash");

    /* A reschedule: the old invitee is canceled (rescheduled), the new one carries no
     * tracking of its own and takes the attribution of the old. */
    ev = event(TD_CALENDLY_CANCELED, "https://api.calendly.com/scheduled_events/EV3/invitees/I3",
               "", JOB2);
    ev.rescheduled = true;
    CHECK_INT(td_calendly_record(st, &ev, NULL, now + 3000, &c, &created), 0,
              "the old invitee of a reschedule is canceled");
    ev = event(TD_CALENDLY_CREATED, "https://api.calendly.com/scheduled_events/EV4/invitees/I4", "",
               "");
    snprintf(ev.old_invitee, sizeof ev.old_invitee,
             "https://api.calendly.com/scheduled_events/EV3/invitees/I3");
    CHECK_INT(td_calendly_record(st, &ev, NULL, now + 4000, &c, &created), 0,
              "the new invitee of the reschedule");
    CHECK(strcmp(c.attribution, "campaign") == 0 && strcmp(c.job_id, JOB2) == 0,
          "it takes the attribution of the booking it replaces (%s %s)", c.attribution, c.job_id);

    ev = event(TD_CALENDLY_CREATED, "https://api.calendly.com/scheduled_events/EV5/invitees/I5", "",
               "");
    ev.email[0] = '\0';
    CHECK_INT(td_calendly_record(st, &ev, NULL, now + 6000, &c, &created), 0,
              "a booking without tracking or address");
    CHECK(strcmp(c.attribution, "none") == 0 && !c.invitee_hash[0], "kept, unattributed");

    ev.kind = TD_CALENDLY_OTHER;
    CHECK_INT(td_calendly_record(st, &ev, NULL, now, &c, &created), TD_EINVAL,
              "another kind of event is not recorded");
}

/* Keeps the one row of TD_CONV_GROUP_ALL. */
static int keep_row(void *ud, const td_conversion_row *r)
{
    *(td_conversion_row *)ud = *r;
    return 0;
}

/* The counts of what recording() stored. */
static void counts(td_store *st)
{
    td_conversion_filter f = {0};
    td_conversion_row r = {0};
    json_t *j;

    CHECK_INT(td_store_conversion_groups(st, &f, TD_CONV_GROUP_ALL, keep_row, &r), 0, "count");
    /* Bookings: INV, I3, I5 (I4 is a reschedule); cancellations: INV; reschedules: I3;
     * active: I4, I5. */
    CHECK(r.bookings == 3 && r.cancellations == 1 && r.reschedules == 1 && r.active == 2,
          "bookings 3, cancellations 1, reschedules 1, active 2 (got %lld %lld %lld %lld)",
          (long long)r.bookings, (long long)r.cancellations, (long long)r.reschedules,
          (long long)r.active);
    CHECK(r.bookings == r.active + r.cancellations, "bookings = active + cancellations");
    j = td_conversion_counts_json(&r);
    CHECK(j && json_integer_value(json_object_get(j, "active")) == 2, "the counts as JSON");
    json_decref(j);
}

/* Entry point. */
int main(void)
{
    td_store *st;

    signatures();
    parsing();
    st = store_with_links();
    CHECK(st != NULL, "a store with links");
    if (!st)
        TEST_DONE();
    attribution(st);
    recording(st);
    counts(st);
    td_store_close(st);
    TEST_DONE();
}
