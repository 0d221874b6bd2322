#!/usr/bin/env bash
# idmerge benchmark: generates N synthetic legacy records across five sources
# (tests/bench/gen_legacy.py), then measures in the same run
#   1. cat of the files to /dev/null (the disk/page-cache floor),
#   2. `idmerge run --read-only` (the readers alone: parsing + GBK/GB18030 conversion),
#   3. the full `idmerge run` (cleanse, match, merge, outputs) on one thread
#      (--threads 1) and on every core (--threads $(nproc), or THREADS=N),
# and prints records/s for each, the ratios, each full run's peak RSS and pass times,
# and checks that both full runs wrote the same bytes (cmp of every output file).
# Never passes or fails on time.
#   N=200000 (default, seconds)   N=10000000 (a provincial merge's scale, a few minutes)
#   BENCH_DIR=DIR keeps the generated data (reused when present with the same N).
set -euo pipefail

N=${N:-200000}
BUILD=${YH_BUILD:-build}
SRC=${YH_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
IDMERGE=$BUILD/migration-tools/idmerge/idmerge
[[ -x $IDMERGE ]] || { echo "bench_idmerge: $IDMERGE not built" >&2; exit 1; }
export CI=true

if [[ -n ${BENCH_DIR:-} ]]; then
	DIR=$BENCH_DIR
	mkdir -p "$DIR"
else
	DIR=$(mktemp -d)
	trap 'rm -rf "$DIR"' EXIT
fi
DATA=$DIR/data-$N

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$N" -v t="$1" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

if [[ ! -f $DATA/sources.json ]]; then
	t0=$(now)
	python3 "$SRC/tests/bench/gen_legacy.py" "$N" "$DATA"
	printf 'generated %d records (%s MiB) in %.1f s\n' "$N" \
		"$(du -sm "$DATA" | cut -f1)" "$(secs "$t0" "$(now)")"
fi
FILES=("$DATA"/shebao.csv "$DATA"/gjj.csv "$DATA"/jiaoyu.jsonl "$DATA"/minzheng.ldif "$DATA"/shichang.csv)
cat "${FILES[@]}" >/dev/null   # warm the page cache for every measurement alike

t0=$(now); cat "${FILES[@]}" >/dev/null; t_cat=$(secs "$t0" "$(now)")
t0=$(now); "$IDMERGE" run --sources "$DATA/sources.json" --read-only >/dev/null
t_read=$(secs "$t0" "$(now)")
THREADS=${THREADS:-$(nproc)}
head -c 32 /dev/urandom >"$DIR/uid.key"
chmod 600 "$DIR/uid.key"

# full T: one full run on T threads into $DIR/out-T; sets t_run, rss, cpu.
full() {
	local t=$1 out=$DIR/out-$1
	rm -rf "$out"
	t0=$(now)
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -v -o "$DIR/time.txt" "$IDMERGE" run --sources "$DATA/sources.json" \
			--out "$out" --today 20260101 --uid-key "$DIR/uid.key" --threads "$t" \
			>"$DIR/run.txt" 2>"$DIR/run-$t.err"
		rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$DIR/time.txt")
		cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$DIR/time.txt")
	else
		"$IDMERGE" run --sources "$DATA/sources.json" --out "$out" --today 20260101 \
			--uid-key "$DIR/uid.key" --threads "$t" >"$DIR/run.txt" 2>"$DIR/run-$t.err"
		rss=$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$DIR/run-$t.err")
		cpu="?"
	fi
	t_run=$(secs "$t0" "$(now)")
}
full 1
t_run1=$t_run rss1=$rss cpu1=$cpu
full "$THREADS"
t_runN=$t_run rssN=$rss cpuN=$cpu
same=yes
for f in identities.jsonl rejects.jsonl review.jsonl report.json report.html; do
	cmp -s "$DIR/out-1/$f" "$DIR/out-$THREADS/$f" || same="NO: $f differs"
done

cat "$DIR/run.txt"
# Rates use the number of records the run actually read.
N=$(sed -n 's/^idmerge: \([0-9]*\) records.*/\1/p' "$DIR/run.txt")
printf '%-28s %9.2f s %12s records/s\n' "cat > /dev/null" "$t_cat" "$(rate "$t_cat")"
printf '%-28s %9.2f s %12s records/s\n' "idmerge run --read-only" "$t_read" "$(rate "$t_read")"
printf '%-28s %9.2f s %12s records/s  (CPU %s s, peak RSS %s KiB)\n' \
	"idmerge run --threads 1" "$t_run1" "$(rate "$t_run1")" "$cpu1" "$rss1"
printf '%-28s %9.2f s %12s records/s  (CPU %s s, peak RSS %s KiB)\n' \
	"idmerge run --threads $THREADS" "$t_runN" "$(rate "$t_runN")" "$cpuN" "$rssN"
grep -h 'passes (s)' "$DIR/run-1.err" "$DIR/run-$THREADS.err" | sed 's/^idmerge: /  /'
printf 'speed-up %s threads / 1 thread: %sx; outputs identical: %s\n' "$THREADS" \
	"$(ratio "$t_run1" "$t_runN")" "$same"
printf 'ratio full (%s threads)/read-only %sx, full/cat %sx, input %s MiB\n' "$THREADS" \
	"$(ratio "$t_runN" "$t_read")" "$(ratio "$t_runN" "$t_cat")" \
	"$(du -cm "${FILES[@]}" | tail -1 | cut -f1)"
[[ $same == yes ]]
