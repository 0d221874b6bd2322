#!/usr/bin/env bash
# authctl org add|show|list|change|deregister|purge|agent|admin through the real binary on a
# temporary state directory: kinds from the credit code, the legal representative moved
# with its history, agents (LoA 2, not the legal representative, --until not past,
# --scope), admins; staff of a government agency (authctl staff); a deregistered organization grants nothing and takes no change;
# every bad input gives one clear error line, a non-zero exit and no write; ID numbers
# never in clear in output or audit; the audit trail verifies at the end.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHCTL=$BUILD/authctl/authctl
make_tmp

json() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}

[[ -x $AUTHCTL ]] || { echo "FAIL: $AUTHCTL not built"; exit 1; }
ST=$TMP/state
ctl() { "$AUTHCTL" -d "$ST" "$@"; }
bad() { local name=$1 re=$2; shift 2; expect_error "$name" "$re" "$AUTHCTL" -d "$ST" "$@"; }
db() { sqlite3 "$ST/directory.db" "$1"; }

ENT=91350100123456788Q     # 91: an enterprise
COOP=933501002345678942    # 93: a cooperative, no kind in GB 32100
REP1=11010519491231002X
REP2=440524188001010014
AG=110101199003070011
LOW=110101199003070038

uid_rep1=$(ctl user add --id-number "$REP1" --name 法人甲) || fail "user add rep1"
uid_rep2=$(ctl user add --id-number "$REP2" --name 法人乙) || fail "user add rep2"
uid_ag=$(ctl user add --id-number "$AG" --name 经办人) || fail "user add agent"
uid_low=$(ctl user add --id-number "$LOW" --name 未实名) || fail "user add low"
ctl user verify "$uid_ag" --loa 2 --by staff1 --evidence "counter check" >/dev/null ||
  fail "verify agent"

# --- add
org=$(ctl org add --uscc "$ENT" --name 某某有限公司 --legal-rep "$REP1" \
  --authority 福州市市场监督管理局 --established 2015-06-01) || fail "org add"
[[ $org =~ ^[0-9a-f]{32}$ ]] && ok "add prints a uid" || fail "add: $org"
ctl org show "$ENT" >"$TMP/show.json" || fail "org show"
check "kind derived from the code" "$(json "$TMP/show.json" 'j["kind"]')" enterprise
check "legal rep" "$(json "$TMP/show.json" 'j["legal_rep"]["uid"]')" "$uid_rep1"
check "legal rep ID number masked" "$(json "$TMP/show.json" 'j["legal_rep"]["id_number"]')" \
  "110105********002X"
check "legal_rep relation in force" \
  "$(json "$TMP/show.json" '[r["role"] for r in j["relations"] if r["in_force"]]')" "['legal_rep']"
check "established" "$(json "$TMP/show.json" 'j["established"]')" 2015-06-01
coop=$(ctl org add --uscc "$COOP" --name 某合作社 --kind social_organization) ||
  fail "org add with a kind"
check "kind set where the code defines none" "$(ctl org show "$COOP" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["kind"])')" social_organization
check "list" "$(ctl org list | wc -l)" 2

# --- bad input to add: nothing written
n0=$(db "select count(*) from org")
bad "invalid credit code" '^authctl: invalid credit code: bad_checksum$' \
  org add --uscc 91350100123456788R --name x
bad "duplicate org" 'already exists' org add --uscc "$ENT" --name x
bad "kind the code contradicts" 'the credit code says the kind is individual_business' \
  org add --uscc 923501003456789096 --name x --kind enterprise
bad "unknown kind" 'must be enterprise' org add --uscc 923501003456789096 --name x --kind shop
bad "unknown legal rep" 'no person with this ID number' \
  org add --uscc 923501003456789096 --name x --legal-rep 110101199003070054
bad "invalid legal rep ID" 'invalid ID number' \
  org add --uscc 923501003456789096 --name x --legal-rep 110101199003070055
