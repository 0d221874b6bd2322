# A throwaway OpenLDAP server for the tests: Debian's slapd with its own cn=config
# (slapd.d) built in a temporary directory from the shipped schema
# (config/ldap/yihao.ldif, yihao-index.ldif), listening on a free 127.0.0.1 port and on
# a unix socket in that directory. Never the system instance.
#
# Sourced (after lib.sh or on its own):
#   . tests/integration/slapd.sh
#   slapd_start DIR [PORT]    sets SLAPD_PID, SLAPD_PORT, SLAPD_URI, SLAPD_LDAPI and
#                             SLAPD_LDAPS (TLS with the test CA DIR/ca.pem; StartTLS too)
#   slapd_stop                stops it by its pid
#   slapd_run DIR             starts it again after slapd_stop (same port and data)
# or run, for programs that are not bash (the directory unit tests):
#   bash tests/integration/slapd.sh start DIR [PORT]   prints "URI PID LDAPS-URI"; slapd runs on
#   bash tests/integration/slapd.sh stop DIR           stops the one started in DIR
#   bash tests/integration/slapd.sh run DIR            starts it again (same port, data)
#
# With SLAPD_DEBUG set to a debug level (e.g. trace), slapd runs in the foreground in the
# background of the shell, its debug output in DIR/debug.log: at trace, back-mdb's
# "<= mdb_equality_candidates: (ATTR) not indexed" for every equality on an attribute
# without an index (OpenLDAP 2.5 logs it at trace, not at stats).
#
# Multi-provider replication (for tests of several hosts): with SLAPD_PEERS set to the
# URIs of the other providers (space-separated) and SLAPD_SERVER_ID to this one's number
# (1..4095, distinct per provider), slapd_start makes this server a provider that
# replicates the suffix with each peer (syncprov, olcMultiProvider, refreshAndPersist as
# the rootDN, retried every second): start each with the others' ports fixed beforehand.
# Unset (the default), nothing of this is in the configuration.
#
# The database holds SLAPD_SUFFIX (dc=yihao,dc=test), administered by SLAPD_ADMIN_DN with
# SLAPD_ADMIN_PW, and starts empty: `authctl directory init` (or the backend's create)
# makes the base entries. root over the unix socket (SASL EXTERNAL) manages cn=config
# and the data.

