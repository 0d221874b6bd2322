#!/usr/bin/env bash
# idmerge import: identities, account links and credentials into the directory,
# idempotently; then a login (authctl user check-password) with the ID number, the phone
# and the legacy username and the legacy password succeeds for EVERY legacy scheme
# (tests/fixtures/idmerge/import: hashes made with python3 hashlib/crypt and openssl)
# and upgrades the hash to argon2id. Also imports the dirty five-source fixtures
# (persons and organizations) twice, refuses uids the run's uid key does not give, and
# re-keys a directory whose uids were made with the public key (idmerge rekey), an app
# registered before the re-key seeing the same sub for the person afterwards (ID token
# and /userinfo of a real authd). The same logins over HTTP against a real authd:
# idmerge_login.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BUILD=${YH_BUILD:-build}
SRC=${YH_SRCDIR:-.}
IDMERGE=$BUILD/migration-tools/idmerge/idmerge
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
FIX=$(cd "$SRC/tests/fixtures/idmerge" && pwd)
make_tmp
export CI=true

# Replaces lib.sh's fail: this script stops at the first failure.
fail() {
	echo "FAIL: $*" >&2
	[[ -f $TMP/authd.log ]] && tail -20 "$TMP/authd.log" >&2
	exit 1
}

[[ -x $IDMERGE ]] || fail "idmerge not built at $IDMERGE"
[[ -x $AUTHCTL ]] || fail "authctl not built at $AUTHCTL"
[[ -x $AUTHD ]] || fail "authd not built at $AUTHD"

# A cheap argon2id cost keeps the test quick; the path is the production one.
cat >"$TMP/authd.conf" <<EOF
state_dir = $TMP/state
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 256
EOF
DB=$TMP/state/directory.db

"$IDMERGE" run --sources "$FIX/import/sources.json" --out "$TMP/out" --today 20260101 \
	>/dev/null 2>&1 || fail "idmerge run (import fixtures)"

"$IDMERGE" import --in "$TMP/out" -c "$TMP/authd.conf" >"$TMP/imp1.log" 2>&1 ||
	{ cat "$TMP/imp1.log"; fail "first import"; }
n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$FIX/import/expected.json")
grep -q "persons $n added 0 updated" "$TMP/imp1.log" || fail "first import: $(cat "$TMP/imp1.log")"
grep -q "$n account links added, $n credentials set" "$TMP/imp1.log" ||
	fail "first import links/credentials: $(cat "$TMP/imp1.log")"
[[ $(stat -c %a "$DB") == 600 ]] || fail "directory file mode $(stat -c %a "$DB")"

counts() {
	sqlite3 "$DB" "select (select count(*) from person), (select count(*) from legacy_link),
	    (select count(*) from credential), (select group_concat(scheme || ':' || hash, ',') from credential)"
}
before=$(counts)

# Idempotent: the same file again changes nothing.
"$IDMERGE" import --in "$TMP/out" -d "$TMP/state" >"$TMP/imp2.log" 2>&1 ||
	{ cat "$TMP/imp2.log"; fail "second import"; }
grep -q "persons 0 added 0 updated, organizations 0 added 0 updated, 0 account links added, 0 credentials set, $n unchanged" \
	"$TMP/imp2.log" || fail "second import not a no-op: $(cat "$TMP/imp2.log")"
[[ $(counts) == "$before" ]] || fail "second import changed the directory"

# Encrypted at rest: no ID number, phone or plaintext password in the file.
python3 - "$FIX/import/expected.json" "$DB" <<'PY' || fail "plaintext personal data in the directory"
import json, sys
people = json.load(open(sys.argv[1]))
db = open(sys.argv[2], "rb").read()
for p in people:
    for v in (p["id_number"], p["phone"]):
        if v.encode() in db:
            print("plaintext in db:", v[:4] + "..."); sys.exit(1)
    if p["scheme"] == "plain" and p["password"].encode() in db:
        print("plaintext password stored"); sys.exit(1)
PY

check() { # check IDENT PASSWORD -> prints authctl's JSON, returns its status
	printf '%s' "$2" | "$AUTHCTL" -c "$TMP/authd.conf" user check-password "$1" --password-stdin 2>&1
}

# Each scheme: ID number (first login: legacy hash verified, upgraded), then phone and
# legacy username (now against argon2id), and a wrong password is refused.
python3 -c "
import json, sys
for p in json.load(open(sys.argv[1])):
    print('\t'.join([p['tag'], p['scheme'], p['id_number'], p['phone'], p['username'], p['password']]))
