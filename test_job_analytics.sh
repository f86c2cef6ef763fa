#!/usr/bin/env bash
# test_job_analytics.sh: the seed's walk through the jobcost API, with a check on every answer.
#
# Against a running service it signs in as the admin and checks that:
#   1. the admin gets a token and GET /auth/me says role admin;
#   2. loading the 30 mock jobs adds up, and loading them again reports all 30 unchanged;
#   3. GET /jobs, paged 7 at a time (100 past 200 jobs), echoes skip/limit, keeps one total, repeats no job, holds
#      every mock job and is ordered by started_at descending (nulls last), then job_id; limit=0 and limit=101 are
#      422s;
#   4. the team (any spelling), team_id, status and provider filters return exactly the matching jobs of that listing;
#   5. a job that crosses midnight has one snapshot per UTC day, summing exactly to its cost;
#   6. cost by team and by model for 1-14 January 2026 match the mock jobs' figures, worked out independently by the
#      ingestion tests, sorted by cost; start after end is a 422.
# The figures of step 6 are the mock jobs' alone: a database with other jobs in that window fails them. The walk
# writes: it loads the 30 mock jobs (teams NLP Research, Computer Vision, ML Platform; January 2026) into the
# database it checks, and leaves them there. Run it against a demo or scratch database, not one you report from.
#
# Run:  make run                  (in one terminal: SQLite in ./data, development admin admin@example.com / admin)
#       ./test_job_analytics.sh   (in another)
# Settings, with the defaults of `make run`: JOBCOST_URL (http://${HOST:-127.0.0.1}:${PORT:-8000}),
# JOBCOST_ADMIN_EMAIL (admin@example.com), JOBCOST_ADMIN_PASSWORD (admin). Needs bash, curl and python3 only.
# Prints "ok  <check>" per check and "all N checks passed" at the end; the first wrong answer prints
# "FAIL <check>: expected X, got Y" on stderr and exits 1.
set -euo pipefail