SLAPD_SUFFIX=${SLAPD_SUFFIX:-dc=yihao,dc=test}
SLAPD_ADMIN_DN=${SLAPD_ADMIN_DN:-cn=admin,$SLAPD_SUFFIX}
SLAPD_ADMIN_PW=${SLAPD_ADMIN_PW:-yihao-test-secret}
# A service account as a deployment would give authd (not the rootDN): it may write the
# data, and like any non-root identity it meets the server's size limit (100 entries a
# search) except in paged searches (size.prtotal=unlimited). Its entry is not made here:
# add it (slapd_service_ldif) once the suffix exists.
SLAPD_SERVICE_DN=${SLAPD_SERVICE_DN:-cn=service,$SLAPD_SUFFIX}
SLAPD_SERVICE_PW=${SLAPD_SERVICE_PW:-yihao-service-secret}
SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
# The mdb map's size (olcDbMaxSize, bytes): address space reserved, not disk; data.mdb
# grows as it fills. 64 GiB holds far more than the 1,000,000 persons of the directory
# benchmark (tests/bench/bench_dir.c, about 3 KiB each with the indexes).
SLAPD_MAXSIZE=${SLAPD_MAXSIZE:-68719476736}
SLAPD_SRC=${YH_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# slapd_missing: true (0) when slapd or the LDAP tools are not installed.
slapd_missing() {
  [[ ! -x $SLAPD_BIN ]] || ! command -v slapadd >/dev/null || ! command -v ldapmodify >/dev/null
}

# slapd_free_port: a free TCP port on 127.0.0.1 (lib.sh's free_port when sourced with it).
slapd_free_port() {
  if declare -F free_port >/dev/null && [[ -n ${TMP:-} ]]; then free_port; return; fi
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# slapd_certs DIR: a test CA (DIR/ca.pem) and the server's certificate for 127.0.0.1
# signed by it (DIR/cert.pem, DIR/key.pem), for ldaps:// and StartTLS.
slapd_certs() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/CN=yihao slapd test CA" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
    -out "$dir/srv.csr" -subj /CN=127.0.0.1 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/ext" &&
  openssl x509 -req -in "$dir/srv.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/ext" -out "$dir/cert.pem" 2>/dev/null ||
    { echo "slapd_certs: openssl failed" >&2; return 1; }
  chmod 600 "$dir/key.pem" "$dir/ca.key"
}

# slapd_config DIR: writes DIR/config.ldif, the whole cn=config: the back_mdb module, the
# core, cosine, inetorgperson and yihao schemas, and one mdb database for SLAPD_SUFFIX in
# DIR/data.
slapd_config() {
  local dir=$1 root='gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth'
  local uid gid
  uid=$(id -u) gid=$(id -g)
  local me="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth"
  slapd_certs "$dir" || return 1
  cat >"$dir/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
olcTLSCACertificateFile: $dir/ca.pem
olcTLSCertificateFile: $dir/cert.pem
olcTLSCertificateKeyFile: $dir/key.pem

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file://$SLAPD_SRC/config/ldap/yihao.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=$root manage by dn.exact=$me manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_SUFFIX
olcRootDN: $SLAPD_ADMIN_DN
olcRootPW: $SLAPD_ADMIN_PW
olcDbDirectory: $dir/data
olcDbMaxSize: $SLAPD_MAXSIZE
olcDbIndex: objectClass eq
olcLimits: {0}dn.exact="$SLAPD_SERVICE_DN" size.soft=100 size.hard=100 size.prtotal=unlimited
olcAccess: {0}to attrs=userPassword by dn.exact=$root manage by dn.exact=$me manage by anonymous auth by * none
olcAccess: {1}to * by dn.exact=$root manage by dn.exact=$me manage by dn.exact="$SLAPD_SERVICE_DN" write by * none
LDIF
  [[ -z ${SLAPD_PEERS:-} ]] || slapd_replication "$dir"
}

# slapd_replication DIR: adds to DIR/config.ldif what makes this server one of several
# providers (SLAPD_SERVER_ID, SLAPD_PEERS; see the top).
slapd_replication() {
  local dir=$1 rid=0 peer cfg
  cfg=$(cat "$dir/config.ldif")
  # syncprov next to back_mdb, the server id in cn=config
  cfg=${cfg/olcModuleLoad: back_mdb/olcModuleLoad: back_mdb
olcModuleLoad: syncprov}
  cfg=${cfg/olcPidFile:/olcServerID: ${SLAPD_SERVER_ID:-1}
olcPidFile:}
  {
    printf '%s\n' "$cfg"
    printf 'olcDbIndex: entryCSN eq\nolcDbIndex: entryUUID eq\n'
    for peer in $SLAPD_PEERS; do
      rid=$((rid + 1))
      printf 'olcSyncrepl: rid=%03d provider=%s bindmethod=simple binddn="%s" credentials=%s searchbase="%s" type=refreshAndPersist retry="1 +" timeout=3 network-timeout=2\n' \
        "$rid" "$peer" "$SLAPD_ADMIN_DN" "$SLAPD_ADMIN_PW" "$SLAPD_SUFFIX"
    done
    printf 'olcMultiProvider: TRUE\n\n'
    printf 'dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\nobjectClass: olcSyncProvConfig\nolcOverlay: {0}syncprov\n'
  } >"$dir/config.ldif"
}

# slapd_service_ldif: the LDIF of the service account's entry (SLAPD_SERVICE_DN, an
# organizationalRole with SLAPD_SERVICE_PW), for ldapadd once the suffix exists.
slapd_service_ldif() {
  printf 'dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: service\nuserPassword: %s\n' \
    "$SLAPD_SERVICE_DN" "$SLAPD_SERVICE_PW"
}

# slapd_start DIR [PORT]: builds DIR/slapd.d from slapd_config with slapadd, starts slapd
# on ldap://127.0.0.1:PORT (a free one by default) and ldapi in DIR, waits until it
# answers (at most 10 s), applies config/ldap/yihao-index.ldif through ldapi and sets
# SLAPD_PID, SLAPD_PORT, SLAPD_URI, SLAPD_LDAPI. Returns 1 (and prints why) when it
# does not come up.
slapd_start() {
  local dir=$1 port=${2:-} _
  [[ -n $port ]] || port=$(slapd_free_port)
  mkdir -p "$dir/slapd.d" "$dir/data" || return 1
  slapd_config "$dir"
  if ! slapadd -n 0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1; then
    echo "slapd_start: slapadd of cn=config failed:" >&2; cat "$dir/slapadd.log" >&2
    return 1
  fi
  local sock enc
  sock="$dir/ldapi"
  enc=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$sock")
  SLAPD_PORT=$port
  SLAPD_URI="ldap://127.0.0.1:$port"
  SLAPD_LDAPI="ldapi://$enc"
  SLAPD_LDAPS="ldaps://127.0.0.1:$(slapd_free_port)"
  printf '%s\n' "$SLAPD_URI" "$SLAPD_LDAPI" "$SLAPD_LDAPS" >"$dir/uris"
  slapd_run "$dir" || return 1
  if ! ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" -f "$SLAPD_SRC/config/ldap/yihao-index.ldif" \
      >"$dir/index.log" 2>&1; then
    echo "slapd_start: yihao-index.ldif failed:" >&2; cat "$dir/index.log" >&2
    return 1
  fi
}

# slapd_run DIR: starts slapd on the configuration and data slapd_start made in DIR, on
# the same addresses (DIR/uris), and waits until it answers (at most 10 s): slapd_start's
# last step, and a restart after slapd_stop. Sets SLAPD_PID, SLAPD_URI, SLAPD_LDAPI;
# writes the pid to DIR/pid.
slapd_run() {
  local dir=$1 _
  { read -r SLAPD_URI; read -r SLAPD_LDAPI; read -r SLAPD_LDAPS; } <"$dir/uris" || return 1
  rm -f "$dir/slapd.pid"
  if [[ -n ${SLAPD_DEBUG:-} ]]; then
    # In the foreground (slapd does not daemonize with -d), its debug output appended to
    # DIR/debug.log; the pid is still in olcPidFile once it listens.
    "$SLAPD_BIN" -F "$dir/slapd.d" -h "$SLAPD_URI/ $SLAPD_LDAPI/ $SLAPD_LDAPS/" \
      -d "$SLAPD_DEBUG" >>"$dir/debug.log" 2>&1 </dev/null &
  else
    # Daemonizes; the pid is in olcPidFile once it listens.
    "$SLAPD_BIN" -F "$dir/slapd.d" -h "$SLAPD_URI/ $SLAPD_LDAPI/ $SLAPD_LDAPS/" -s 0 \
        >"$dir/slapd.log" 2>&1 || {
      echo "slapd_run: slapd did not start:" >&2; cat "$dir/slapd.log" >&2; return 1; }
  fi
  SLAPD_PID=
  for _ in $(seq 1 200); do
    [[ -s $dir/slapd.pid ]] && SLAPD_PID=$(cat "$dir/slapd.pid")
    if [[ -n $SLAPD_PID ]] &&
       ldapsearch -x -H "$SLAPD_URI" -b '' -s base -LLL namingContexts >/dev/null 2>&1; then
      break
    fi
    sleep 0.05
  done
  if [[ -z $SLAPD_PID ]] || ! kill -0 "$SLAPD_PID" 2>/dev/null; then
    echo "slapd_run: slapd on $SLAPD_URI did not answer" >&2; cat "$dir/slapd.log" >&2
    return 1
  fi
  echo "$SLAPD_PID" >"$dir/pid"
}

# slapd_stop [DIR]: stops the slapd of slapd_start (SLAPD_PID, or DIR's) by its pid and
# waits for it to exit (TERM, then KILL after 5 s).
slapd_stop() {
  local pid=${SLAPD_PID:-} _
  [[ -z ${1:-} || ! -s $1/pid ]] || pid=$(cat "$1/pid")
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    start)
      [[ -n ${2:-} ]] || { echo "usage: $0 start DIR [PORT]" >&2; exit 2; }
      if slapd_missing; then echo "slapd is not installed (apt-get install slapd ldap-utils)" >&2; exit 77; fi
      slapd_start "$2" "${3:-}" || { slapd_stop "$2"; exit 1; }
      echo "$SLAPD_URI $SLAPD_PID $SLAPD_LDAPS"
      ;;
    run)
      [[ -n ${2:-} ]] || { echo "usage: $0 run DIR" >&2; exit 2; }
      slapd_run "$2" || exit 1
      echo "$SLAPD_URI $SLAPD_PID"
      ;;
    stop)
      [[ -n ${2:-} ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }
      slapd_stop "$2"
      ;;
    *) echo "usage: $0 start DIR [PORT] | run DIR | stop DIR" >&2; exit 2 ;;
  esac
fi
