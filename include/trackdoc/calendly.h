/* Calendly booking attribution: the signature of Calendly's webhooks, the parse of their
 * invitee.created and invitee.canceled events, and the attribution of each booking to the job
 * and application whose tracked link the invitee came through (utm_content = tracking_id, or
 * utm_campaign = application_id / job_id; see trackdoc/utm.h for the tagging side). */
#ifndef TRACKDOC_CALENDLY_H
#define TRACKDOC_CALENDLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trackdoc/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The request header that carries the signature: "t=<unix seconds>,v1=<hex HMAC-SHA256>". */
#define TD_CALENDLY_SIG_HEADER "Calendly-Webhook-Signature"

/* How far the signed time may be from ours, either way, by default: 5 minutes. */
#define TD_CALENDLY_TOLERANCE_MS (5 * 60 * 1000L)

/* Longest signing key accepted, in bytes. */
#define TD_CALENDLY_KEY_MAX 1024

/* The name of the database secret that keys invitee hashes (td_store_secret). */
#define TD_CALENDLY_SECRET "calendly_invitee"

/* Checks the signature header of a webhook body: header is "t=<unix seconds>,v1=<64 hex>"
 * (elements in any order, spaces around them allowed, other elements ignored, several v1 allowed:
 * one must match); the signed text is "<t>.<body>" byte for byte, the MAC HMAC-SHA256 keyed
 * with key (its bytes as given), compared in constant time. now_ms is the current UTC time,
 * tolerance_ms how far t may be from it in either direction.
 * Returns 0 when it verifies; TD_EINVAL: key empty, header NULL or not of that form;
 * TD_EAUTH: no v1 matches; TD_ETIME: the signature matches but t is outside the tolerance (a
 * replay, or a clock off). Callers answer all of these the same way. */
int td_calendly_verify(const char *key, const char *header, const void *body, size_t len,
                       int64_t now_ms, int64_t tolerance_ms);

/* What a webhook event is about. */
typedef enum td_calendly_kind {
    TD_CALENDLY_OTHER = 0, /* any other event type: nothing but event is read */
    TD_CALENDLY_CREATED,   /* invitee.created: a booking */
    TD_CALENDLY_CANCELED,  /* invitee.canceled: a cancellation (or the first half of a
                              reschedule, with rescheduled set) */
} td_calendly_kind;

/* The fields trackdoc reads from an event (Calendly API v2 webhook payload). Strings are ""
 * when absent or null; times UTC ms, 0 when absent. Free text longer than its field (event name,
 * utm values, email) is cut at a UTF-8 boundary; URIs longer than theirs are refused. */
typedef struct td_calendly_event {
    td_calendly_kind kind;
    char event[TD_CONV_TYPE_SIZE + 32]; /* "event" as sent, cut */
    int64_t created_at;                 /* "created_at" */
    char invitee_uri[TD_CONV_URI_SIZE]; /* payload.uri */
    char email[TD_CONV_EMAIL_SIZE];     /* payload.email */
    char status[16];                    /* payload.status */
    bool rescheduled;                   /* payload.rescheduled */
    char old_invitee[TD_CONV_URI_SIZE], new_invitee[TD_CONV_URI_SIZE];
    char scheduled_event_uri[TD_CONV_URI_SIZE]; /* payload.scheduled_event.uri */
    char event_name[TD_CONV_TEXT_SIZE];         /* payload.scheduled_event.name */
    int64_t start_time, end_time;               /* payload.scheduled_event.start_time, end_time */
    char utm_source[TD_CONV_TEXT_SIZE], utm_medium[TD_CONV_TEXT_SIZE],
        utm_campaign[TD_CONV_TEXT_SIZE], utm_content[TD_CONV_TEXT_SIZE],
        utm_term[TD_CONV_TEXT_SIZE]; /* payload.tracking.* */
} td_calendly_event;

/* Parses a webhook body (already verified) into out. On failure err (errsz bytes) says what is
 * wrong and *field_out (may be NULL) gets its JSON pointer ("/payload/uri"; "" for the whole
 * body). Only the members listed above are read; others are ignored, whatever they hold.
 * Returns 0, TD_ESYNTAX (not JSON, or not an object), TD_EINVAL (a member missing or of the wrong
 * type: "event" always; for invitee.created/canceled "payload" and "payload.uri"), TD_ETOOBIG (a
 * URI over 512 bytes) or TD_ETIME (a time that is not ISO 8601). */
int td_calendly_parse(const void *body, size_t len, td_calendly_event *out, char *err, size_t errsz,
                      const char **field_out);

/* Fills the attribution of c from ev: utm_content naming a stored link gives its tracking_id,
 * job_id, application_id, link_function ("tracking_id"); else a UUID utm_campaign that is the
 * application_id of a stored link gives that application and the link's job_id, or the job_id
 * of a stored link gives that job ("campaign"); else none ("none"). The utm_* fields of c are
 * copied from ev in every case. Returns 0 or TD_EDB. */
int td_calendly_attribute(td_store *st, const td_calendly_event *ev, td_conversion *c);

/* Writes the invitee hash of an email address: hex HMAC-SHA256 keyed with secret_hex (the
 * database secret TD_CALENDLY_SECRET, its 64 characters as the key) of the address trimmed and in
 * lower case, so that the same person is recognised across events and bookings without the
 * address being stored. An empty address gives "". Returns 0 or TD_EIO. */
int td_calendly_invitee_hash(const char *secret_hex, const char *email, char out[65]);

/* Options of td_calendly_record. */
typedef struct td_calendly_options {
    bool store_email; /* keep the address itself too (TRACKDOC_CALENDLY_STORE_EMAIL) */
} td_calendly_options;

/* Records an invitee.created or invitee.canceled event: attributes it (td_calendly_attribute;
 * the invitee.created of a reschedule that carries no attribution of its own takes that of the
 * stored rows of old_invitee), hashes the address, and stores it once
 * (td_store_conversion_insert). *out gets the stored row (the first one when the event was
 * delivered before) and *created_out (may be NULL) whether this call stored it.
 * Returns 0, TD_EINVAL (ev is another kind of event), TD_EIO or TD_EDB. */
int td_calendly_record(td_store *st, const td_calendly_event *ev, const td_calendly_options *o,
                       int64_t now_ms, td_conversion *out, bool *created_out);

/* Returns a new JSON object of a stored row (absent values as null, times as ISO 8601 UTC, the
 * utm values in an object "utm", and "booking_status": "canceled" when the invitee has a
 * cancellation, else "active"), or NULL when out of memory. The caller owns the reference. */
json_t *td_conversion_json(const td_conversion *c);

/* Returns a new JSON object {"bookings","cancellations","reschedules","active"} of a count row,
 * or NULL when out of memory. */
json_t *td_conversion_counts_json(const td_conversion_row *row);

#ifdef __cplusplus
}
#endif
#endif
