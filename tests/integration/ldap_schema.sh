#!/usr/bin/env bash
# The shipped OpenLDAP schema: config/ldap/yihao.schema loads by include after core,
# cosine and inetorgperson (slaptest); yihao.ldif defines the same attribute types and
# object classes under the same OIDs and loads into a cn=config built by slapd.sh, with
# yihao-index.ldif's equality indexes; a person entry with sealed values is stored and
# found by its blind index, and an entry without a required attribute is refused. The
# server is slapd.sh's throwaway slapd on a free loopback port, stopped by its pid.
set -u
: "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }

make_tmp ldapschema
SLAPD_PID=
PIDS_TO_STOP=SLAPD_PID
LOGS=slapd/slapd
SCHEMA=$YH_SRCDIR/config/ldap

# 1. The slapd.conf form, included after the three schemas it builds on.
cat >"$TMP/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $SCHEMA/yihao.schema
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=yihao,dc=test"
directory $TMP
index yhUid,yhIdIndex,yhPhoneIndex,yhUsername,yhKey,yhOwner,yhOrgCode,yhUscc eq
index yhPersonUid,yhOrgUid,yhName,yhCaseState,yhLegacyUsername eq
index yhNameKey eq,sub
index yhGrantedBy,yhLegalRepUid,yhLegacySource,yhLegacyId eq
index yhOrgChange sub
CONF
if slaptest -u -f "$TMP/slapd.conf" >"$TMP/slaptest.log" 2>&1; then
  ok "yihao.schema loads by include after core, cosine and inetorgperson, indexes accepted"
else
  fail "slaptest on yihao.schema: $(tail -3 "$TMP/slaptest.log")"
fi

# 2. Both files define the same types under the same OIDs, all under the one arc.
defs() { grep -oE "\( 1\.[0-9.]+ NAME '[A-Za-z]+'" "$1" | sort; }
if [[ -n $(defs "$SCHEMA/yihao.schema") ]] && diff <(defs "$SCHEMA/yihao.schema") <(defs "$SCHEMA/yihao.ldif") >/dev/null; then
  ok "yihao.schema and yihao.ldif define the same $(defs "$SCHEMA/yihao.ldif" | wc -l) types"
else
  fail "yihao.schema and yihao.ldif differ"
fi
other=$(defs "$SCHEMA/yihao.ldif" | grep -vc "( 1\.3\.6\.1\.4\.1\.32473\.7\.[12]\." || true)
[[ $other == 0 ]] && ok "every OID is under 1.3.6.1.4.1.32473.7" || fail "$other OIDs outside the arc"

# 3. The cn=config form, in a throwaway slapd.
slapd_start "$TMP/slapd" || die "slapd did not start"
ok "slapd up on $SLAPD_URI (pid $SLAPD_PID) with yihao.ldif and yihao-index.ldif"
idx=$(ldapsearch -Q -LLL -Y EXTERNAL -H "$SLAPD_LDAPI" -b cn=config '(olcDatabase={1}mdb)' olcDbIndex |
  tr -d '\n ' )
[[ $idx == *yhIdIndex* && $idx == *yhUid,* && $idx == *yhPhoneIndex* ]] &&
  ok "equality indexes on the uid and blind-index attributes" || fail "indexes: $idx"