URL=${JOBCOST_URL:-http://${HOST:-127.0.0.1}:${PORT:-8000}}
URL=${URL%/}
EMAIL=${JOBCOST_ADMIN_EMAIL:-admin@example.com}
PASSWORD=${JOBCOST_ADMIN_PASSWORD:-admin}
MOCK_JOBS=$(cd "$(dirname "$0")" && pwd)/backend/app/data/mock_jobs.json
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobcost-walk.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export WORK MOCK_JOBS
TOKEN="" CHECKS=0

ok()   { CHECKS=$((CHECKS + 1)); printf 'ok  %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1" >&2; exit 1; }

# Python helpers for every check: A (the arguments), body (the last response, parsed), load(name) (a saved file),
# D (Decimal), instant(text), wrong(message) and expect(what, expected, got), which print the problem and exit 1.
PRELUDE='
import datetime as dt, json, os, re, sys
from decimal import Decimal as D
A, W = sys.argv[1:], os.environ["WORK"]
def load(name="body"):
    with open(os.path.join(W, name), encoding="utf-8") as f:
        return json.load(f)
def save(name, value):
    with open(os.path.join(W, name), "w", encoding="utf-8") as f:
        json.dump(value, f)
def wrong(message):
    print(message)
    sys.exit(1)
def expect(what, expected, got, hint=""):
    if expected != got:
        wrong(f"{what}: expected {expected}, got {got}{hint}")
def instant(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
try:
    body = load()
except (OSError, ValueError):
    body = None
'
py() { python3 -c "$PRELUDE$1" "${@:2}"; }

# check WHAT CODE [ARGS...]: run the python CODE; "ok  WHAT" (plus what CODE printed) or "FAIL WHAT: <why>".
check() {
  local out
  if out=$(py "$2" "${@:3}" 2>&1); then ok "$1${out:+: $out}"; else fail "$1: $out"; fi
}

# The problem+json detail of the last response (or the start of its body).
PROBLEM='
raw = open(os.path.join(W, "body"), "rb").read().decode("utf-8", "replace")
errors = "; ".join(".".join(map(str, e.get("loc", []))) + ": " + str(e.get("msg"))
                   for e in (body.get("errors") or [])) if isinstance(body, dict) else ""
detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
print((detail + (f" ({errors})" if errors else "")) if detail else (raw[:300] or "(empty body)"))'

# call METHOD PATH WANT [CURL-OPTIONS...]: the response goes to $WORK/body; a status other than WANT fails, naming
# the status and the problem+json detail.
call() {
  local method=$1 path=$2 want=$3 auth=() status
  shift 3
  if [[ -n $TOKEN ]]; then auth=(-H "Authorization: Bearer $TOKEN"); fi
  if ! status=$(curl -sS --connect-timeout 5 --max-time 120 -o "$WORK/body" -w '%{http_code}' -X "$method" \
                  ${auth[@]+"${auth[@]}"} "$@" "$URL$path" 2>"$WORK/curl.err"); then
    fail "$method $path: no answer from $URL ($(tail -n 1 "$WORK/curl.err"))"
  fi
  if [[ $status != "$want" ]]; then
    if [[ $status -lt 400 ]]; then fail "$method $path: expected HTTP $want, got $status${HINT:-}"; fi
    fail "$method $path: expected HTTP $want, got $status: $(py "$PROBLEM")${HINT:-}"
  fi
}

[[ $URL != */api/v1 ]] || fail "JOBCOST_URL is the service's root, without /api/v1: ${URL%/api/v1}"
if ! curl -sS --connect-timeout 5 --max-time 30 -o /dev/null "$URL/health" 2>/dev/null; then
  fail "no jobcost service answers at $URL: start it with \`make run\` (or set JOBCOST_URL, or PORT as given to make run)"
fi
call GET /health/ready 200
ok "GET $URL/health/ready: the service and its database answer"

# 1. Sign in.
HINT=" (set JOBCOST_ADMIN_EMAIL and JOBCOST_ADMIN_PASSWORD to an admin's)" \
  call POST /api/v1/auth/token 200 --data-urlencode "username=$EMAIL" --data-urlencode "password=$PASSWORD"
check "sign in as $EMAIL" 'expect("token_type", "bearer", body.get("token_type"))
if not body.get("access_token"): wrong(f"no access_token in {sorted(body)}")'
TOKEN=$(py 'print(body["access_token"])')
call GET /api/v1/auth/me 200
check "GET /auth/me: role admin" 'expect("role", "admin", body.get("role")); expect("email", A[0].casefold(), str(body.get("email")).casefold())' \
  "$EMAIL"

# 2. The mock jobs, twice: the second load changes nothing.
INGEST_SUMS='
counts = {k: body.get(k) for k in ("received", "created", "updated", "unchanged", "superseded", "failed")}
expect("received", 30, counts["received"]); expect("failed", 0, counts["failed"])
expect("created+updated+unchanged+superseded+failed", 30, sum(v for k, v in counts.items() if k != "received"))
if A: expect("unchanged", 30, counts["unchanged"]); expect("created", 0, counts["created"]); expect("updated", 0, counts["updated"])
print(", ".join(f"{v} {k}" for k, v in counts.items()))'
call POST /api/v1/admin/ingest/jobs/mock 200
check "POST /admin/ingest/jobs/mock" "$INGEST_SUMS"
call POST /api/v1/admin/ingest/jobs/mock 200
check "POST /admin/ingest/jobs/mock again changes nothing" "$INGEST_SUMS" again

# 3. Every job, 7 at a time (100 at a time past 200 jobs), then the listing as a whole.
py 'save("jobs", {"jobs": [], "total": None, "has_more": True, "pages": 0})'
skip=0 limit=7
while [[ $(py 'print(load("jobs")["has_more"])') == True ]]; do
  call GET "/api/v1/jobs?skip=$skip&limit=$limit" 200
  check "GET /jobs?skip=$skip&limit=$limit" '
skip, limit, seen = int(A[0]), int(A[1]), load("jobs")
missing = [k for k in ("jobs", "total", "skip", "limit", "has_more") if k not in body]
if missing: wrong(f"the page lacks {missing}")
expect("skip", skip, body["skip"]); expect("limit", limit, body["limit"])
if seen["total"] is not None: expect("total (the same on every page)", seen["total"], body["total"])
expect("jobs on the page", max(0, min(limit, body["total"] - skip)), len(body["jobs"]))
expect("has_more", skip + len(body["jobs"]) < body["total"], body["has_more"])
ids = {j["job_id"] for j in seen["jobs"]}
again = [j["job_id"] for j in body["jobs"] if j["job_id"] in ids]
if again or len({j["job_id"] for j in body["jobs"]}) < len(body["jobs"]): wrong(f"job_id repeated: {again}")
# Only what the later steps read is kept, so a large listing stays a small file.
slim = [{k: j.get(k) for k in ("job_id", "team", "status", "provider", "started_at", "ended_at", "cost")}
        for j in body["jobs"]]
save("jobs", {"jobs": seen["jobs"] + slim, "total": body["total"], "has_more": body["has_more"],
              "pages": seen["pages"] + 1})
count, total = len(body["jobs"]), body["total"]
print(f"{count} jobs of {total}")' "$skip" "$limit"
  skip=$((skip + limit))
  total=$(py 'print(load("jobs")["total"])')
  [[ $skip -le $((total + limit)) ]] || fail "GET /jobs: has_more is still true after $skip jobs of $total"
  [[ $total -le 200 ]] || limit=100
done
check "GET /jobs: the pages hold every mock job once, ordered by started_at desc (nulls last), then job_id" '
listing = load("jobs")
jobs = listing["jobs"]
expect("jobs collected", listing["total"], len(jobs))
with open(os.environ["MOCK_JOBS"], encoding="utf-8") as f:
    mock = [j["job_id"] for j in json.load(f)["jobs"]]
absent = sorted(set(mock) - {j["job_id"] for j in jobs})
if absent: wrong(f"mock jobs missing from the listing: {absent}")
def key(j):
    return (j["started_at"] is None, -instant(j["started_at"]).timestamp() if j["started_at"] else 0, j["job_id"])
got, want = [j["job_id"] for j in jobs], [j["job_id"] for j in sorted(jobs, key=key)]
first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
if first is not None: wrong(f"order: expected {want[first]} at position {first}, got {got[first]}")
pages = listing["pages"]
print(f"{len(jobs)} jobs on {pages} pages")'
for limit in 101 0; do
  call GET "/api/v1/jobs?limit=$limit" 422
  check "GET /jobs?limit=$limit is refused" 'expect("status", 422, body.get("status"))'
done

# 4. Filters, each against the full listing.
NLP_TEAM_ID=$(py 'print(next((j["team"]["id"] for j in load("jobs")["jobs"]
                           if j["team"]["name"].strip().casefold() == "nlp research"), ""))')
[[ -n $NLP_TEAM_ID ]] || fail "GET /jobs: expected a job of team NLP Research, got none"
# filtered WHAT PREDICATE CURL-OPTIONS...: every job returned satisfies the python PREDICATE on `j`, and total is the
# number of jobs in the full listing that do.
filtered() {
  call GET /api/v1/jobs 200 -G --data-urlencode limit=100 "${@:3}"
  check "GET /jobs?$1" '
match = eval("lambda j: " + A[0])
full = [j["job_id"] for j in load("jobs")["jobs"] if match(j)]
if not full: wrong("no job of the listing matches: nothing to compare")
stray = [j["job_id"] for j in body["jobs"] if not match(j)]
if stray: wrong(f"jobs that do not match the filter: {stray[:5]}")
expect("total", len(full), body["total"]); expect("jobs returned", min(len(full), 100), len(body["jobs"]))
total = body["total"]
jobs = "job" if total == 1 else "jobs"
print(f"{total} {jobs}, as in the listing")' "$2"
}
NLP='j["team"]["name"].strip().casefold() == "nlp research"'
filtered "team=NLP Research" "$NLP" --data-urlencode "team=NLP Research"
filtered "team=nlp%20research" "$NLP" --data-urlencode "team=nlp research"
filtered "team_id=$NLP_TEAM_ID (NLP Research)" "j['team']['id'] == '$NLP_TEAM_ID'" --data-urlencode "team_id=$NLP_TEAM_ID"
filtered "status=running" 'j["status"] == "running"' --data-urlencode status=running
filtered "provider=aws" 'j["provider"] == "aws"' --data-urlencode provider=aws

# 5. One job across midnight, with its days.
JOB=$(py 'print(next((j["job_id"] for j in sorted(load("jobs")["jobs"], key=lambda j: j["job_id"])
                      if j["job_id"] in {m["job_id"] for m in json.load(open(os.environ["MOCK_JOBS"]))["jobs"]}
                      and j["started_at"] and j["ended_at"] and j["cost"] is not None
                      and instant(j["started_at"]).date() != instant(j["ended_at"]).date()), ""))')
