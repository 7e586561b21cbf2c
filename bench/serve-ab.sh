#!/usr/bin/env bash
# Compares `rowguard serve` variants' CPU per request under wrk, in one run:
# each variant is its own server on the benchmark's database, warmed, then
# measured in turn (the order reversed every other round, so load from other
# processes hits every variant alike). Per run it prints the load average,
# req/s, the server's CPU per request (user + system time from
# /proc/<pid>/stat over the run / requests) and that of the pool's
# PostgreSQL backends (found by application_name).
#
#   bench/serve-ab.sh QUERY WHO ROUNDS DURATION NAME=BIN[,OPTION…]…
#     QUERY     list | membership | nested
#     WHO       user (HS256 JWT of user 1) | admin (the admin secret)
#     OPTION    ENV=VALUE (e.g. GOMAXPROCS=1), url=unix (the socket in
#               PGSOCKDIR instead of TCP), who=admin; an ENV given here
#               overrides the script's own (HASURA_GRAPHQL_ENABLED_LOG_TYPES
#               is startup unless a variant sets it)
#   PROFILE=1 also writes a CPU profile per variant to $OUT/NAME.pprof.
#
# The database is the one `go run ./bench -database-url …` leaves behind
# (database rowguard_bench, login rgbench_login); PGHOST (127.0.0.1),
# PGPORT (5432) and PGSOCKDIR (/var/run/postgresql) say where it is, and a
# superuser must reach it over the socket without a password (psql, to find
# the backends). Example, on this branch's and main's binaries:
#
#   bench/serve-ab.sh list user 6 5s new=/tmp/rowguard-new old=/tmp/rowguard-main new1=/tmp/rowguard-new,GOMAXPROCS=1
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
Q=$1; WHO=$2; ROUNDS=$3; DUR=$4; shift 4
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; PGSOCKDIR=${PGSOCKDIR:-/var/run/postgresql}
OUT=${OUT:-$ROOT/bench/.work/serve-ab}
mkdir -p "$OUT"
PSQL=(psql -h "$PGSOCKDIR" -p "$PGPORT" -U "${PGSUPERUSER:-postgres}" -XAt)
KEY=$(openssl rand -hex 32)
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
H=$(printf '{"alg":"HS256","typ":"JWT"}' | b64)
P=$(printf '{"sub":"1","exp":%d,"https://hasura.io/jwt/claims":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user","x-hasura-user-id":"1"}}' $(( $(date +%s) + 86400 )) | b64)
S=$(printf '%s.%s' "$H" "$P" | openssl dgst -sha256 -mac HMAC -macopt "key:$KEY" -binary | b64)
USER_HEADER="Authorization: Bearer $H.$P.$S"
ADMIN_HEADER="X-Hasura-Admin-Secret: rowguard-bench-secret"
ORG=$("${PSQL[@]}" -c "SELECT min(org_id) FROM memberships WHERE user_id = 1" rowguard_bench)
case $Q in
list) QUERY='{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }' ;;
membership) QUERY="{ articles(where: {org_id: {_eq: $ORG}}, limit: 20, order_by: {id: desc}) { id title org_id } }" ;;
nested) QUERY='{ organizations(limit: 10, order_by: {id: asc}) { id name articles(limit: 5, order_by: {id: asc}) { id title author { id name } } } }' ;;
*) echo "unknown query $Q (list, membership, nested)" >&2; exit 2 ;;
esac
export BENCH_BODY
BENCH_BODY=$(printf '%s' "$QUERY" | python3 -c 'import json,sys; print(json.dumps({"query": sys.stdin.read()}))')
DEFAULT_HEADER=$USER_HEADER
if [ "$WHO" = admin ]; then DEFAULT_HEADER=$ADMIN_HEADER; fi
LOGIN=rgbench_login:rowguard-bench
TCPURL="postgres://$LOGIN@$PGHOST:$PGPORT/rowguard_bench?sslmode=disable&pool_max_conns=16&pool_min_conns=16"
UNIXURL="postgres://$LOGIN@/rowguard_bench?host=$PGSOCKDIR&port=$PGPORT&sslmode=disable&pool_max_conns=16&pool_min_conns=16"

names=(); pids=(); ports=(); hdrs=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait' EXIT
port=18700
for v in "$@"; do
  name=${v%%=*}; rest=${v#*=}
  IFS=, read -ra parts <<<"$rest"
  bin=${parts[0]}; url=$TCPURL; hdr=$DEFAULT_HEADER; envs=()
  for p in "${parts[@]:1}"; do
    case $p in
    url=unix) url=$UNIXURL ;;
    who=admin) hdr=$ADMIN_HEADER ;;
    *) envs+=("$p") ;;
    esac
  done
  port=$((port + 1))
  url="$url&application_name=ab_$name"
  profile=()
  if [ -n "${PROFILE:-}" ]; then profile=(--cpu-profile "$OUT/$name.pprof"); fi
  env HASURA_GRAPHQL_ADMIN_SECRET=rowguard-bench-secret \
    HASURA_GRAPHQL_JWT_SECRET="{\"type\":\"HS256\",\"key\":\"$KEY\"}" HASURA_GRAPHQL_ENABLED_LOG_TYPES=startup "${envs[@]}" \
    "$bin" serve --database-url "$url" --host 127.0.0.1 --port "$port" --role-prefix rgbench_ "${profile[@]}" \
    >"$OUT/$name.log" 2>&1 &
  names+=("$name"); pids+=($!); ports+=("$port"); hdrs+=("$hdr")
done
for i in "${!names[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${ports[$i]}/healthz" >/dev/null && break; sleep 0.1; done
  export BENCH_HEADER=${hdrs[$i]}
  out=$(curl -s -XPOST -H 'Content-Type: application/json' -H "$BENCH_HEADER" -d "$BENCH_BODY" "http://127.0.0.1:${ports[$i]}/v1/graphql")
  case $out in
  '{"data":'*) echo "${names[$i]}: ${#out} bytes" ;;
  *) echo "${names[$i]}: not an answer: ${out:0:300} (log: $OUT/${names[$i]}.log)" >&2; exit 1 ;;
  esac
  wrk -t2 -c16 -d2s -s "$ROOT/bench/wrk/post.lua" "http://127.0.0.1:${ports[$i]}/v1/graphql" >/dev/null
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pgticks() {
  local t=0 p
  for p in $("${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ab_$1'" postgres); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
echo "round variant load req/s server_cpu_us_per_req postgres_cpu_us_per_req bad"
for r in $(seq "$ROUNDS"); do
  order=("${!names[@]}")
  if ((r % 2 == 0)); then mapfile -t order < <(printf '%s\n' "${!names[@]}" | tac); fi
  for i in "${order[@]}"; do
    export BENCH_HEADER=${hdrs[$i]}
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(ticks "${pids[$i]}"); g0=$(pgticks "${names[$i]}")
    out=$(wrk -t2 -c16 -d"$DUR" -s "$ROOT/bench/wrk/post.lua" "http://127.0.0.1:${ports[$i]}/v1/graphql")
    t1=$(ticks "${pids[$i]}"); g1=$(pgticks "${names[$i]}")
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    bad=$(echo "$out" | awk '/BAD_RESPONSES/{print $2}')
    per() { awk -v a="$1" -v b="$2" -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.1f", (b - a) * 1e6 / hz / n}'; }
    echo "$r ${names[$i]} $load $rps $(per "$t0" "$t1") $(per "$g0" "$g1") $bad"
  done
done
