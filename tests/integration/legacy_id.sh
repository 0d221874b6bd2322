#!/usr/bin/env bash
# An app's own user ids: idmerge imports the fixture sources of
# tests/fixtures/idmerge/import (one person per source system), then apps registered
# with --legacy-source s_md5_hex see each person by their id in that system:
#
#  - CAS with --cas-user legacy: <cas:user> is the person's legacy id (L01) and the 3.0
#    attributes carry legacyId and legacyUsername beside the pairwise sub; a person
#    without an account in s_md5_hex gets the pairwise subject and no legacyId;
#  - with --legacy-required, /cas/login shows an error page (403, no ticket, no
#    redirect) to the person without an account, and issues a ticket to the one with;
#  - OIDC: the ID token and /userinfo carry yh_legacy_id and yh_legacy_username for the
#    person with an account, neither for the other; with --legacy-required /authorize
#    sends the person without one back with error=access_denied and a description;
#  - discovery lists both claims; authctl refuses --cas-user legacy or
#    --legacy-required without --legacy-source.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_idmerge
FIX=$(cd "$YH_SRCDIR/tests/fixtures/idmerge/import" && pwd)

make_tmp legacyid
LOGS="authd ctl"
S=$TMP/state
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
CB=http://127.0.0.1:9/cb              # nothing listens: the flow stops at the redirect
SVC=http://127.0.0.1:9/app            # CAS app "shebao-cas": cas_user legacy
SVC_REQ=http://127.0.0.1:9/req        # CAS app "shebao-req": and legacy_required
SOURCE=s_md5_hex
# Person A has an account in s_md5_hex (legacy id L01, username u01_md5_hex); person B
# only in s_md5_salt. Both log in with their legacy passwords.
A_ID=330106199002020015 A_PW='密码-md5-hex' A_LEGACY=L01 A_USER=u01_md5_hex
B_ID=330106199003030020 B_PW=pw-md5-salt

cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 256
EOF
"$IDMERGE" run --sources "$FIX/sources.json" --out "$TMP/merged" --today 20260101 \
  >"$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; die "idmerge run"; }
"$IDMERGE" import --in "$TMP/merged" -c "$TMP/authd.conf" >"$TMP/import.log" 2>&1 ||
  { cat "$TMP/import.log"; die "idmerge import"; }
grep -q "$A_ID" "$FIX/$SOURCE.jsonl" && ! grep -q "$B_ID" "$FIX/$SOURCE.jsonl" ||
  die "the fixture $SOURCE no longer holds person A alone"

# ---- registration
expect_error "--cas-user legacy without --legacy-source" 'cas_user legacy needs a legacy_source' \
  "$AUTHCTL" -d "$S" client add x1 --cas-service http://127.0.0.1:9/x --cas-user legacy
expect_error "--legacy-required without --legacy-source" 'legacy_required needs a legacy_source' \
  "$AUTHCTL" -d "$S" client add x2 --redirect-uri "$CB" --public --legacy-required
expect_error "--cas-user other" 'cas-user: subject or legacy' \
  "$AUTHCTL" -d "$S" client add x3 --cas-service http://127.0.0.1:9/x --legacy-source "$SOURCE" \
  --cas-user uid
ctl_or_die client add shebao-cas --cas-service "$SVC" --legacy-source "$SOURCE" --cas-user legacy
ctl_or_die client add shebao-req --cas-service "$SVC_REQ" --legacy-source "$SOURCE" \
  --cas-user legacy --legacy-required
ctl_or_die client add shebao-web --public --redirect-uri "$CB" --scope openid \
  --legacy-source "$SOURCE"
ctl_or_die client add shebao-only --public --redirect-uri "$CB" --scope openid \
  --legacy-source "$SOURCE" --legacy-required
ctl client show shebao-req >"$TMP/show.json" || fail "client show"
[[ $("$PY" -c 'import json,sys;o=json.load(open(sys.argv[1]));print(o["legacy_source"],o["cas_user"],o["legacy_required"])' "$TMP/show.json") == "$SOURCE legacy True" ]] &&
  ok "client show: legacy_source, cas_user, legacy_required" || fail "show: $(cat "$TMP/show.json")"
start_authd -c "$TMP/authd.conf"

fetch "$BASE/.well-known/openid-configuration"
grep -q '"yh_legacy_id"' "$TMP/body" && grep -q '"yh_legacy_username"' "$TMP/body" &&
  ok "discovery: claims_supported lists yh_legacy_id and yh_legacy_username" ||
  fail "discovery: $(cat "$TMP/body")"