" "$FIX/import/expected.json" >"$TMP/people.tsv"
while IFS=$'\t' read -r tag scheme idn phone user pw; do
	out=$(check "$idn" "$pw") || fail "$tag: login with the ID number failed: $out"
	if [[ $scheme == plain ]]; then
		# Hashed with argon2id at import, so nothing is left to upgrade.
		[[ $out == *'"ok":true'* && $out == *'"rehashed":false'* ]] || fail "$tag: $out"
	else
		[[ $out == *'"ok":true'* && $out == *'"rehashed":true'* ]] ||
			fail "$tag: first login did not upgrade the hash: $out"
	fi
	out=$(check "$phone" "$pw") || fail "$tag: login with the phone failed: $out"
	[[ $out == *'"rehashed":false'* ]] || fail "$tag: second login rehashed again: $out"
	out=$(check "$user" "$pw") || fail "$tag: login with the legacy username failed: $out"
	if check "$idn" "wrong-$pw" >/dev/null; then fail "$tag: a wrong password was accepted"; fi
	echo "ok: $tag"
done <"$TMP/people.tsv"

bad=$(sqlite3 "$DB" "select count(*) from credential where scheme != 'argon2id'")
[[ $bad == 0 ]] || fail "$bad credentials still on a legacy scheme after login"

# A re-import after the upgrade keeps the argon2id hashes.
"$IDMERGE" import --in "$TMP/out" -c "$TMP/authd.conf" >/dev/null 2>&1 || fail "third import"
bad=$(sqlite3 "$DB" "select count(*) from credential where scheme != 'argon2id'")
[[ $bad == 0 ]] || fail "re-import replaced upgraded hashes with legacy ones"

# Uids that the run's key does not give never enter the directory: a file whose uids
# were made with the public key of earlier versions (reversible to the ID numbers), or
# one imported with another key, adds nobody (exit 1); without a uid key: exit 2.
mkdir "$TMP/legacy"
python3 - "$TMP/out/identities.jsonl" "$TMP/legacy/identities.jsonl" <<'PY'
import hashlib, hmac, json, sys
def uid(kind, canon):
    return hmac.new(b"yihao/idmerge/uid/v1", f"{kind}:{canon}".encode(), hashlib.sha256).hexdigest()[:32]
with open(sys.argv[2], "w") as out:
    for l in open(sys.argv[1]):
        o = json.loads(l)
        o["uid"] = uid("p", o["id_number"]) if o["kind"] == "person" else uid("o", o["org_code"])
        out.write(json.dumps(o, ensure_ascii=False) + "\n")
PY
cp -p "$TMP/out/uid.key" "$TMP/legacy/uid.key"
set +e
"$IDMERGE" import --in "$TMP/legacy" -d "$TMP/state_legacy" >"$TMP/legacy.log" 2>&1
rc=$?
set -e
[[ $rc == 1 ]] && grep -q "persons 0 added\|$n of $n identities could not be imported" "$TMP/legacy.log" &&
	grep -q "is not the one the uid key gives" "$TMP/legacy.log" ||
	fail "public-key uids: exit $rc: $(cat "$TMP/legacy.log")"
[[ $(sqlite3 "$TMP/state_legacy/directory.db" "select count(*) from entity") == 0 ]] ||
	fail "public-key uids entered the directory"
head -c 32 /dev/urandom >"$TMP/other.key"
chmod 600 "$TMP/other.key"
set +e
"$IDMERGE" import --in "$TMP/out" -d "$TMP/state_other" --uid-key "$TMP/other.key" >"$TMP/other.log" 2>&1
rc=$?
set -e
[[ $rc == 1 && $(sqlite3 "$TMP/state_other/directory.db" "select count(*) from entity") == 0 ]] ||
	fail "another uid key: exit $rc: $(cat "$TMP/other.log")"
rm "$TMP/legacy/uid.key"
set +e
"$IDMERGE" import --in "$TMP/legacy" -d "$TMP/state_nokey" >"$TMP/nokey.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -qF "$TMP/legacy/uid.key" "$TMP/nokey.log" ||
	fail "import without a uid key: exit $rc: $(cat "$TMP/nokey.log")"