bad "bad date" 'YYYY-MM-DD' org add --uscc 923501003456789096 --name x --established 2015-02-30
bad "future date" 'in the future' org add --uscc 923501003456789096 --name x \
  --established 2999-01-01
bad "missing name" 'required' org add --uscc 923501003456789096
check "nothing written by refused adds" "$(db "select count(*) from org")" "$n0"

# --- unknown org
bad "show unknown" 'no organization with credit code' org show 923501003456789096
bad "change unknown" 'no organization' org change 923501003456789096 --name y

# --- agents
rel=$(ctl org agent add "$ENT" --id-number "$AG" --until 2099-12-31 --scope tax \
  --scope social) || fail "agent add"
[[ $rel =~ ^[0-9a-f]{32}$ ]] && ok "agent add prints the relation id" || fail "agent add: $rel"
ctl org agent list "$ENT" >"$TMP/agents.json" || fail "agent list"
check "agent listed with scopes" "$(json "$TMP/agents.json" '[(r["person"]["uid"], r["scopes"]) for r in j]')" \
  "[('$uid_ag', 'tax social')]"
check "agent until end of day CST" "$(json "$TMP/agents.json" 'j[0]["until"]')" \
  "2099-12-31T16:00:00.000Z"
bad "agent below LoA 2" 'LoA 2 or more' org agent add "$ENT" --id-number "$LOW"
bad "agent is the legal rep" "legal representative" org agent add "$ENT" --id-number "$REP1"
bad "agent twice" 'already an agent' org agent add "$ENT" --id-number "$AG"
bad "until in the past" 'is in the past' org agent add "$ENT" --id-number "$AG" \
  --until 2020-01-01
bad "unknown person" 'no person with this ID number' org agent add "$ENT" \
  --id-number 110101199003070054
bad "agent without --id-number" 'required' org agent add "$ENT"
check "one agent relation" "$(db "select count(*) from mandate where role = 'agent'")" 1

# --- admins
ctl org admin add "$ENT" --id-number "$LOW" >/dev/null || fail "admin add"
ctl org admin remove "$ENT" --id-number "$LOW" >/dev/null || fail "admin remove"
bad "admin remove twice" 'not an admin' org admin remove "$ENT" --id-number "$LOW"

# --- change: the legal representative moves
ctl org change "$ENT" --legal-rep "$REP2" --name 某某有限公司（更名） >"$TMP/ch.json" ||
  fail "org change"
check "new legal rep" "$(json "$TMP/ch.json" 'j["legal_rep"]["uid"]')" "$uid_rep2"
check "one legal rep in office" \
  "$(db "select person_uid from mandate where role = 'legal_rep' and revoked = 0")" "$uid_rep2"
check "old legal rep relation ended" \
  "$(db "select count(*) from mandate where role = 'legal_rep' and revoked > 0 and person_uid = '$uid_rep1'")" 1
ctl org show "$ENT" >"$TMP/show2.json"
check "history" "$(json "$TMP/show2.json" '[h["field"] for h in j["history"]]')" \
  "['created', 'legal_rep', 'agent', 'admin', 'admin', 'name', 'legal_rep']"
check "history names the operator" \
  "$(json "$TMP/show2.json" 'all(h["actor"].startswith("operator:") for h in j["history"])')" True
bad "change kind against the code" 'says the kind is enterprise' \
  org change "$ENT" --kind government_agency
bad "change nothing" 'nothing to change' org change "$ENT"

# --- agent remove, deregister
ctl org agent remove "$ENT" --id-number "$AG" >/dev/null || fail "agent remove"
bad "agent remove twice" 'not an agent' org agent remove "$ENT" --id-number "$AG"
ctl org agent add "$ENT" --id-number "$AG" >/dev/null || fail "agent add again"
ctl org deregister "$ENT" >/dev/null || fail "deregister"
check "status deregistered" "$(ctl org show "$ENT" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["status"])')" deregistered
check "nothing in force after deregistration" "$(db "select count(*) from mandate m join org o
  on o.uid = m.org_uid where o.uscc = '$ENT' and o.status = 'active' and m.revoked = 0")" 0
