#!/usr/bin/env bash
# The Debian package (debian/): a copy of the source tree (tracked and new files, no
# build directories) built with `dpkg-buildpackage -us -uc -b` (DEB_BUILD_OPTIONS
# nocheck: the suite is not run inside the build), then checked as an operator would:
# the .deb holds the binaries, the unit, the configuration as a conffile and the docs
# the unit names; the extracted binaries run and systemd-analyze verifies the extracted
# unit with them; the maintainer scripts pass `sh -n`, say what they must (adduser, the
# root:yihao 1770 state directory, enable without start, purge-only removal) and are
# run for real into the extracted tree (DPKG_ROOT) with the commands that would change
# this host (adduser, chown, the systemd helpers) replaced by stubs that log, in a
# mount namespace whose /var/lib is a scratch tmpfs.
set -u
. "$(dirname "$0")/lib.sh"
: "${YH_SRCDIR:?}"
make_tmp debpkg
for c in dpkg-buildpackage dh dpkg-deb systemd-analyze unshare; do
  command -v "$c" >/dev/null || die "$c missing (./run deps installs dpkg-dev, debhelper)"
done

# ---- build from a clean copy of the tree
mkdir -p "$TMP/src"
if git -C "$YH_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$YH_SRCDIR" && git ls-files -z -co --exclude-standard | tar -c --null -T - -f -) |
    tar -x -C "$TMP/src" || die "cannot copy the tree"
else
  tar -C "$YH_SRCDIR" --exclude='./build*' --exclude=./state -c -f - . | tar -x -C "$TMP/src" ||
    die "cannot copy the tree"
fi
start=$(date +%s)
if ! (cd "$TMP/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
      dpkg-buildpackage -us -uc -b >"$TMP/build.log" 2>&1); then
  tail -40 "$TMP/build.log"
  die "dpkg-buildpackage failed"
fi
ok "dpkg-buildpackage -us -uc -b built the package in $(($(date +%s) - start)) s"
# -Dtests=false (debian/rules): no test is even built, so none can run in the build.
grep -qE '^\s*Build tests\s*: false|-Dtests=false' "$TMP/build.log" && ok "the build configured no tests" ||
  fail "the package build did not pass -Dtests=false"
grep -qE 'meson test|ninja .*test' "$TMP/build.log" && fail "tests ran in the package build"
deb=$(ls "$TMP"/yihao_*_"$(dpkg-architecture -qDEB_HOST_ARCH)".deb 2>/dev/null | head -1)
[[ -n $deb && -s $deb ]] || die "no yihao .deb in $TMP: $(ls "$TMP")"
ok "built $(basename "$deb")"

# ---- what it holds
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' | sed 's| \./| /|' >"$TMP/list"
in_deb() {  # in_deb MODE OWNER PATH
  grep -qxF -e "$1 $2 $3" "$TMP/list" && ok "the .deb has $3 ($1 $2)" ||
    fail "the .deb lacks $1 $2 $3: $(grep -F " $3" "$TMP/list")"
}
in_deb -rwxr-xr-x root/root /usr/sbin/authd
in_deb -rwxr-xr-x root/root /usr/sbin/authctl
in_deb -rwxr-xr-x root/root /usr/bin/idmerge
in_deb -rw-r--r-- root/root /lib/systemd/system/authd.service
in_deb -rw-r----- root/root /etc/yihao/authd.conf
in_deb -rw-r--r-- root/root /usr/share/doc/yihao/operations.md
in_deb -rw-r--r-- root/root /usr/share/doc/yihao/examples/authd.conf.example
in_deb -rw-r--r-- root/root /usr/share/doc/yihao/copyright
[[ $(dpkg-deb -f "$deb" Depends) == *libmicrohttpd* ]] && ok "Depends from shlibs" ||
  fail "Depends: $(dpkg-deb -f "$deb" Depends)"
mkdir -p "$TMP/ctl"
dpkg-deb -e "$deb" "$TMP/ctl"
grep -qxF /etc/yihao/authd.conf "$TMP/ctl/conffiles" && ok "/etc/yihao/authd.conf is a conffile" ||
  fail "conffiles: $(cat "$TMP/ctl/conffiles" 2>/dev/null)"

# ---- extracted: the binaries run, the unit verifies with them
R=$TMP/root
dpkg-deb -x "$deb" "$R"
"$R/usr/sbin/authd" --config-reference >/dev/null && "$R/usr/sbin/authctl" --help >/dev/null 2>&1
rc=$?
((rc == 0)) && ok "the packaged authd and authctl run (their libraries resolve)" ||
  fail "the packaged binaries do not run: $("$R/usr/sbin/authd" --config-reference 2>&1 | head -2)"
unit=$R/lib/systemd/system/authd.service
grep -qxF 'ExecStart=/usr/sbin/authd -c /etc/yihao/authd.conf' "$unit" &&
  ok "ExecStart= runs /usr/sbin/authd with /etc/yihao/authd.conf" ||
  fail "ExecStart=: $(grep ExecStart "$unit")"
doc=$(sed -n 's|^Documentation=file:||p' "$unit")
[[ -n $doc && -f $R$doc ]] && ok "Documentation=file:$doc is in the package" ||
  fail "Documentation=file:$doc is not in the package"