[[ -n $JOB ]] || fail "GET /jobs: expected a priced mock job that crosses midnight (UTC), got none"
call GET "/api/v1/jobs/$(py 'from urllib.parse import quote; print(quote(A[0], safe="/:"))' "$JOB")?include=snapshots" 200
check "GET /jobs/$JOB?include=snapshots: one snapshot a day, summing to the job's cost" '
expect("job_id", A[0], body.get("job_id"))
snapshots = body.get("snapshots")
if not isinstance(snapshots, list): wrong(f"expected a list of snapshots, got {snapshots!r}")
start, end = instant(body["started_at"]), instant(body["ended_at"])
days = [(start + dt.timedelta(days=n)).date().isoformat() for n in range((end.date() - start.date()).days + 1)]
if end == dt.datetime.combine(end.date(), dt.time(), dt.timezone.utc) and end > start: days.pop()
expect("days", days, sorted(s["day"] for s in snapshots))
if len(days) < 2: wrong(f"expected more than one day, got {days}")
cost = body["cost"]
expect("sum of the snapshot costs", D(cost), sum(D(s["cost"]) for s in snapshots))
print(f"{len(days)} days, {cost} USD")' "$JOB"

# 6. Cost by team and by model, 1-14 January 2026.
ANALYTICS='
kind, name = A[0], A[0] + "_name"
EXPECTED = {"team": {  # cost, GPU-hours, unpriced GPU-hours, jobs
    "NLP Research": ("4253.972987", "866.166667", "0.000000", 9),
    "Computer Vision": ("3774.040160", "421.666667", "36.000000", 9),
    "ML Platform": ("246.404700", "134.750000", "0.000000", 10),
}, "model": {
    "clip-vit-l14": ("3605.066667", "293.333333", "0.000000", 2),
    "llama-3-8b-sft": ("2848.320000", "414.000000", "0.000000", 3),
    "llama-3-70b-lora": ("1389.047040", "432.000000", "0.000000", 2),
    "llama-3-8b-inference": ("157.891920", "71.000000", "0.000000", 3),
    "yolov8-detector": ("126.919333", "37.333333", "0.000000", 2),
    "e5-large-embeddings": ("60.932000", "36.000000", "0.000000", 2),
    "nightly-eval": ("25.427220", "8.666667", "0.000000", 2),
    "resnet50-imagenet": ("25.248000", "84.000000", "36.000000", 3),
    "sdxl-lora": ("16.806160", "7.000000", "0.000000", 2),
    "whisper-large-v3": ("13.695560", "30.083333", "0.000000", 3),
    "mistral-7b-eval": ("3.920280", "7.000000", "0.000000", 2),
    "bert-base-ner": ("1.143667", "2.166667", "0.000000", 2),
}}[kind]
HINT = " (the figures are those of the 30 mock jobs alone: does the database hold other jobs in 1-14 January 2026?)"
AMOUNTS = ("total_cost", "total_gpu_hours", "unpriced_gpu_hours")
def keys(what, value, wanted):
    missing = [k for k in wanted if k not in value]
    if missing: wrong(f"{what} lacks {missing}")
