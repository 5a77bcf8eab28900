#!/bin/bash
# Live interop with the Java reference (openkeystore via ../shared/peer's okspeer), both ways,
# over the plain-HTTP KeyGen2 binding (spec keygen2.md §2.2, §2.3). Run by hand; not part of
# `npm test` or .ci/run (it needs Java 17 and the okspeer build).
#
#   scripts/live-interop/run.sh            OKSPEER=/path/to/bin/okspeer overrides the launcher
#                                          KEEP=1 keeps the work dir (logs, wire text) on success
#
# A. airtight enroll (our client + SKS)  ->  okspeer issuer (reference ServerState)
# B. okspeer device (reference SKS + client logic)  ->  scripts/live-interop/our-issuer.ts
# Each direction: EC P-256 with a PIN, RSA-2048 without, privacy mode, delete and unlock
# management sessions (credential discovery with KMK-signed lookups), a device the issuer does
# not trust, then an RSA KMK with capability queries, an unlock of "the first locked key", and a
# delete (A: from the Java issuer's records after a restart). Prints one PASS/FAIL line per scenario and "N passed, M failed"; exit 1 on
# any failure. Everything runs on 127.0.0.1 and stops the processes it started, by PID.
set -uo pipefail
OKSPEER=${OKSPEER:-/tmp/okspeer-build/bin/okspeer}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TSX=$ROOT/node_modules/.bin/tsx
[ -x "$OKSPEER" ] || { echo "okspeer launcher $OKSPEER missing (build it with ../shared/peer/build.sh)" >&2; exit 2; }
command -v java >/dev/null || { echo "java not found (okspeer needs Java 17)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/airtight-live.XXXXXX)
PIDS=()
PASSED=0
FAILED=0
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "$FAILED" = 0 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "(work dir $WORK)"; fi
}
trap cleanup EXIT