bad "agent add to a deregistered org" 'is deregistered' org agent add "$ENT" --id-number "$AG"
bad "change a deregistered org" 'is deregistered' org change "$ENT" --name z
bad "deregister twice" 'is deregistered' org deregister "$ENT"

# --- staff of a government agency
GOV=11350100003000014R     # 11: a government agency
ctl org add --uscc "$GOV" --name 某市政务服务中心 >/dev/null || fail "org add agency"
staff_rel=$(ctl staff add --id-number "$AG" --org "$GOV" --unit 综合受理窗口 --position 科员) ||
  fail "staff add"
[[ $staff_rel =~ ^[0-9a-f]{32}$ ]] && ok "staff add prints the relation id" ||
  fail "staff add: $staff_rel"
ctl staff list --org "$GOV" >"$TMP/staff.json" || fail "staff list"
check "staff listed with unit and position" "$(json "$TMP/staff.json" \
  '[(s["person"]["uid"], s["unit"], s["position"], s["in_force"]) for s in j]')" \
  "[('$uid_ag', '综合受理窗口', '科员', True)]"
check "staff list shows the ID number masked" \
  "$(json "$TMP/staff.json" 'j[0]["person"]["id_number"]')" "110101********0011"
check "staff list of all agencies" "$(ctl staff list | python3 -c \
  'import json,sys; print(len(json.load(sys.stdin)))')" 1
n0=$(db "select count(*) from mandate")
bad "staff of an enterprise" 'is social_organization, not a government agency' \
  staff add --id-number "$LOW" --org "$COOP" --unit 窗口
bad "staff twice" 'already staff' staff add --id-number "$AG" --org "$GOV" --unit 别的科
bad "staff unknown person" 'no person with this ID number' \
  staff add --id-number 110101199003070054 --org "$GOV" --unit 窗口
bad "staff without a unit" '--unit is required' staff add --id-number "$LOW" --org "$GOV"
bad "staff with an empty unit" 'must not be empty' \
  staff add --id-number "$LOW" --org "$GOV" --unit ""
bad "staff unknown agency" 'no organization with credit code' \
  staff add --id-number "$LOW" --org 11350100003000022L --unit 窗口
bad "staff below LoA 2" 'real-name verified \(LoA 2 or more\); this person is at LoA 1' \
  staff add --id-number "$LOW" --org "$GOV" --unit 窗口
ctl user lock "$uid_low" >/dev/null 2>&1 || fail "lock low"
bad "staff inactive person" 'the person is locked' \
  staff add --id-number "$LOW" --org "$GOV" --unit 窗口
ctl user unlock "$uid_low" >/dev/null 2>&1 || fail "unlock low"
check "nothing written by refused staff adds" "$(db "select count(*) from mandate")" "$n0"
ctl staff remove --id-number "$AG" --org "$GOV" >/dev/null || fail "staff remove"
bad "staff remove twice" 'not staff' staff remove --id-number "$AG" --org "$GOV"
check "staff list after remove" "$(ctl staff list --org "$GOV")" "[]"
check "staff in the agency's history" "$(ctl org show "$GOV" | python3 -c \
  'import json,sys; print([(h["field"], h["actor"][:9]) for h in json.load(sys.stdin)["history"]][1:])')" \
  "[('staff', 'operator:'), ('staff', 'operator:')]"
check "staff audit events name the operator" "$(grep '"event":"staff\.' "$ST/audit.log" |
  grep -c '"actor":"operator:')" 2