def amount(what, value):
    if not (isinstance(value, str) and re.fullmatch(r"-?[0-9]+\.[0-9]{6}", value)):
        wrong(f"{what}: expected a decimal string with 6 places, got {type(value).__name__} {value!r}")
keys("the response", body, ("start", "end", "currency") + AMOUNTS + ("job_count", "items"))
expect("start", "2026-01-01", body["start"]); expect("end", "2026-01-14", body["end"])
expect("currency", "USD", body["currency"])
for k in AMOUNTS: amount(k, body[k])
items = body["items"]
for item in items:
    keys("an item", item, (("team_id",) if kind == "team" else ()) + (name, "total_cost", "gpu_hours",
                                                                       "unpriced_gpu_hours", "job_count"))
    for k in ("total_cost", "gpu_hours", "unpriced_gpu_hours"): amount(f"{item[name]} {k}", item[k])
order = [i[name] for i in sorted(items, key=lambda i: (-D(i["total_cost"]), i[name] is None, i[name] or ""))]
expect("order (total_cost descending, then name)", order, [i[name] for i in items])
found = {i[name]: i for i in items}
for label, (cost, hours, unpriced, count) in EXPECTED.items():
    item = found.get(label) or wrong(f"{label}: expected an item, got none among {list(found)}")
    for k, want in (("total_cost", cost), ("gpu_hours", hours), ("unpriced_gpu_hours", unpriced), ("job_count", count)):
        expect(f"{label} {k}", want, item[k], HINT)
    if kind == "team" and label == "NLP Research": expect("NLP Research team_id", A[1], item["team_id"])
for k, want in zip(AMOUNTS + ("job_count",), ("8274.417847", "1422.583333", "36.000000", 28)):
    expect(k, want, body[k], HINT)
cost, hours = body["total_cost"], body["total_gpu_hours"]
print(f"{len(EXPECTED)} {kind}s, {cost} USD, {hours} GPU-hours")'
for kind in team model; do
  call GET "/api/v1/analytics/cost/by-$kind?start=2026-01-01&end=2026-01-14" 200
  check "GET /analytics/cost/by-$kind?start=2026-01-01&end=2026-01-14" "$ANALYTICS" "$kind" "$NLP_TEAM_ID"
  call GET "/api/v1/analytics/cost/by-$kind?start=2026-01-14&end=2026-01-01" 422
  check "GET /analytics/cost/by-$kind with start after end is refused" 'expect("status", 422, body.get("status"))'
done

echo "all $CHECKS checks passed"
