# A throwaway OpenLDAP server for the tests: Debian's slapd with its own cn=config
# (slapd.d) built in a temporary directory from the shipped schema
# (config/ldap/yihao.ldif, yihao-index.ldif), listening on a free 127.0.0.1 port and on
# a unix socket in that directory. Never the system instance.
#
# Sourced (after lib.sh or on its own):
#   . tests/integration/slapd.sh
#   slapd_start DIR [PORT]    sets SLAPD_PID, SLAPD_PORT, SLAPD_URI, SLAPD_LDAPI
#   slapd_stop                stops it by its pid
# or run, for programs that are not bash (the directory unit tests):
#   bash tests/integration/slapd.sh start DIR [PORT]   prints "URI PID", slapd keeps running
#   bash tests/integration/slapd.sh stop DIR           stops the one started in DIR
#
# The database holds SLAPD_SUFFIX (dc=yihao,dc=test), administered by SLAPD_ADMIN_DN with
# SLAPD_ADMIN_PW, and starts empty: `authctl directory init` (or the backend's create)
# makes the base entries. root over the unix socket (SASL EXTERNAL) manages cn=config
# and the data.

SLAPD_SUFFIX=${SLAPD_SUFFIX:-dc=yihao,dc=test}
SLAPD_ADMIN_DN=${SLAPD_ADMIN_DN:-cn=admin,$SLAPD_SUFFIX}
SLAPD_ADMIN_PW=${SLAPD_ADMIN_PW:-yihao-test-secret}
SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
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

# slapd_config DIR: writes DIR/config.ldif, the whole cn=config: the back_mdb module, the
# core, cosine, inetorgperson and yihao schemas, and one mdb database for SLAPD_SUFFIX in
# DIR/data.
slapd_config() {
  local dir=$1 root='gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth'
  local uid gid
  uid=$(id -u) gid=$(id -g)
  local me="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth"
  cat >"$dir/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args

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
olcSizeLimit: unlimited

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
olcDbMaxSize: 4294967296
olcDbIndex: objectClass eq
olcSizeLimit: unlimited
olcAccess: {0}to * by dn.exact=$root manage by dn.exact=$me manage by * break
LDIF
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
  rm -f "$dir/slapd.pid"
  # Daemonizes; the pid is in olcPidFile once it listens.
  "$SLAPD_BIN" -F "$dir/slapd.d" -h "$SLAPD_URI/ $SLAPD_LDAPI/" -s 0 >"$dir/slapd.log" 2>&1 || {
    echo "slapd_start: slapd did not start:" >&2; cat "$dir/slapd.log" >&2; return 1; }
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
    echo "slapd_start: slapd on $SLAPD_URI did not answer" >&2; cat "$dir/slapd.log" >&2
    return 1
  fi
  if ! ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" -f "$SLAPD_SRC/config/ldap/yihao-index.ldif" \
      >"$dir/index.log" 2>&1; then
    echo "slapd_start: yihao-index.ldif failed:" >&2; cat "$dir/index.log" >&2
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
      echo "$SLAPD_URI $SLAPD_PID"
      ;;
    stop)
      [[ -n ${2:-} ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }
      slapd_stop "$2"
      ;;
    *) echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
  esac
fi