lm() { ldapmodify -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" "$@"; }
lm -a >"$TMP/add.log" 2>&1 <<LDIF || fail "base and person entries: $(cat "$TMP/add.log")"
dn: $SLAPD_SUFFIX
objectClass: dcObject
objectClass: organization
dc: yihao
o: yihao

dn: ou=persons,$SLAPD_SUFFIX
objectClass: organizationalUnit
ou: persons

dn: yhUid=p1,ou=persons,$SLAPD_SUFFIX
objectClass: yhPerson
yhUid: p1
yhIdIndex: 0a1b2c
yhSealedIdNumber: v1.sealed.value
yhName: Zhang San
yhStatus: active
yhCreated: 1700000000
yhUpdated: 1700000000
yhVersion: 1
yhPhoneVerified: FALSE
LDIF
got=$(ldapsearch -x -LLL -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
  -b "ou=persons,$SLAPD_SUFFIX" '(yhIdIndex=0a1b2c)' yhUid | grep '^yhUid:')
[[ $got == "yhUid: p1" ]] && ok "a person is found by its blind index" || fail "search by yhIdIndex: '$got'"

if lm -a >"$TMP/bad.log" 2>&1 <<LDIF
dn: yhUid=p2,ou=persons,$SLAPD_SUFFIX
objectClass: yhPerson
yhUid: p2
yhName: No Index
yhStatus: active
yhCreated: 1
yhUpdated: 1
yhVersion: 1
LDIF
then fail "a person without yhIdIndex and yhSealedIdNumber was stored"
else grep -qi "object class violation" "$TMP/bad.log" && ok "an entry without a required attribute is refused" ||
  fail "unexpected refusal: $(cat "$TMP/bad.log")"
fi

# 4. The searches a legacy login, a purge and a re-key make are indexed: the service
# account may examine at most 5 candidates a search (size.unchecked), and each branch
# holds 8 entries, so a search that reads its whole branch is refused (adminLimitExceeded).
ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" >"$TMP/limits.log" 2>&1 <<LDIF ||
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcLimits
olcLimits: {0}dn.exact="$SLAPD_SERVICE_DN" size.soft=100 size.hard=100 size.prtotal=unlimited size.unchecked=5
LDIF
  fail "size.unchecked: $(cat "$TMP/limits.log")"
{
  slapd_service_ldif
  for b in orgs relations legacy; do printf '\ndn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n' "$b" "$SLAPD_SUFFIX" "$b"; done
  for i in 1 2 3 4 5 6 7 8; do
    printf '\ndn: yhUid=o%s,ou=orgs,%s\nobjectClass: yhOrganization\nyhUid: o%s\nyhOrgCode: c%s\nyhName: Org %s\nyhOrgKind: enterprise\nyhStatus: active\nyhCreated: 1\nyhUpdated: 1\nyhVersion: 1\nyhLegalRepUid: rep%s\nyhOrgChange: {"at":1,"by":"uid%sx"}\n' \
      "$i" "$SLAPD_SUFFIX" "$i" "$i" "$i" "$i" "$i"
    printf '\ndn: yhUid=r%s,ou=relations,%s\nobjectClass: yhRelation\nyhUid: r%s\nyhPersonUid: p%s\nyhOrgUid: o%s\nyhRole: agent\nyhNotBefore: 1\nyhCreated: 1\nyhVersion: 1\nyhGrantedBy: g%s\n' \
      "$i" "$SLAPD_SUFFIX" "$i" "$i" "$i" "$i"
    printf '\ndn: yhKey=l%s,ou=legacy,%s\nobjectClass: yhLegacyLink\nyhKey: l%s\nyhOwner: p1\nyhLegacySource: src\nyhLegacyId: id%s\nyhStatus: active\nyhCreated: 1\n' \
      "$i" "$SLAPD_SUFFIX" "$i" "$i"
  done
} | lm -a >"$TMP/branches.log" 2>&1 || fail "8 organizations, relations, legacy links: $(tail -3 "$TMP/branches.log")"
svc() {  # svc BRANCH FILTER: the uids or keys the service account finds (rc 11: refused)
  ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_SERVICE_DN" -w "$SLAPD_SERVICE_PW" \
    -b "ou=$1,$SLAPD_SUFFIX" -s one "$2" yhUid yhKey 2>&1 | grep -iE '^(yhUid|yhKey):|limit' | tr '\n' ' '
}
got=$(svc relations '(objectClass=yhRelation)')
[[ $got == *limit* ]] && ok "the limit applies: a search of all 8 relations is refused" ||
  fail "a search of the whole branch was not refused: $got"
for q in 'relations|(yhGrantedBy=g3)|yhUid: r3 ' 'orgs|(yhLegalRepUid=rep3)|yhUid: o3 ' \
    'orgs|(yhOrgChange=*uid3x*)|yhUid: o3 ' \
    'legacy|(&(objectClass=yhLegacyLink)(yhLegacySource=src)(yhLegacyId=id3))|yhKey: l3 '; do
  IFS='|' read -r b f want <<<"$q"
  got=$(svc "$b" "$f")
  [[ $got == "$want" ]] && ok "indexed: $f under ou=$b finds one entry without reading the branch" ||
    fail "$f under ou=$b: '$got' (expected '$want')"
done

pid=$SLAPD_PID
slapd_stop
kill -0 "$pid" 2>/dev/null && fail "slapd $pid still running after slapd_stop" || ok "slapd stopped by its pid"
SLAPD_PID=
finish "ldap_schema: all checks passed"
