#!/usr/bin/env python3
"""Generates identity/match/tradsimp.c, the traditional -> simplified table of the
matching keys, from ICU (Debian's icu-devtools: uconv).

    tools/gen_tradsimp.py                 prints the file
    tools/gen_tradsimp.py -o FILE         writes it
    tools/gen_tradsimp.py --check FILE    exits 1 (with a diff) when FILE differs

The rule, applied to every code point of CJK Unified Ideographs Extension A
(U+3400-U+4DBF), CJK Unified Ideographs (U+4E00-U+9FFF) and CJK Compatibility
Ideographs (U+F900-U+FAFF):

  1. A unified ideograph c gets a pair when ICU's Hant-Hans transform turns it into one
     other code point s, and c is not a GB 2312 character (a character in ordinary
     simplified use as itself, such as the surname 於, is never folded: folding it would
     merge different names).
  2. The pairs are followed to their end, so that the table is idempotent: ICU maps
     薴 to 苧 and 苧 to 苎 (and 苎 back to 苧, but 苎 is in GB 2312 and keeps its
     own form), so 薴 and 苧 both go to 苎.
  3. A compatibility ideograph whose canonical decomposition (NFC) is one BMP code point
     u gets the pair (c, what u folds to by 1-2, or u itself). Those decomposing outside
     the BMP (U+FAD5 ...) are left out: the table holds 16-bit code points.

GB 2312 membership is Python's gb2312 codec. The transforms run in one uconv call,
one code point a line.
"""
import argparse
import difflib
import shutil
import subprocess
import sys

UNIFIED = list(range(0x3400, 0x4DC0)) + list(range(0x4E00, 0xA000))
COMPAT = list(range(0xF900, 0xFB00))
PER_ROW = 4

HEADER = """\
/*
 * Traditional -> simplified Chinese characters for matching keys: one code point to one,
 * binary-searched in a sorted table of {count:,} pairs. The table holds every BMP ideograph
 * (CJK Unified Ideographs and Extension A) whose traditional form differs from its
 * simplified form in a one-to-one mapping, except characters that are also in ordinary
 * simplified use as themselves (in GB 2312: 乾 於 著 藉 後 徵 ...), whose folding would
 * merge different names (the surname 於 is not 于); and the CJK Compatibility Ideographs
 * (U+F900-U+FAFF), folded to their unified, then simplified, form. It was generated
 * once with ICU's Hant-Hans transform and Unicode normalization, and is checked by
 * tests/unit/test_matchkey.c (sortedness, the 100 commonest surnames, given names).
 */
#include <stddef.h>
#include <stdint.h>

#include "identity/match/matchkey.h"

"""

TAIL = """\

#define TS_COUNT (sizeof(ts_table) / sizeof(ts_table[0]))

uint32_t
mk_trad_to_simp(uint32_t cp)
{
	size_t lo = 0, hi = TS_COUNT;

	if (cp < ts_table[0][0] || cp > ts_table[TS_COUNT - 1][0])
		return cp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ts_table[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < TS_COUNT && ts_table[lo][0] == cp)
		return ts_table[lo][1];
	return cp;
}

size_t
mk_trad_to_simp_count(void)
{
	return TS_COUNT;
}

uint32_t
mk_trad_to_simp_entry(size_t i, uint32_t *simp)
{
	if (i >= TS_COUNT) {
		*simp = 0;
		return 0;
	}
	*simp = ts_table[i][1];
	return ts_table[i][0];
}
"""


def transform(cps, rule):
    """The ICU transform rule applied to each code point alone: {cp: result string}."""
    uconv = shutil.which("uconv")
    if uconv is None:
        sys.exit("gen_tradsimp: uconv not found (Debian package icu-devtools)")
    text = "".join(chr(c) + "\n" for c in cps)
    out = subprocess.run([uconv, "-f", "utf-8", "-t", "utf-8", "-x", rule],
                         input=text.encode("utf-8"), capture_output=True, check=True)
    lines = out.stdout.decode("utf-8").split("\n")
    if len(lines) != len(cps) + 1 or lines[-1] != "":
        sys.exit(f"gen_tradsimp: uconv returned {len(lines) - 1} lines for {len(cps)}")
    return dict(zip(cps, lines))


def in_gb2312(cp):
    try:
        chr(cp).encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def folded(cp, step):
    """Follows step (one pair each) from cp until a code point without a pair."""
    seen = {cp}
    while cp in step:
        cp = step[cp]
        if cp in seen:
            sys.exit(f"gen_tradsimp: the pairs loop at U+{cp:04X}")
        seen.add(cp)
    return cp


def table():
    """The sorted (traditional, simplified) pairs."""
    hans = transform(UNIFIED, "Hant-Hans")
    step = {}
    for c in UNIFIED:
        s = hans[c]
        if len(s) == 1 and ord(s) != c and not in_gb2312(c):
            step[c] = ord(s)
    pairs = {c: folded(c, step) for c in step}
    nfc = transform(COMPAT, "NFC")
    for c in COMPAT:
        u = nfc[c]
        if len(u) == 1 and ord(u) != c and ord(u) <= 0xFFFF:
            pairs[c] = folded(ord(u), step)
    return sorted(pairs.items())


def render(pairs):
    out = [HEADER.format(count=len(pairs)), "static const uint16_t ts_table[][2] = {\n"]
    for i in range(0, len(pairs), PER_ROW):
        row = pairs[i:i + PER_ROW]
        cells = "".join(f"{{ 0x{t:04X}, 0x{s:04X} }}, " for t, s in row)
        chars = " ".join(chr(t) + chr(s) for t, s in row)
        out.append(f"\t{cells}/* {chars} */\n")
    out.append("};\n")
    out.append(TAIL)
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", metavar="FILE", help="write the file here")
    ap.add_argument("--check", metavar="FILE", help="compare FILE with what is generated")
    args = ap.parse_args()
    text = render(table())
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            have = f.read()
        if have != text:
            sys.stdout.writelines(difflib.unified_diff(
                have.splitlines(True), text.splitlines(True), args.check, "generated"))
            print(f"{args.check} is not what tools/gen_tradsimp.py generates", file=sys.stderr)
            return 1
        print(f"{args.check}: as generated")
        return 0
    if args.o:
        with open(args.o, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