airtight() { "$TSX" "$ROOT/src/cli/main.ts" "$@"; }
LOG=$WORK/run.log
note() { printf '%s\n' "$*" >>"$LOG"; }
# scenario NAME FUNCTION: FUNCTION returns non-zero (after `why "..."`) on failure.
WHY=
why() { WHY=$*; note "  !! $*"; return 1; }
scenario() {
  local name=$1 fn=$2
  WHY=
  note "=== $name"
  if "$fn" >>"$LOG" 2>&1; then
    printf 'PASS  %s\n' "$name"; PASSED=$((PASSED + 1))
  else
    printf 'FAIL  %s%s\n' "$name" "${WHY:+  ($WHY)}"; FAILED=$((FAILED + 1))
  fi
}
# wait_port FILE -> the port written there by a starting server
wait_port() {
  for _ in $(seq 1 200); do [ -s "$1" ] && { tr -d '\n' <"$1"; return 0; }; sleep 0.1; done
  return 1
}
token_of() { sed -n 's/.*cookie=JSESSIONID%3D\([^&]*\).*/\1/p' <<<"$1"; }
status_of() { curl -sf "$1/status?session=$2"; }
expect_done() { # BASE TOKEN
  local st; st=$(status_of "$1" "$2") || { why "no status for $2"; return 1; }
  note "issuer status: $st"
  [ "$(jq -r .status <<<"$st")" = done ] || { why "issuer session $(jq -r '.status + ": " + (.error // "")' <<<"$st")"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# A. our client -> Java issuer
export AIRTIGHT_HOME=$WORK/airtight
DEV=$AIRTIGHT_HOME/device
PIN=$WORK/pin; BAD=$WORK/bad-pin; DATA=$WORK/data
printf '1234\n' >"$PIN"; printf '0000\n' >"$BAD"; chmod 600 "$PIN" "$BAD"; printf 'hello reference' >"$DATA"
airtight device init --dir "$DEV" >>"$LOG" 2>&1 || { echo "airtight device init failed (see $LOG)"; exit 1; }
OUR_ROOT=$AIRTIGHT_HOME/manufacturer-ca/root-ca.pem

start_java_issuer() { # NAME ARGS... -> sets JBASE, JSTATE
  JSTATE=$WORK/java-$1; shift
  mkdir -p "$JSTATE"; rm -f "$JSTATE/port"
  "$OKSPEER" issuer --port 0 --state "$JSTATE" "$@" >>"$JSTATE.log" 2>&1 &
  JPID=$!
  PIDS+=($JPID)
  local port; port=$(wait_port "$JSTATE/port") || { cat "$JSTATE.log" >>"$LOG"; return 1; }
  JBASE=http://127.0.0.1:$port
}
# our_enroll QUERY -> OUT (JSON summary), RC, TOKEN
our_enroll() {
  local url; url=$(curl -sf "$JBASE/new?$1") || { why "GET /new?$1"; return 1; }
  TOKEN=$(token_of "$url")
  note "invocation URL: $url"
  OUT=$(airtight enroll "$url" --yes --pin-file "$PIN" --dir "$DEV" --json 2>>"$LOG") && RC=0 || RC=$?
  note "$OUT"; note "airtight enroll exit $RC"
}
has_handle() { airtight keys list --json --dir "$DEV" | jq -e --argjson h "$1" 'any(.[]; .keyHandle == $h)' >/dev/null; }
# sign_and_verify HANDLE ALG [PINFILE]: signs DATA and verifies it against the issued certificate
sign_and_verify() {
  local sig pinopt=()
  [ $# -ge 3 ] && pinopt=(--pin-file "$3")
  sig=$(airtight keys sign "$1" "$DATA" --alg "$2" "${pinopt[@]}" --dir "$DEV") || { why "keys sign $1 failed"; return 1; }
  "$TSX" "$ROOT/scripts/live-interop/verify-signature.ts" "$JSTATE/sessions/"*"$ISSUED_TOKEN"/issued-Key.1.pem "$WORK/java-ca.pem" "$DATA" "$sig" \
    || { why "signature or certificate does not verify"; return 1; }
}
enrolled_key() { # -> H, FP of the single key of the last enrollment
  [ "$RC" = 0 ] || { why "airtight enroll exit $RC"; return 1; }
  expect_done "$JBASE" "$TOKEN" || return 1
  H=$(jq -r '.keys[0].keyHandle' <<<"$OUT")
  FP=$(status_of "$JBASE" "$TOKEN" | jq -r '.issued[0]')
  ISSUED_TOKEN=$TOKEN
  has_handle "$H" || { why "keys list does not show #$H"; return 1; }
}

a_ec_pin() {
  our_enroll 'alg=ec&pin=1' || return 1
  enrolled_key || return 1
  [ "$(jq -r '.keys[0].keyAlgorithm' <<<"$OUT")" = https://webpki.github.io/sks/algorithm#ec.nist.p256 ] || { why "not an EC P-256 key"; return 1; }
  openssl verify -CAfile "$WORK/java-ca.pem" "$JSTATE/sessions/"*"$TOKEN"/issued-Key.1.pem || { why "openssl verify of the issued certificate"; return 1; }
  A_EC_H=$H; A_EC_FP=$FP
  sign_and_verify "$H" ecdsa-sha256 "$PIN"
}
a_rsa() {
  our_enroll 'alg=rsa&pin=0' || return 1
  enrolled_key || return 1
  [ "$(jq -r '.keys[0].friendlyName' <<<"$OUT")" = 'okspeer RSA signature key' ] || { why "friendlyName not stored"; return 1; }
  A_RSA_H=$H
  sign_and_verify "$H" rsa-sha256
}
a_privacy() {
  our_enroll 'alg=ec&pin=1&privacy=1' || return 1
  enrolled_key || return 1
  [ "$(jq -r .privacyEnabled <<<"$OUT")" = true ] || { why "client did not run in privacy mode"; return 1; }
  [ "$(status_of "$JBASE" "$TOKEN" | jq -r .device)" = Anonymous ] || { why "issuer saw a device identity"; return 1; }
  A_PRIV_H=$H; A_PRIV_FP=$FP
  sign_and_verify "$H" ecdsa-sha256 "$PIN"
}
a_delete() {
  [ -n "${A_EC_FP:-}" ] || { why "no EC key from the first scenario"; return 1; }
  our_enroll "op=delete&from=lookup&fp=$A_EC_FP" || return 1
  [ "$RC" = 0 ] || { why "airtight enroll exit $RC"; return 1; }
  expect_done "$JBASE" "$TOKEN" || return 1
  [ "$(jq -r '.postOperations[0].operation + " " + .postOperations[0].fingerPrint' <<<"$OUT")" = "delete $A_EC_FP" ] || { why "no delete post-operation for $A_EC_FP"; return 1; }
  has_handle "$A_EC_H" && { why "key #$A_EC_H still listed"; return 1; }
  has_handle "$A_RSA_H" || { why "RSA key #$A_RSA_H vanished"; return 1; }
}
a_unlock() {
  [ -n "${A_PRIV_FP:-}" ] || { why "no privacy key from the third scenario"; return 1; }
  for _ in 1 2 3; do airtight keys sign "$A_PRIV_H" "$DATA" --alg ecdsa-sha256 --pin-file "$BAD" --dir "$DEV" && { why "wrong PIN accepted"; return 1; }; done
  airtight keys list --json --dir "$DEV" | jq -e --argjson h "$A_PRIV_H" 'any(.[]; .keyHandle == $h and .pinBlocked)' >/dev/null || { why "PIN not blocked"; return 1; }
  # The reference SKS refuses a post-operation across privacy modes, so the unlock is in privacy mode too.
  our_enroll "op=unlock&from=lookup&privacy=1&fp=$A_PRIV_FP" || return 1
  [ "$RC" = 0 ] || { why "airtight enroll exit $RC"; return 1; }
  expect_done "$JBASE" "$TOKEN" || return 1
  [ "$(jq -r '.action + " " + .postOperations[0].operation' <<<"$OUT")" = 'unlock unlock' ] || { why "not an unlock session with postUnlockKey"; return 1; }
  ISSUED_TOKEN=$A_PRIV_TOKEN sign_and_verify "$A_PRIV_H" ecdsa-sha256 "$PIN"
}
a_untrusted() {
  local main_base=$JBASE main_state=$JSTATE
  # No --trust: okspeer trusts only the bundled reference SKS root, not our manufacturer root.
  start_java_issuer strict || { why "strict issuer did not start"; return 1; }
  local before; before=$(airtight keys list --json --dir "$DEV" | jq length)
  our_enroll 'alg=ec&pin=1'
  JBASE=$main_base; JSTATE=$main_state
  [ "$RC" = 8 ] || { why "airtight enroll exit $RC, expected 8 (issuer ended the session)"; return 1; }
  [ "$(airtight keys list --json --dir "$DEV" | jq length)" = "$before" ] || { why "the refused session left a key behind"; return 1; }
}
a_rsa_kmk() {
  our_enroll 'alg=rsa&pin=1&kmk=rsa&query=1' || return 1
  enrolled_key || return 1
  local inv=("$JSTATE/sessions/"*"$TOKEN"/02-received-InvocationResponse.json)
  jq -e '.clientCapabilities | length == 2 and (map(select(.type | endswith("#rsa2048"))) | .[0].supported == true)' "${inv[0]}" >/dev/null \
    || { why "capability answers missing or wrong"; return 1; }
  A_RK_H=$H; A_RK_FP=$FP
  sign_and_verify "$H" rsa-sha256 "$PIN"
}
a_unlock_first_locked() {
  [ -n "${A_RK_H:-}" ] || { why "no RSA-KMK key from A7"; return 1; }
  for _ in 1 2 3; do airtight keys sign "$A_RK_H" "$DATA" --alg rsa-sha256 --pin-file "$BAD" --dir "$DEV" && { why "wrong PIN accepted"; return 1; }; done
  our_enroll 'op=unlock' || return 1
  [ "$RC" = 0 ] || { why "airtight enroll exit $RC"; return 1; }
  expect_done "$JBASE" "$TOKEN" || return 1
  [ "$(jq -r '.postOperations[0].operation + " " + (.postOperations[0].targetKeyHandle | tostring)' <<<"$OUT")" = "unlock $A_RK_H" ] || { why "did not unlock #$A_RK_H"; return 1; }
  ISSUED_TOKEN=$A_RK_TOKEN sign_and_verify "$A_RK_H" rsa-sha256 "$PIN"
}
a_delete_from_records() {
  [ -n "${A_RK_FP:-}" ] || { why "no RSA-KMK key from A7"; return 1; }
  kill "$JPID"; wait "$JPID" 2>/dev/null
  start_java_issuer main --trust "$OUR_ROOT" || { why "issuer did not restart"; return 1; }
  our_enroll "op=delete&from=records&fp=$A_RK_FP" || return 1
  [ "$RC" = 0 ] || { why "airtight enroll exit $RC"; return 1; }
  expect_done "$JBASE" "$TOKEN" || return 1
  has_handle "$A_RK_H" && { why "key #$A_RK_H still listed"; return 1; }
  curl -sf "$JBASE/records" | jq -e --arg fp "$A_RK_FP" 'any(.[]; .fingerprint == $fp and .status == "deleted")' >/dev/null || { why "issuer records not updated"; return 1; }
}
a_privacy_mismatch() {
  [ -n "${A_PRIV_FP:-}" ] || { why "no privacy key from A3"; return 1; }
  # Our client, like the Android client, only searches sessions of its own privacy mode, so a
  # non-privacy lookup does not report the privacy key and the Java issuer finds no target.
  our_enroll "op=delete&from=lookup&fp=$A_PRIV_FP" || return 1
  [ "$RC" != 0 ] || { why "a non-privacy session deleted a privacy-mode key"; return 1; }
  status_of "$JBASE" "$TOKEN" | jq -e '.status == "failed" and (.error | test("found no key"))' >/dev/null || { why "issuer did not fail for lack of a target"; return 1; }
  has_handle "$A_PRIV_H" || { why "privacy key #$A_PRIV_H vanished"; return 1; }
}
a_cancel() {
  # A PIN the policy refuses (2 digits; 4-8 required): the client gives up (USER_ABORT), aborts
  # its SKS session and opens the invocation's cncl URL, so the Java issuer drops its session.
  local short=$WORK/short-pin before
  printf '12\n' >"$short"; chmod 600 "$short"
  before=$(airtight keys list --json --dir "$DEV" | jq length)
  local url; url=$(curl -sf "$JBASE/new?alg=ec&pin=1") || { why "GET /new"; return 1; }
  TOKEN=$(token_of "$url")
  airtight enroll "$url" --yes --pin-file "$short" --dir "$DEV" && { why "a PIN that breaks the policy was accepted"; return 1; }
  status_of "$JBASE" "$TOKEN" | jq -e '.status == "cancelled"' >/dev/null || { why "issuer session not cancelled: $(status_of "$JBASE" "$TOKEN" | jq -r .status)"; return 1; }
  [ "$(airtight keys list --json --dir "$DEV" | jq length)" = "$before" ] || { why "the cancelled session left a key behind"; return 1; }
}

echo "A. airtight enroll -> okspeer issuer ($("$OKSPEER" version 2>/dev/null | head -1))"
if start_java_issuer main --trust "$OUR_ROOT"; then
  curl -sf "$JBASE/ca.pem" >"$WORK/java-ca.pem"
  scenario 'A1 EC P-256 + PIN (E2ES)' a_ec_pin
  scenario 'A2 RSA-2048, no PIN, friendlyName' a_rsa
  A_PRIV_TOKEN=
  scenario 'A3 privacy mode (EC + PIN)' a_privacy
  A_PRIV_TOKEN=${ISSUED_TOKEN:-}
  scenario 'A4 delete via credential discovery (fp lookup)' a_delete
  scenario 'A5 unlock after 3 wrong PINs (privacy mode)' a_unlock
  scenario 'A6 issuer that does not trust our root refuses us' a_untrusted
  scenario 'A7 RSA-2048 + PIN, RSA KMK, capability queries' a_rsa_kmk
  A_RK_TOKEN=${ISSUED_TOKEN:-}
  scenario 'A8 unlock without fp (issuer picks the first locked key)' a_unlock_first_locked
  scenario 'A9 issuer restart, then delete from its records' a_delete_from_records
  scenario 'A10 non-privacy session cannot manage a privacy-mode key' a_privacy_mismatch
  scenario 'A11 client gives up on a PIN: cncl cancels the issuer session' a_cancel
else
  for s in A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11; do printf 'FAIL  %s (okspeer issuer did not start)\n' "$s"; FAILED=$((FAILED + 1)); done
fi

# ---------------------------------------------------------------------------------------------
# B. Java device -> our issuer
STORE=$WORK/okspeer-device.ser
"$OKSPEER" device --print-device-ca >"$WORK/sks-root.pem" 2>>"$LOG"

start_our_issuer() { # NAME TRUST-PEM [--tls-cert PEM --tls-key PEM] -> sets OBASE
  local dir=$WORK/ours-$1 trust=$2 scheme=http; shift 2
  [ $# -gt 0 ] && scheme=https
  mkdir -p "$dir"
  "$TSX" "$ROOT/scripts/live-interop/our-issuer.ts" --trust "$trust" --port-file "$dir/port" "$@" >>"$dir.log" 2>&1 &
  PIDS+=($!)
  local port; port=$(wait_port "$dir/port") || { cat "$dir.log" >>"$LOG"; return 1; }
  OBASE=$scheme://127.0.0.1:$port
}
# java_device QUERY [args] -> OUT, RC, TOKEN, FP, H
java_device() {
  local q=$1; shift
  local url; url=$(curl -sf "$OBASE/new?$q") || { why "GET /new?$q"; return 1; }
  TOKEN=$(token_of "$url")
  note "invocation URL: $url"
  OUT=$("$OKSPEER" device "$url" --store "$STORE" "$@" 2>&1) && RC=0 || RC=$?
  note "$OUT"
  FP=$(sed -n 's/^RESULT installed .* fp=\([0-9a-f]*\).*/\1/p' <<<"$OUT" | head -1)
  H=$(sed -n 's/^RESULT installed handle=\([0-9]*\).*/\1/p' <<<"$OUT" | head -1)
}
java_ok() {
  [ "$RC" = 0 ] && grep -q '^RESULT OK' <<<"$OUT" || { why "device: $(grep '^RESULT FAILED' <<<"$OUT" | head -1 | cut -c1-160)"; return 1; }
  expect_done "$OBASE" "$TOKEN"
}
java_has() { "$OKSPEER" device --list --store "$STORE" | grep -q "fp=$1"; }
java_sign() { # HANDLE [PIN]
  local pin=(); [ $# -ge 2 ] && pin=(--pin "$2")
  printf 'hello airtight' | "$OKSPEER" device --sign "$1" "${pin[@]}" --store "$STORE" >/dev/null
}

b_ec_pin() {
  java_device 'alg=ec&pin=1' --pin 1234 --log "$WORK/okspeer-wire-b1" || return 1
  java_ok || return 1
  grep -q 'alg=EC P-256' <<<"$OUT" || { why "no EC key installed"; return 1; }
  curl -sf "$OBASE/cert?fp=$FP" >"$WORK/b1-ee.pem" && openssl verify -CAfile "$WORK/our-ca.pem" "$WORK/b1-ee.pem" || { why "openssl verify"; return 1; }
  B_EC_FP=$FP
  java_sign "$H" 1234 || { why "signData with the PIN failed"; return 1; }
}
b_rsa() {
  java_device 'alg=rsa&pin=0' || return 1
  java_ok || return 1
  grep -q 'alg=RSA-2048' <<<"$OUT" || { why "no RSA key installed"; return 1; }
  B_RSA_FP=$FP
  java_sign "$H" || { why "RSA signData failed"; return 1; }
}
b_privacy() {
  java_device 'alg=ec&pin=1&privacy=1' --pin 5678 --client-tz GMT+01:00 || return 1
  java_ok || return 1
  grep -q 'privacyEnabled=true' <<<"$OUT" || { why "device did not run in privacy mode"; return 1; }
  [ "$(status_of "$OBASE" "$TOKEN" | jq -r .device)" = Anonymous ] || { why "issuer saw a device identity"; return 1; }
  B_PRIV_FP=$FP; B_PRIV_H=$H
}
b_delete() {
  [ -n "${B_EC_FP:-}" ] || { why "no EC key from B1"; return 1; }
  java_device "op=delete&fp=$B_EC_FP" || return 1
  java_ok || return 1
  grep -q "^RESULT deleted .*fp=$B_EC_FP" <<<"$OUT" || { why "device did not delete $B_EC_FP"; return 1; }
  java_has "$B_EC_FP" && { why "EC key still present"; return 1; }
  java_has "$B_RSA_FP" || { why "RSA key vanished"; return 1; }
}
b_unlock() {
  [ -n "${B_PRIV_FP:-}" ] || { why "no privacy key from B3"; return 1; }
  for _ in 1 2 3; do java_sign "$B_PRIV_H" 0000 2>/dev/null && { why "wrong PIN accepted"; return 1; }; done
  "$OKSPEER" device --list --store "$STORE" | grep -q "handle=$B_PRIV_H .*pin=BLOCKED" || { why "PIN not blocked"; return 1; }
  java_device "op=unlock&privacy=1&fp=$B_PRIV_FP" || return 1
  java_ok || return 1
  grep -q "^RESULT unlocked .*fp=$B_PRIV_FP" <<<"$OUT" || { why "device did not unlock"; return 1; }
  java_sign "$B_PRIV_H" 5678 || { why "signData after unlock failed"; return 1; }
}
b_untrusted() {
  local main=$OBASE
  start_our_issuer strict "$OUR_ROOT" || { why "strict issuer did not start"; return 1; }
  local before; before=$("$OKSPEER" device --list --store "$STORE" | tail -1)
  java_device 'alg=ec&pin=1'
  local strict=$OBASE; OBASE=$main
  [ "$RC" != 0 ] && grep -q '^RESULT FAILED' <<<"$OUT" || { why "untrusted device accepted"; return 1; }
  status_of "$strict" "$TOKEN" | jq -e '.status == "failed" and (.error | startswith("POLICY"))' >/dev/null || { why "issuer did not refuse by policy"; return 1; }
  [ "$("$OKSPEER" device --list --store "$STORE" | tail -1)" = "$before" ] || { why "the refused session left a key behind"; return 1; }
}
b_rsa_kmk() {
  java_device 'alg=rsa&pin=1&kmk=rsa&query=1' --pin 4321 || return 1
  java_ok || return 1
  grep -q 'alg=RSA-2048' <<<"$OUT" || { why "no RSA key installed"; return 1; }
  B_RK_FP=$FP; B_RK_H=$H
  java_sign "$H" 4321 || { why "signData with the PIN failed"; return 1; }
}
b_unlock_first_locked() {
  [ -n "${B_RK_H:-}" ] || { why "no RSA-KMK key from B7"; return 1; }
  for _ in 1 2 3; do java_sign "$B_RK_H" 0000 2>/dev/null && { why "wrong PIN accepted"; return 1; }; done
  java_device 'op=unlock&kmk=rsa' || return 1
  java_ok || return 1
  grep -q "^RESULT unlocked .*fp=$B_RK_FP" <<<"$OUT" || { why "device did not unlock $B_RK_FP"; return 1; }
  java_sign "$B_RK_H" 4321 || { why "signData after unlock failed"; return 1; }
}
b_delete_rsa_kmk() {
  [ -n "${B_RK_FP:-}" ] || { why "no RSA-KMK key from B7"; return 1; }
  java_device "op=delete&kmk=rsa&fp=$B_RK_FP" || return 1
  java_ok || return 1
  grep -q "^RESULT deleted .*fp=$B_RK_FP" <<<"$OUT" || { why "device did not delete $B_RK_FP"; return 1; }
  java_has "$B_RK_FP" && { why "key still present"; return 1; }
  curl -sf "$OBASE/records" | jq -e --arg fp "$B_RK_FP" 'any(.[]; .fingerprint == $fp and .status == "deleted")' >/dev/null || { why "issuer records not updated"; return 1; }
}
b_tls() {
  local main=$OBASE
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/tls-key.pem" -out "$WORK/tls-cert.pem" 2>/dev/null || { why "openssl req"; return 1; }
  start_our_issuer tls "$WORK/sks-root.pem" --tls-cert "$WORK/tls-cert.pem" --tls-key "$WORK/tls-key.pem" || { why "TLS issuer did not start"; return 1; }
  local tls=$OBASE
  # curl -k: the issuer's certificate is self-signed; the device trusts it with --insecure-tls
  local url; url=$(curl -skf "$tls/new?alg=ec&pin=1") || { OBASE=$main; why "GET /new over https"; return 1; }
  TOKEN=$(token_of "$url")
  OUT=$("$OKSPEER" device "$url" --store "$STORE" --pin 1234 --insecure-tls 2>&1) && RC=0 || RC=$?
  note "$OUT"
  OBASE=$main
  [ "$RC" = 0 ] && grep -q '^RESULT OK' <<<"$OUT" || { why "device: $(grep '^RESULT FAILED' <<<"$OUT" | head -1 | cut -c1-160)"; return 1; }
  curl -skf "$tls/status?session=$TOKEN" | jq -e '.status == "done"' >/dev/null || { why "issuer session not done"; return 1; }
}
b_privacy_mismatch() {
  [ -n "${B_PRIV_FP:-}" ] || { why "no privacy key from B3"; return 1; }
  # The reference device's lookup scan reports the privacy key in a non-privacy session (it does
  # not filter by privacy mode); its SKS then refuses postDeleteKey and aborts the session.
  java_device "op=delete&fp=$B_PRIV_FP" || return 1
  [ "$RC" != 0 ] && grep -q '^RESULT FAILED' <<<"$OUT" || { why "a non-privacy session deleted a privacy-mode key"; return 1; }
  java_has "$B_PRIV_FP" || { why "privacy key vanished"; return 1; }
}

echo "B. okspeer device -> airtight issuer (scripts/live-interop/our-issuer.ts)"
if start_our_issuer main "$WORK/sks-root.pem"; then
  curl -sf "$OBASE/ca.pem" >"$WORK/our-ca.pem"
  scenario 'B1 EC P-256 + PIN (E2ES)' b_ec_pin
  scenario 'B2 RSA-2048, no PIN' b_rsa
  scenario 'B3 privacy mode, clientTime +01:00' b_privacy
  scenario 'B4 delete via credential discovery (fp lookup)' b_delete
  scenario 'B5 unlock after 3 wrong PINs (privacy mode)' b_unlock
  scenario 'B6 issuer that does not trust the reference root refuses it' b_untrusted
  scenario 'B7 RSA-2048 + PIN, RSA KMK, capability queries' b_rsa_kmk
  scenario 'B8 unlock without fp (issuer picks the first locked key)' b_unlock_first_locked
  scenario 'B9 delete with the RSA KMK' b_delete_rsa_kmk
  scenario 'B10 https: the attested serverCertificate is the TLS leaf' b_tls
  scenario 'B11 non-privacy session cannot manage a privacy-mode key' b_privacy_mismatch
else
  for s in B1 B2 B3 B4 B5 B6 B7 B8 B9 B10 B11; do printf 'FAIL  %s (our issuer did not start)\n' "$s"; FAILED=$((FAILED + 1)); done
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
