#!/usr/bin/env bash
# `meson install` into a scratch DESTDIR: the tree an operator gets from this build.
# authd and authctl in sbindir, idmerge in bindir, the systemd unit in the system unit
# directory with ExecStart= naming the installed authd, the example configuration and
# the docs where the unit's Documentation= points; nothing in sysconfdir (an install
# never overwrites the operator's configuration). systemd-analyze verify then checks
# the installed unit with the installed authd (verify_unit).
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp install
D=$TMP/root
if ! DESTDIR=$D meson install -C "$YH_BUILD" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
  cat "$TMP/install.log"
  die "meson install failed"
fi
opt() { meson introspect "$YH_BUILD" --buildoptions |
  "$PY" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"; }
prefix=$(opt prefix)
sbindir=$prefix/$(opt sbindir)
bindir=$prefix/$(opt bindir)
docdir=$prefix/$(opt datadir)/doc/yihao
(cd "$D" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$TMP/tree"
echo "installed:"; sed 's/^/  /' "$TMP/tree"

has() { grep -qxF "$1" "$TMP/tree" && ok "installed $1" || fail "not installed: $1"; }
has "$sbindir/authd"
has "$sbindir/authctl"
has "$bindir/idmerge"
has "$docdir/operations.md"
has "$docdir/examples/authd.conf.example"
has "$docdir/ldap/yihao.schema"
has "$docdir/ldap/yihao.ldif"
for f in "$sbindir/authd" "$sbindir/authctl" "$bindir/idmerge"; do
  [[ -x $D$f ]] || fail "$f is not executable"
done
grep -q '/etc/' "$TMP/tree" && fail "an install writes into sysconfdir: $(grep /etc/ "$TMP/tree")"

unit=$(grep '/systemd/system/authd\.service$' "$TMP/tree")
if [[ -z $unit ]]; then
  fail "no authd.service in a systemd system unit directory"
else
  ok "unit installed as $unit"
  grep -qxF "ExecStart=$sbindir/authd -c $prefix/$(opt sysconfdir)/yihao/authd.conf" "$D$unit" &&
    ok "ExecStart= names the installed authd" || fail "ExecStart=: $(grep ExecStart "$D$unit")"
  grep -q '@[A-Z]*@' "$D$unit" && fail "unsubstituted paths in the unit: $(grep '@[A-Z]*@' "$D$unit")"
  doc=$(sed -n 's|^Documentation=file:||p' "$D$unit")
  [[ -n $doc && -f $D$doc ]] && ok "Documentation= points at an installed file ($doc)" ||
    fail "Documentation=file:$doc is not installed"
  verify_unit "$D$unit" "$D$sbindir/authd" \
    "systemd-analyze verify accepts the installed unit (with the installed authd)"
fi
finish "all meson install checks passed"