# The dirty fixtures: persons and organizations (legal representatives), twice.
"$IDMERGE" run --sources "$FIX/sources.json" --out "$TMP/fx" --today 20260101 >/dev/null 2>&1 ||
	fail "idmerge run (fixtures)"
persons=$(grep -c '"kind":"person"' "$TMP/fx/identities.jsonl")
orgs=$(grep -c '"kind":"org"' "$TMP/fx/identities.jsonl")
"$IDMERGE" import --in "$TMP/fx" -d "$TMP/state2" >"$TMP/fx1.log" 2>&1 ||
	{ cat "$TMP/fx1.log"; fail "fixture import"; }
grep -q "persons $persons added 0 updated, organizations $orgs added 0 updated" "$TMP/fx1.log" ||
	fail "fixture import: $(cat "$TMP/fx1.log")"
"$IDMERGE" import --in "$TMP/fx" -d "$TMP/state2" >"$TMP/fx2.log" 2>&1 || fail "fixture re-import"
grep -q "persons 0 added 0 updated, organizations 0 added 0 updated, 0 account links added, 0 credentials set" \
	"$TMP/fx2.log" || fail "fixture re-import not a no-op: $(cat "$TMP/fx2.log")"
reps=$(sqlite3 "$TMP/state2/directory.db" "select count(*) from org where legal_rep_uid is not null and legal_rep_uid != ''")
[[ $reps == 2 ]] || fail "organizations with a legal representative: $reps, want 2"
# Each of them has its legal representative in office as a legal_rep relation, and an
# organization with a credit code its kind from the code.
rels=$(sqlite3 "$TMP/state2/directory.db" "select count(*) from org o join mandate m on
  m.org_uid = o.uid and m.person_uid = o.legal_rep_uid where m.role = 'legal_rep'
  and m.revoked = 0")
[[ $rels == 2 ]] || fail "legal_rep relations of imported organizations: $rels, want 2"
kinds=$(sqlite3 "$TMP/state2/directory.db" "select count(*) from org where uscc like '91%'
  and kind != 'enterprise'")
[[ $kinds == 0 ]] || fail "imported enterprises without their kind: $kinds"
links=$(sqlite3 "$TMP/state2/directory.db" "select count(*) from legacy_link")
want=$(python3 -c "
import json,sys
print(sum(len(json.loads(l)['accounts']) for l in open(sys.argv[1])))" "$TMP/fx/identities.jsonl")
[[ $links == "$want" ]] || fail "legacy links $links, want $want"
# The person merged from six accounts logs in with a legacy username from one source
# and the password of the most recently used account (gjj, sha1-salt).
check_fx() { printf '%s' "$2" | "$AUTHCTL" -d "$TMP/state2" user check-password "$1" --password-stdin 2>&1; }
out=$(check_fx zw2019 pw-A-gjj) || fail "merged person: legacy username + newest password: $out"
if check_fx zhangwei pw-A-shebao >/dev/null; then
	fail "an older account's password was kept instead of the newest"
fi

# idmerge rekey: a directory as an earlier idmerge left it (the same import, its uids
# made with the public key; simulated by renaming every uid in every column with
# sqlite3) is given the keyed uids back: afterwards it holds exactly what the keyed
# import wrote (every row of every table, the subject pins and authd's consent aside),
# nothing names a public-key uid, the merged person still logs in, and a third rekey
# finds nothing. Apps keep their subs: an app registered before the re-key gets the same sub for the
# merged person from authd afterwards (ID token and /userinfo), and again after a second
# re-key; an app registered after it gets the HMAC of the new uid.
cp -a "$TMP/state2" "$TMP/state3"
to_public_uids() { # every keyed uid of the fixtures in DB becomes its public-key uid
	python3 - "$TMP/fx/identities.jsonl" "$1" "$TMP/legacy_uids.txt" <<'PY'
import hashlib, hmac, json, sqlite3, sys
def uid(kind, canon):
    return hmac.new(b"yihao/idmerge/uid/v1", f"{kind}:{canon}".encode(), hashlib.sha256).hexdigest()[:32]
pairs = []
for l in open(sys.argv[1]):
    o = json.loads(l)
    pairs.append((o["uid"], uid("p", o["id_number"]) if o["kind"] == "person" else uid("o", o["org_code"])))
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA foreign_keys = OFF")
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
    for c in [r[1] for r in db.execute(f"PRAGMA table_info('{t}')")]:
        for new, old in pairs:
            db.execute(f'UPDATE "{t}" SET "{c}" = ? WHERE "{c}" = ?', (old, new))
db.commit()
open(sys.argv[3], "w").write("\n".join(old for _, old in pairs) + "\n")
PY
}
to_public_uids "$TMP/state3/directory.db"
fx_persons=$(grep -c '"kind":"person"' "$TMP/fx/identities.jsonl")
fx_orgs=$(grep -c '"kind":"org"' "$TMP/fx/identities.jsonl")
"$IDMERGE" import --in "$TMP/fx" -d "$TMP/state3" >"$TMP/fx3.log" 2>&1 || fail "import over public-key uids: $(cat "$TMP/fx3.log")"
grep -q "note: $((fx_persons + fx_orgs)) of these identities were already in the directory under uids made with the public key" \
	"$TMP/fx3.log" || fail "import did not notice the public-key uids: $(cat "$TMP/fx3.log")"

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
CB=http://127.0.0.1:9/cb
S=$TMP/state3
merged_uid() { sqlite3 "$S/directory.db" "select owner_uid from legacy_link where username = 'zw2019'"; }
# hmac_sub SECTOR UID: the sub the subject key gives UID in SECTOR (no pin).
hmac_sub() {
	python3 - "$S/subject.key" "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
mac = hmac.new(key, sys.argv[2].encode() + b"\0" + sys.argv[3].encode(), hashlib.sha256).digest()
print(base64.urlsafe_b64encode(mac).decode().rstrip("="))
PY
}
# oidc_sub APP: the merged person logs in (a fresh browser), authorizes APP and redeems
# the code; SUB is the ID token's sub, after checking that /userinfo answers the same.
oidc_sub() {
	local app=$1 code idt at usub
	rm -f "$TMP/b.jar"
	login_form b zw2019 pw-A-gjj
	[[ $STATUS == 303 ]] || fail "login to authd: $STATUS $BODY"
	authorize_code b openid "$app" || fail "authorize for $app: $STATUS '$LOCATION'"
	code=$(curl -s -o "$TMP/tok.json" -w '%{http_code}' -d grant_type=authorization_code \
		-d "client_id=$app" --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
		--data-urlencode "code_verifier=$VERIFIER" "$BASE/token")
	[[ $code == 200 ]] || fail "token for $app: $code $(cat "$TMP/tok.json")"
	idt=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["id_token"])' "$TMP/tok.json")
	at=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/tok.json")
	SUB=$(jwt_claim "$idt" sub)
	code=$(curl -s -o "$TMP/ui.json" -w '%{http_code}' -H "Authorization: Bearer $at" "$BASE/userinfo")
	usub=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1])).get("sub",""))' "$TMP/ui.json")
	[[ $code == 200 && ${#SUB} == 43 && $usub == "$SUB" ]] ||
		fail "$app: userinfo $code sub '$usub', ID token sub '$SUB'"
}
# subs_now APP...: authd on S, for each APP its sub for the merged person in SUBS[APP].
declare -A SUBS
subs_now() {
	local app
	start_authd -d "$S" -l "127.0.0.1:$PORT"
	for app in "$@"; do
		oidc_sub "$app"
		SUBS[$app]=$SUB
	done
	stop_authd || fail "authd did not stop cleanly"
}
"$AUTHCTL" -d "$S" client add before --public --redirect-uri "$CB" --scope openid >/dev/null 2>&1 ||
	fail "client add before"
subs_now before
sub0=${SUBS[before]}
[[ $sub0 == $(hmac_sub before "$(merged_uid)") ]] || fail "the sub before the re-key is not the HMAC of the uid"

set +e
"$IDMERGE" rekey --in "$TMP/fx" -d "$S" >"$TMP/rekey0.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -q "found $fx_persons persons and $fx_orgs organizations" "$TMP/rekey0.log" &&
	grep -q "would record $fx_persons subject pins (1 app sectors)" "$TMP/rekey0.log" &&
	grep -q -- "--apply" "$TMP/rekey0.log" ||
	fail "rekey without --apply: exit $rc: $(cat "$TMP/rekey0.log")"
[[ $(sqlite3 "$S/directory.db" "select count(*) from subject_pin") == 0 ]] || fail "a count recorded pins"
# The former name of --apply still applies, with a note.
"$IDMERGE" rekey --in "$TMP/fx" -d "$S" --accept-new-subjects >"$TMP/rekey1.log" 2>&1 ||
	fail "rekey: $(cat "$TMP/rekey1.log")"
grep -q "re-keyed $fx_persons persons and $fx_orgs organizations" "$TMP/rekey1.log" &&
	grep -q "recorded $fx_persons subject pins (1 app sectors)" "$TMP/rekey1.log" &&
	grep -q "note: --accept-new-subjects is the former name of --apply" "$TMP/rekey1.log" ||
	fail "rekey: $(cat "$TMP/rekey1.log")"
python3 - "$TMP/state2/directory.db" "$S/directory.db" "$TMP/legacy_uids.txt" <<'PY' ||
import sqlite3, sys
def rows(path):
    db = sqlite3.connect(path)
    out = {}
    for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        out[t] = sorted(map(repr, db.execute(f'SELECT * FROM "{t}"').fetchall()))
    return out
want, got = rows(sys.argv[1]), rows(sys.argv[2])
# authd's own: the consent the person gave the app "before" (subject pins: below).
got["consent"] = [r for r in got["consent"] if "'before'" not in r]
bad = [t for t in want if t != "subject_pin" and want[t] != got.get(t)]
old = set(open(sys.argv[3]).read().split())
named = [t for t in got for r in got[t] if any(u in r for u in old)]
if bad or named or len(old) < 2:
    print("differ:", bad, "public-key uids left in:", sorted(set(named))); sys.exit(1)
PY
	fail "the re-keyed directory is not the keyed import"
[[ $(sqlite3 "$S/directory.db" "select count(*) from subject_pin where sector = 'before'") == "$fx_persons" ]] ||
	fail "subject pins: $(sqlite3 "$S/directory.db" "select count(*) from subject_pin")"
check_fx3() { printf '%s' "$2" | "$AUTHCTL" -d "$S" user check-password "$1" --password-stdin 2>&1; }
out=$(check_fx3 zw2019 pw-A-gjj) || fail "merged person after rekey: $out"
uid1=$(merged_uid)
"$AUTHCTL" -d "$S" client add after --public --redirect-uri "$CB" --scope openid >/dev/null 2>&1 ||
	fail "client add after"
subs_now before after
[[ ${SUBS[before]} == "$sub0" ]] || fail "the app registered before the re-key sees a new sub: ${SUBS[before]}, was $sub0"
[[ ${SUBS[after]} == $(hmac_sub after "$uid1") ]] ||
	fail "the app registered after the re-key: sub ${SUBS[after]}, not the HMAC of the new uid"
echo "ok: after the re-key: the same sub at the app registered before, the new uid's at the one registered after"

# A second re-key (the uids made public-key ones again by hand, pins included): each app
# keeps the sub it had just before, and the first app the one it had at the start.
to_public_uids "$S/directory.db"
subs_now before after
before2=${SUBS[before]} after2=${SUBS[after]}
[[ $before2 == "$sub0" ]] || fail "the pin did not follow the uid: ${SUBS[before]}"
"$IDMERGE" rekey --in "$TMP/fx" -d "$S" --apply >"$TMP/rekey2.log" 2>&1 ||
	fail "second rekey: $(cat "$TMP/rekey2.log")"
grep -q "re-keyed $fx_persons persons and $fx_orgs organizations" "$TMP/rekey2.log" &&
	grep -q "recorded $((2 * fx_persons)) subject pins (2 app sectors)" "$TMP/rekey2.log" ||
	fail "second rekey: $(cat "$TMP/rekey2.log")"
[[ $(sqlite3 "$S/directory.db" "select count(*) from subject_pin") == $((2 * fx_persons)) ]] ||
	fail "subject pins after the second re-key: $(sqlite3 "$S/directory.db" "select count(*) from subject_pin")"
subs_now before after
[[ ${SUBS[before]} == "$sub0" && ${SUBS[after]} == "$after2" ]] ||
	fail "after the second re-key: before ${SUBS[before]} (want $sub0), after ${SUBS[after]} (want $after2)"
echo "ok: after a second re-key every app keeps its sub"
"$IDMERGE" rekey --in "$TMP/fx" -d "$S" --apply >"$TMP/rekey3.log" 2>&1 ||
	fail "third rekey: $(cat "$TMP/rekey3.log")"
grep -q "re-keyed 0 persons and 0 organizations" "$TMP/rekey3.log" || fail "third rekey: $(cat "$TMP/rekey3.log")"

echo "idmerge_import: ok"
