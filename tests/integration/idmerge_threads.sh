#!/usr/bin/env bash
# idmerge run on several threads gives the same bytes as on one: every output file
# (identities.jsonl, rejects.jsonl, review.jsonl, report.json, report.html) of
# --threads 2 and --threads 3 is compared with cmp against --threads 1, under one uid
# key, on the dirty fixtures (tests/fixtures/idmerge) and on 50,000 generated records
# (tests/bench/gen_legacy.py), each with the default partition count and with 16
# partitions (more partitions than threads, so threads finish out of order). A bad
# --threads value is a usage error (exit 2).
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=${YH_SRCDIR:-.}
IDMERGE=$BUILD/migration-tools/idmerge/idmerge
FIX=$(cd "$SRC/tests/fixtures/idmerge" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export CI=true

fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -x $IDMERGE ]] || fail "idmerge not built at $IDMERGE"
head -c 32 /dev/urandom >"$TMP/uid.key"
chmod 600 "$TMP/uid.key"
FILES=(identities.jsonl rejects.jsonl review.jsonl report.json report.html)

# same SOURCES NAME [ARGS...]: --threads 1, 2, 3 give byte-identical outputs.
same() {
	local sources=$1 name=$2 t f
	shift 2
	for t in 1 2 3; do
		"$IDMERGE" run --sources "$sources" --today 20260101 --uid-key "$TMP/uid.key" \
			--out "$TMP/$name-t$t" --threads "$t" "$@" >"$TMP/$name-t$t.log" 2>&1 ||
			{ cat "$TMP/$name-t$t.log"; fail "$name: idmerge run --threads $t"; }
	done
	[[ -s $TMP/$name-t1/identities.jsonl ]] || fail "$name: no identities"
	for t in 2 3; do
		for f in "${FILES[@]}"; do
			cmp "$TMP/$name-t1/$f" "$TMP/$name-t$t/$f" ||
				fail "$name: $f of --threads $t differs from --threads 1"
		done
	done
	echo "ok: $name: --threads 1, 2, 3 give the same ${#FILES[@]} files" \
		"($(wc -l <"$TMP/$name-t1/identities.jsonl") identities)"
}

same "$FIX/sources.json" fixtures
same "$FIX/sources.json" fixtures-p16 --partitions 16
python3 "$SRC/tests/bench/gen_legacy.py" 50000 "$TMP/gen" >/dev/null
same "$TMP/gen/sources.json" gen50k
same "$TMP/gen/sources.json" gen50k-p16 --partitions 16
# The runs did review and reject records, so those files were compared with content.
for f in rejects.jsonl review.jsonl; do
	[[ -s $TMP/gen50k-t1/$f ]] || fail "gen50k: $f is empty, nothing compared"
done

for bad in 0 65 x; do
	set +e
	"$IDMERGE" run --sources "$FIX/sources.json" --out "$TMP/bad" --threads "$bad" \
		>"$TMP/bad.log" 2>&1
	rc=$?
	set -e
	[[ $rc == 2 ]] || fail "--threads $bad: exit $rc, want 2"
	grep -q -- '--threads wants a number' "$TMP/bad.log" || fail "--threads $bad: no message"
done
echo "ok: idmerge_threads"