# --- an ID number typed where it does not belong is echoed masked
for args in "staff add $AG" "org agent add $GOV $AG" "user show --bogus $AG"; do
  # shellcheck disable=SC2086
  ctl $args >/dev/null 2>"$TMP/echo.err" && fail "authctl $args succeeded"
  if grep -qF "$AG" "$TMP/echo.err"; then
    fail "authctl ${args%% $AG*}: the ID number echoed whole: $(cat "$TMP/echo.err")"
  else
    ok "authctl ${args%% $AG*}: the ID number masked in the error line"
  fi
done

# --- purge: the deregistered organization is erased once past the retention period
bad "org purge without --older-than" 'older-than DAYS is required' org purge
bad "org purge --older-than 0" 'whole number of days from 1' org purge --older-than 0
bad "org purge --older-than x" 'whole number of days from 1' org purge --older-than x
ctl org purge --older-than 1 >"$TMP/opurge0.json" || fail "org purge today: exit $?"
check "org purge --older-than 1 right after deregistering erases nothing" \
  "$(json "$TMP/opurge0.json" '(j["count"], j["uids"])')" "(0, [])"
# Age the deregistration by two days, as if it had happened then: its time is the status
# change's entry in the organization's history (org_history.at).
db "UPDATE org_history SET at = at - 2 * 86400 WHERE org_uid = '$org' AND field = 'status'" ||
  fail "aging the deregistration"
ctl org purge --older-than 1 --dry-run >"$TMP/opurge1.json" || fail "org purge --dry-run"
check "org purge --dry-run lists it" \
  "$(json "$TMP/opurge1.json" '(j["count"], j["uids"], j["dry_run"])')" "(1, ['$org'], True)"
ctl org show "$ENT" >/dev/null || fail "org purge --dry-run erased the organization"
ctl org purge --older-than 1 >"$TMP/opurge2.json" || fail "org purge: exit $?"
check "org purge erases it" \
  "$(json "$TMP/opurge2.json" '(j["count"], j["uids"], j["dry_run"])')" "(1, ['$org'], False)"
bad "the purged organization is gone" '.' org show "$ENT"
check "no row names it any more" "$(db "SELECT (SELECT count(*) FROM org WHERE uid = '$org')
  + (SELECT count(*) FROM org_history WHERE org_uid = '$org')
  + (SELECT count(*) FROM mandate WHERE org_uid = '$org')
  + (SELECT count(*) FROM entity WHERE uid = '$org')")" 0
check "the org.purge audit line: uid and date" "$(grep '"event":"org.purge"' "$ST/audit.log" |
  python3 -c 'import json,sys; e=json.loads(sys.stdin.readline());
print(e["org_uid"] == sys.argv[1], len(e["closed"]), e["status"])' "$org")" "True 10 deregistered"
org2=$(ctl org add --uscc "$ENT" --name 某某有限公司) || fail "re-adding the purged org"
[[ $org2 =~ ^[0-9a-f]{32}$ && $org2 != "$org" ]] && ok "the credit code can be added again" ||
  fail "re-add: '$org2'"

# --- no ID number in clear anywhere in output, audit or the directory files
for f in "$TMP"/*.json "$ST"/audit.log "$ST"/directory.db*; do
  if grep -aq -e "$REP1" -e "$REP2" -e "$AG" -e "$LOW" "$f"; then
    fail "a plaintext ID number in $(basename "$f")"
  fi
done
ok "no plaintext ID number in output, audit or directory"
check "audit events" "$(grep -o '"event":"org\.[a-z.]*"' "$ST/audit.log" | sort | uniq -c |
  awk '{print $2 $1}' | tr '\n' ' ')" \
  '"event":"org.add"4 "event":"org.admin.add"1 "event":"org.admin.remove"1 "event":"org.agent.add"2 "event":"org.agent.remove"1 "event":"org.change"1 "event":"org.deregister"1 "event":"org.purge"1 '
ctl audit verify "$ST/audit.log" >"$TMP/verify.out" 2>&1 && ok "audit verify" ||
  fail "audit verify: $(cat "$TMP/verify.out")"

finish "authctl_org: all checks passed" "authctl_org: "