verify_unit "$unit" "$R/usr/sbin/authd" \
  "systemd-analyze verify accepts the packaged unit with the packaged authd"

# ---- the maintainer scripts: syntax and content
for s in preinst postinst prerm postrm; do
  [[ -f $TMP/ctl/$s ]] || continue
  sh -n "$TMP/ctl/$s" && ok "sh -n $s" || fail "sh -n $s"
done
P=$TMP/ctl/postinst
grep -qE '^\s*adduser --system --group .*--home /var/lib/yihao --no-create-home' "$P" &&
  ok "postinst: adduser --system --group yihao" || fail "postinst: no adduser --system --group"
grep -q "deb-systemd-helper enable 'authd.service'" "$P" && ok "postinst enables authd.service" ||
  fail "postinst does not enable authd.service"
if grep -qE 'deb-systemd-invoke (start|restart)|systemctl.* start' "$P"; then
  fail "postinst starts authd: $(grep -nE 'deb-systemd-invoke (start|restart)|systemctl.* start' "$P")"
else
  ok "postinst does not start authd (an upgrade only try-restarts a running one)"
fi
grep -q 'deb-systemd-invoke stop authd.service' "$TMP/ctl/prerm" 2>/dev/null &&
  ok "prerm stops authd on removal" || fail "prerm does not stop authd"

# ---- the maintainer scripts, run: stubs log what would change the host
mkdir -p "$TMP/stubs"
for c in adduser chown dpkg-statoverride deb-systemd-helper deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$TMP/calls" >"$TMP/stubs/$c"
done
# dpkg-statoverride --list answers "none set" (exit 1), as on a fresh host
printf '#!/bin/sh\necho "dpkg-statoverride $*" >>"%s"\nexit 1\n' "$TMP/calls" >"$TMP/stubs/dpkg-statoverride"
chmod +x "$TMP/stubs"/*
run_script() {  # run_script SCRIPT ARGS...: in a mount namespace, /var/lib a tmpfs
  unshare --mount --propagation private sh -c '
    mount -t tmpfs -o size=1m yh-scratch /var/lib || exit 97
    script=$1; shift
    exec env PATH="$STUBS:$PATH" DPKG_ROOT="$ROOT" DPKG_MAINTSCRIPT_NAME=$(basename "$script") \
      sh -e "$script" "$@"' sh "$@"
}
export STUBS=$TMP/stubs ROOT=$R
: >"$TMP/calls"
run_script "$P" configure "" && ok "postinst configure (first install) ran" ||
  fail "postinst configure failed"
st=$(stat -c '%a' "$R/var/lib/yihao" 2>/dev/null)
[[ $st == 1770 ]] && ok "postinst made /var/lib/yihao mode 1770" ||
  fail "/var/lib/yihao: mode '$st' (expected 1770, as authd and StateDirectoryMode= set it)"
grep -qx "chown root:yihao $R/var/lib/yihao" "$TMP/calls" && ok "... owned root:yihao" ||
  fail "/var/lib/yihao not given to root:yihao: $(grep chown "$TMP/calls")"
grep -qE '^adduser --system --group .* yihao$' "$TMP/calls" && ok "postinst ran adduser --system" ||
  fail "adduser not run: $(cat "$TMP/calls")"
[[ $(stat -c '%a' "$R/etc/yihao/authd.conf") == 640 && $(stat -c '%a' "$R/etc/yihao") == 750 ]] &&
  grep -qx "chown root:yihao $R/etc/yihao/authd.conf" "$TMP/calls" &&
  ok "/etc/yihao/authd.conf root:yihao 0640 in /etc/yihao 0750" ||
  fail "configuration modes: $(stat -c '%a %n' "$R/etc/yihao" "$R/etc/yihao/authd.conf")"
grep -qx "deb-systemd-helper enable authd.service" "$TMP/calls" && ok "enable ran" ||
  fail "deb-systemd-helper enable not run: $(grep deb-systemd "$TMP/calls")"
grep -qE 'deb-systemd-invoke (start|restart)|systemctl .*start' "$TMP/calls" &&
  fail "something started authd: $(grep -E 'start' "$TMP/calls")"
touch "$R/var/lib/yihao/vault.key"
run_script "$TMP/ctl/postrm" remove && [[ -e $R/var/lib/yihao/vault.key && -d $R/etc/yihao ]] &&
  ok "postrm remove keeps the state and the configuration" || fail "postrm remove removed state"
rm -f "$R/etc/yihao/authd.conf"   # dpkg removes the conffile before postrm purge
run_script "$TMP/ctl/postrm" purge && [[ ! -e $R/var/lib/yihao && ! -e $R/etc/yihao ]] &&
  ok "postrm purge removes /var/lib/yihao and /etc/yihao" ||
  fail "postrm purge left: $(ls -d "$R/var/lib/yihao" "$R/etc/yihao" 2>/dev/null)"
grep -q "deb-systemd-helper purge authd.service" "$TMP/calls" && ok "purge forgets the unit's state" ||
  fail "deb-systemd-helper purge not run"
grep -q '^deluser' "$TMP/calls" && fail "purge removed the account"

finish "all Debian package checks passed"