# cas_ticket JAR SERVICE IDNUMBER PASSWORD: /cas/login, through the login form when
# JAR has no session; sets TICKET ("" when none came back to SERVICE).
cas_ticket() {
  TICKET=
  req "$1" GET "/cas/login?service=$(enc "$2")"
  if [[ $STATUS == 302 && $LOCATION == /login\?* ]]; then
    through_login "$1" "$3" "$4"
    [[ $STATUS == 303 ]] || { fail "login of $3: $STATUS '$LOCATION'"; return 1; }
    req "$1" GET "$LOCATION"
  fi
  if [[ $STATUS == 302 && $LOCATION == "$2?ticket=ST-"* ]]; then TICKET=${LOCATION##*ticket=}; fi
}
# p3 SERVICE TICKET: the 3.0 validation, as the app.
p3() { fetch "$BASE/cas/p3/serviceValidate?service=$(enc "$1")&ticket=$(enc "$2")"; }

# ---- CAS, person A: the legacy id
cas_ticket a "$SVC" "$A_ID" "$A_PW"
[[ -n $TICKET ]] && ok "A: a ticket for the legacy-id app" || fail "A: no ticket: $STATUS '$LOCATION'"
p3 "$SVC" "$TICKET"
[[ $(xml_text user) == "$A_LEGACY" ]] && ok "A: <cas:user> is the id in $SOURCE ($A_LEGACY)" ||
  fail "A: user '$(xml_text user)': $(cat "$TMP/body")"
[[ $(xml_text legacyId) == "$A_LEGACY" && $(xml_text legacyUsername) == "$A_USER" ]] &&
  ok "A: attributes legacyId and legacyUsername" || fail "A: attributes: $(cat "$TMP/body")"
A_SUB=$(xml_text sub)
[[ ${#A_SUB} == 43 && $A_SUB != "$A_LEGACY" ]] && ok "A: the pairwise sub is still an attribute" ||
  fail "A: sub '$A_SUB'"
cas_ticket a "$SVC" "$A_ID" "$A_PW"
fetch "$BASE/cas/serviceValidate?service=$(enc "$SVC")&ticket=$(enc "$TICKET")&format=JSON"
[[ $("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["serviceResponse"]["authenticationSuccess"]["user"])' "$TMP/body" 2>/dev/null) == "$A_LEGACY" ]] &&
  ok "A: 2.0 JSON user is the legacy id" || fail "A: 2.0 JSON: $(cat "$TMP/body")"
cas_ticket a "$SVC_REQ" "$A_ID" "$A_PW"
[[ -n $TICKET ]] && ok "A: legacy_required app issues a ticket to a person with an account" ||
  fail "A: legacy_required: $STATUS '$LOCATION'"
fetch "$BASE/cas/validate?service=$(enc "$SVC_REQ")&ticket=$(enc "$TICKET")"
[[ $(cat "$TMP/body") == $'yes\n'"$A_LEGACY" ]] && ok "A: 1.0 answers the legacy id" ||
  fail "A: 1.0: $(cat "$TMP/body")"

# ---- CAS, person B: no account in the source
cas_ticket b "$SVC" "$B_ID" "$B_PW"
[[ -n $TICKET ]] && ok "B: a ticket for the legacy-id app" || fail "B: no ticket: $STATUS '$LOCATION'"
p3 "$SVC" "$TICKET"
B_SUB=$(xml_text sub)
[[ ${#B_SUB} == 43 && $(xml_text user) == "$B_SUB" && $B_SUB != "$A_SUB" ]] &&
  ok "B: <cas:user> is the pairwise subject" || fail "B: user '$(xml_text user)': $(cat "$TMP/body")"
[[ $(xml_text legacyId) == "" ]] && ok "B: no legacyId" || fail "B: legacyId: $(cat "$TMP/body")"
req b GET "/cas/login?service=$(enc "$SVC_REQ")"
[[ $STATUS == 403 && -z $LOCATION ]] && grep -q '原有系统' "$TMP/body" &&
  ok "B: legacy_required: an error page (403), no ticket" ||
  fail "B: legacy_required: $STATUS '$LOCATION' $(head -c 300 "$TMP/body")"

# ---- OIDC
userinfo() { curl -s -H "Authorization: Bearer $AT" "$BASE/userinfo" >"$TMP/ui.json"; }
ui_claim() { "$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get(sys.argv[2],""))' "$TMP/ui.json" "$1" 2>/dev/null; }

if id_token a shebao-web; then
  [[ $(jwt_claim "$IDT" yh_legacy_id) == "$A_LEGACY" && $(jwt_claim "$IDT" yh_legacy_username) == "$A_USER" ]] &&
    ok "A: ID token has yh_legacy_id and yh_legacy_username" ||
    fail "A: ID token: $(jwt_part "$IDT" 1 yh_legacy_id) / sub $(jwt_claim "$IDT" sub)"
  userinfo
  [[ $(ui_claim yh_legacy_id) == "$A_LEGACY" && $(ui_claim yh_legacy_username) == "$A_USER" ]] &&
    ok "A: userinfo has yh_legacy_id and yh_legacy_username" || fail "A: userinfo: $(cat "$TMP/ui.json")"
fi
if id_token b shebao-web; then
  [[ -n $(jwt_claim "$IDT" sub) && -z $(jwt_claim "$IDT" yh_legacy_id) && -z $(jwt_claim "$IDT" yh_legacy_username) ]] &&
    ok "B: ID token without yh_legacy_id" || fail "B: ID token has $(jwt_claim "$IDT" yh_legacy_id)"
  userinfo
  [[ -n $(ui_claim sub) && -z $(ui_claim yh_legacy_id) ]] && ok "B: userinfo without yh_legacy_id" ||
    fail "B: userinfo: $(cat "$TMP/ui.json")"
fi
id_token a shebao-only && ok "A: legacy_required app gives a person with an account a code"
req b GET "/authorize?response_type=code&client_id=shebao-only&redirect_uri=$(enc "$CB")&scope=openid&state=s1&code_challenge=$(printf '%043d' 0)&code_challenge_method=S256"
[[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" error) == access_denied &&
  $(qparam "$LOCATION" error_description) == *legacy_required* && $(qparam "$LOCATION" state) == s1 &&
  -z $(qparam "$LOCATION" code) ]] &&
  ok "B: legacy_required: access_denied with a description" || fail "B: /authorize: $STATUS '$LOCATION'"

finish "legacy_id: all checks passed"
