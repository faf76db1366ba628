#!/usr/bin/env bash
# `make run`: migrates ./var/trackdoc.db, makes an API key on first run (printed once), creates
# the demo tracked link, prints what to try, then runs the server in the foreground (Ctrl-C stops).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=build/trackdoc
export TRACKDOC_DB="${TRACKDOC_DB:-var/trackdoc.db}"
export TRACKDOC_LISTEN="${TRACKDOC_LISTEN:-127.0.0.1:8080}"
export TRACKDOC_BASE_URL="${TRACKDOC_BASE_URL:-http://${TRACKDOC_LISTEN}}"
DEMO_JOB=00000000-0000-4000-8000-00000000d3e0
DEMO_APP=00000000-0000-4000-8000-00000000a991
DEMO_USER=00000000-0000-4000-8000-0000000dec01

port=${TRACKDOC_LISTEN##*:}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make run: port $port is already in use (another trackdoc?)." >&2
    echo "          Stop it, or choose another: TRACKDOC_LISTEN=127.0.0.1:8081 make run" >&2
    exit 1
fi

"$BIN" db migrate >/dev/null

key_note="Your API key was shown on the first 'make run'. Lost it? Make another:
    $BIN apikey create --name me"
if [ "$("$BIN" apikey list --json | tr -d ' \n')" = "[]" ]; then
    key=$("$BIN" apikey create --name demo --json | sed -n 's/.*"key": "\(td_[A-Za-z0-9]*\)".*/\1/p')
    key_note="Your API key (shown once, stored only as a hash; keep it):
    export TRACKDOC_API_KEY=$key"
fi

# The demo candidate: a profile whose links the documents will track.
"$BIN" profile set "$DEMO_USER" --first-name Jane --last-name Doe --email jane.doe@example.com \
    --phone "+1 555 0100" --address "Springfield" \
    --calendly-url https://calendly.com/ --linkedin-url https://www.linkedin.com/ \
    --portfolio-url https://example.com/ >/dev/null

link_json=$("$BIN" link create --url https://example.com/ --function Portfolio \
    --job-id "$DEMO_JOB" --application-id "$DEMO_APP" --type demo \
    --description "trackdoc demo link" --created-by "make run" --json)
id=$(printf '%s' "$link_json" | sed -n 's/.*"tracking_id": "\([^"]*\)".*/\1/p')
url=$(printf '%s' "$link_json" | sed -n 's/.*"redirect_url": "\([^"]*\)".*/\1/p')

cat <<MSG

trackdoc is starting on http://$TRACKDOC_LISTEN (database: $TRACKDOC_DB)

$key_note

1. Open the demo tracked link in a browser; it lands on https://example.com/ :
    $url

2. See the click recorded:
    curl -s -H "Authorization: Bearer \$TRACKDOC_API_KEY" \\
      $TRACKDOC_BASE_URL/api/link-tracking/analytics/$id
   or, without a key:
    $BIN link show $id

3. Make your own tracked link for a job:
    curl -s -X POST $TRACKDOC_BASE_URL/api/link-tracking/create \\
      -H "Authorization: Bearer \$TRACKDOC_API_KEY" -H 'Content-Type: application/json' \\
      -d '{"original_url":"https://calendly.com/you/30min","link_function":"Calendly",
           "job_id":"$DEMO_JOB"}'
   and the job's clicks per link function:
    curl -s -H "Authorization: Bearer \$TRACKDOC_API_KEY" \\
      $TRACKDOC_BASE_URL/api/link-tracking/jobs/$DEMO_JOB/summary

4. Generate a résumé for the demo candidate (profile $DEMO_USER) and that job; its Calendly,
   LinkedIn and portfolio links come out tracked for the job:
    curl -s -X POST $TRACKDOC_BASE_URL/resume \\
      -H "Authorization: Bearer \$TRACKDOC_API_KEY" -H 'Content-Type: application/json' \\
      -d '{"user_id":"$DEMO_USER","job_id":"$DEMO_JOB","target_position":"Engineer",
           "experience":[{"company":"Acme","title":"Engineer","start_date":"2021-01"}]}'
   then fetch the file named in download_url:
    curl -s -OJ -H "Authorization: Bearer \$TRACKDOC_API_KEY" $TRACKDOC_BASE_URL/download/FILENAME
   Or render a built-in template yourself:
    $BIN render templates/resume.docx --data tests/data/model/sample_resume.json \\
      --job-id $DEMO_JOB -o resume.docx

Health: curl -s $TRACKDOC_BASE_URL/healthz      Stop: Ctrl-C
MSG

exec "$BIN" serve
