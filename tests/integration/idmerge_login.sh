#!/usr/bin/env bash
# After idmerge import, a person logs in to the real authd over HTTP (GET /login for the
# form's CSRF token and cookie, POST username/password) with their legacy password, for
# EVERY legacy scheme of tests/fixtures/idmerge/import. The identifier of the first login
# (the one that meets the legacy hash) rotates through the ID number, the phone and the
# legacy username; the other two then log in against the upgraded hash. A wrong password
# is refused before and after the upgrade, and the stored scheme (authctl user show) is
# the legacy one until the first successful login and argon2id after it; the audit log
# records each upgrade ("rehashed": true).
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

for p in "$IDMERGE" "$AUTHD" "$AUTHCTL"; do [[ -x $p ]] || fail "not built: $p"; done

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
ST=$TMP/state

# A cheap argon2id cost keeps the test quick; the path is the production one.
cat >"$TMP/authd.conf" <<EOF
state_dir = $ST
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 256
EOF

# The import makes the new state directory itself (directory, vault key and the
# pairwise-subject key beside it); authd then starts on it as it is.
[[ ! -e $ST ]] || fail "state directory exists before the import"
"$IDMERGE" run --sources "$FIX/import/sources.json" --out "$TMP/out" --today 20260101 \
	>"$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "idmerge run (import fixtures)"; }
"$IDMERGE" import --in "$TMP/out" -c "$TMP/authd.conf" >"$TMP/import.log" 2>&1 ||
	{ cat "$TMP/import.log"; fail "idmerge import"; }
n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$FIX/import/expected.json")
grep -q "persons $n added 0 updated" "$TMP/import.log" || fail "import: $(cat "$TMP/import.log")"
[[ $(stat -c %a "$ST/subject.key") == 600 ]] || fail "import made no 0600 subject.key"

# login JAR IDENT PASSWORD: a fresh browser (cookie jar) fetches the form and posts it.
# Sets STATUS, BODY and SID (the yh_sid cookie set by the answer, "" when none).
login() {
	local tok
	rm -f "$TMP/$1.jar"
	req "$1" GET /login
	[[ $STATUS != 000 ]] || fail "GET /login"
	tok=$(form_value csrf)
	[[ -n $tok ]] || fail "no CSRF token in the login form"
	grep -q yh_csrf "$TMP/$1.jar" || fail "no yh_csrf cookie with the login form"
	req "$1" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
		--data-urlencode "username=$2" --data-urlencode "password=$3"
	SID=$(cookie_value yh_sid)
}
login_ok() { # login_ok TAG WHAT IDENT PASSWORD
	login "$1" "$3" "$4"
	[[ $STATUS == 303 && ${#SID} == 43 ]] ||
		fail "$1: login with the $2 over HTTP: status $STATUS, session '${SID}'"
}
login_refused() { # login_refused TAG WHAT IDENT PASSWORD
	login "$1" "$3" "$4"
	[[ $STATUS == 200 && -z $SID && $BODY == *'账号或密码不正确'* ]] ||
		fail "$1: a wrong password with the $2: status $STATUS, session '${SID}'"
}
scheme_of() { # the stored password scheme of IDENT, from authctl user show
	"$AUTHCTL" -c "$TMP/authd.conf" user show "$1" 2>&1 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["password_scheme"])'
}

python3 -c "
import json, sys
for p in json.load(open(sys.argv[1])):
    print('\t'.join([p['tag'], p['scheme'], p['id_number'], p['phone'], p['username'], p['password']]))
" "$FIX/import/expected.json" >"$TMP/people.tsv"
legacy=$(awk -F'\t' '$2 != "plain"' "$TMP/people.tsv" | wc -l)
[[ $legacy -ge 12 ]] || fail "the fixtures hold only $legacy legacy-hashed persons"

start_authd -c "$TMP/authd.conf" -l "127.0.0.1:$PORT"
i=0
while IFS=$'\t' read -r tag scheme idn phone user pw; do
	ids=("$idn" "$phone" "$user")
	what=("ID number" "phone" "legacy username")
	first=$((i % 3)) second=$(((i + 1) % 3)) third=$(((i + 2) % 3))
	i=$((i + 1))
	# Before any login the legacy hash is stored (plain: hashed with argon2id at import).
	want=$scheme
	[[ $scheme == plain ]] && want=argon2id
	got=$(scheme_of "$idn") || fail "$tag: authctl user show: $got"
	[[ $got == "$want" ]] || fail "$tag: stored scheme '$got' before login, want $want"
	login_refused "$tag" "${what[first]}" "${ids[first]}" "wrong-$pw"
	got=$(scheme_of "$idn")
	[[ $got == "$want" ]] || fail "$tag: a refused login changed the stored scheme to $got"
	# The first login meets the legacy hash and upgrades it.
	login_ok "$tag" "${what[first]}" "${ids[first]}" "$pw"
	got=$(scheme_of "$idn")
	[[ $got == argon2id ]] || fail "$tag: stored scheme '$got' after the HTTP login, want argon2id"
	# The others log in against argon2id; a wrong password still fails.
	login_ok "$tag" "${what[second]}" "${ids[second]}" "$pw"
	login_ok "$tag" "${what[third]}" "${ids[third]}" "$pw"
	login_refused "$tag" "${what[second]}" "${ids[second]}" "wrong-$pw"
	echo "ok: $tag ($scheme): first login by ${what[first]}, then the ${what[second]} and the ${what[third]}; argon2id stored"
done <"$TMP/people.tsv"
stop_authd || fail "authd did not stop cleanly"

# Every legacy hash was upgraded by authd itself, once, and said so in the audit log.
rehashed=$(grep -c '"event":"login.success".*"rehashed":true' "$ST/audit.log" || true)
[[ $rehashed == "$legacy" ]] || fail "audit: $rehashed logins rehashed, want $legacy"
total=$(grep -c '"event":"login.success"' "$ST/audit.log" || true)
[[ $total == $((3 * n)) ]] || fail "audit: $total successful logins, want $((3 * n))"
"$AUTHCTL" audit verify "$ST/audit.log" >/dev/null || fail "audit chain broken"

echo "idmerge_login: ok"
