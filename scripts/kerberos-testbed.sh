#!/usr/bin/env bash
# A throwaway Kerberos realm and an Apache that requires SPNEGO (Negotiate) in front of an HTTP target,
# all on 127.0.0.1, for dagbridge's Kerberos tests (Debian: krb5-kdc, krb5-admin-server, krb5-user,
# apache2, libapache2-mod-auth-gssapi; scripts/setup.sh --test installs them).
#
#   scripts/kerberos-testbed.sh check                 exit 0 when every tool is installed, else name what is missing
#   scripts/kerberos-testbed.sh start DIR TARGET_URL  realm, KDC, Apache proxying to TARGET_URL; prints the
#                                                     settings below, then `READY <url>`
#   scripts/kerberos-testbed.sh stop DIR              stop the Apache and KDC started in DIR (SIGTERM, SIGKILL after 5 s)
#   scripts/kerberos-testbed.sh rekey DIR             give HTTP/localhost a new key in the KDC only: Apache's keytab is
#                                                     then out of date and refuses the tickets clients get from now on
#
# Everything lives in DIR (created if missing; it must not hold an earlier testbed): its own krb5.conf (KRB5_CONFIG) and
# kdc.conf (KRB5_KDC_PROFILE), the database, the KDC on a free port, the keytab of HTTP/localhost for
# Apache, the keytab of the client principal dagbridge@DAGBRIDGE.TEST, and a ticket cache for it. Nothing
# in /etc is read or written. `start` writes DIR/testbed.env and prints it:
#
#   KRB5_CONFIG=DIR/krb5.conf                 give both to dagbridge (libcurl's GSS-API reads them)
#   KRB5CCNAME=FILE:DIR/client.ccache         a ticket for dagbridge@DAGBRIDGE.TEST (kinit from the keytab)
#   CLIENT_KEYTAB=DIR/client.keytab           the same principal's keys, for KRB5_CLIENT_KTNAME
#   PRINCIPAL=dagbridge@DAGBRIDGE.TEST
#   URL=http://localhost:PORT                 Apache: Negotiate required, then proxied to TARGET_URL with
#                                             X-Remote-User set to the authenticated principal
#
# The service principal is HTTP/localhost: libcurl asks for HTTP@<host of the URL>, and krb5.conf turns off
# DNS canonicalization and reverse lookups (dns_canonicalize_hostname, rdns), so "localhost" stays
# "localhost" and maps to the realm through [domain_realm]. A failed start stops what it had started.
# Started as root, Apache serves as nobody, which must be able to read DIR/http.keytab (so every folder
# above DIR must be searchable by others, as /tmp/... folders made with the default umask are).
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin
REALM=DAGBRIDGE.TEST
CLIENT=dagbridge
SERVICE=HTTP/localhost
MODULES=/usr/lib/apache2/modules

die() { echo "kerberos-testbed: $*" >&2; exit 1; }

missing() {
  local m=() t
  for t in krb5kdc kdb5_util kadmin.local kinit klist apache2; do
    command -v "$t" >/dev/null 2>&1 || m+=("$t")
  done
  for t in mod_auth_gssapi mod_proxy mod_proxy_http mod_headers mod_authz_user mod_authn_core mod_authz_core mod_mpm_event; do
    [ -f "$MODULES/$t.so" ] || m+=("$t")
  done
  echo "${m[*]}"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a daemon detached, with every inherited descriptor above 2 closed and an empty signal mask:
# swift-corelibs-foundation's Process learns that a child exited from EOF on a descriptor it leaves
# open in the child, so a daemon holding it (inherited through this script) would keep the test's
# `waitUntilExit()` of this script from returning; and a test runner may block SIGTERM, which the
# daemon must not inherit.
detach() {
  local log=$1; shift
  nohup python3 -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execvp(sys.argv[1], sys.argv[1:])' "$@" </dev/null >>"$log" 2>&1 &
  echo $!
}

stop_pid() {   # stop_pid PIDFILE NAME: SIGTERM, SIGKILL after 5 s
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(<"$f")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    echo "stopped $2 $pid"
  fi
  rm -f "$f"
}

stop() {
  stop_pid "$DIR/apache/httpd.pid" apache
  stop_pid "$DIR/kdc/krb5kdc.pid" krb5kdc
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {   # wait_port PORT PIDFILE NAME LOG
  local deadline=$(( $(date +%s) + 20 )) pid
  while [ "$(date +%s)" -lt "$deadline" ]; do
    port_open "$1" && return 0
    if [ -f "$2" ]; then pid=$(<"$2"); kill -0 "$pid" 2>/dev/null || { cat "$4" >&2; die "$3 exited during startup"; }; fi
    sleep 0.05
  done
  cat "$4" >&2; die "$3 did not listen on 127.0.0.1:$1 within 20 s"
}

start() {
  local target=$1
  [[ $target =~ ^https?://[^/]+ ]] || die "TARGET_URL must be http(s)://host:port, found '$target'"
  target=${target%/}
  local m; m=$(missing)
  [ -z "$m" ] || die "missing: $m (scripts/setup.sh --test installs krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi)"
  [ ! -e "$DIR/testbed.env" ] || die "$DIR already holds a testbed; stop it and use a fresh folder"
  mkdir -p "$DIR/kdc" "$DIR/apache"
  trap '[ -n "${ready:-}" ] || stop >/dev/null 2>&1' EXIT
  local kdc_port web_port
  kdc_port=$(free_port); web_port=$(free_port)
  while [ "$web_port" = "$kdc_port" ]; do web_port=$(free_port); done

  export KRB5_CONFIG=$DIR/krb5.conf KRB5_KDC_PROFILE=$DIR/kdc.conf
  cat >"$KRB5_CONFIG" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    default_client_keytab_name = FILE:$DIR/no-default-client.keytab
    default_keytab_name = FILE:$DIR/no-default.keytab

[realms]
    $REALM = {
        kdc = 127.0.0.1:$kdc_port
    }

[domain_realm]
    localhost = $REALM
    127.0.0.1 = $REALM
EOF
  cat >"$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$kdc_port
    kdc_tcp_listen = 127.0.0.1:$kdc_port

[realms]
    $REALM = {
        database_name = $DIR/kdc/principal
        key_stash_file = $DIR/kdc/stash
        acl_file = $DIR/kdc/kadm5.acl
        max_life = 1h
    }

[logging]
    kdc = FILE:$DIR/kdc/kdc.log
    admin_server = FILE:$DIR/kdc/kadmin.log
    default = FILE:$DIR/kdc/krb5.log
EOF
  : >"$DIR/kdc/kadm5.acl"
  # The master password only guards this throwaway database; the stash file (-s) holds it for the KDC.
  kdb5_util create -s -r "$REALM" -P "throwaway-$RANDOM$RANDOM" >"$DIR/kdc/create.log" 2>&1 \
    || { cat "$DIR/kdc/create.log" >&2; die "kdb5_util create failed"; }
  for q in "addprinc -randkey $SERVICE" "ktadd -k $DIR/http.keytab $SERVICE" \
           "addprinc -randkey $CLIENT" "ktadd -k $DIR/client.keytab $CLIENT"; do
    kadmin.local -r "$REALM" -q "$q" >>"$DIR/kdc/kadmin.log" 2>&1 || { cat "$DIR/kdc/kadmin.log" >&2; die "kadmin.local: $q failed"; }
  done

  # -n: stay in the foreground (detach() backgrounds it); -P: pid file for stop.
  detach "$DIR/kdc/stdout.log" krb5kdc -n -r "$REALM" -P "$DIR/kdc/krb5kdc.pid" >/dev/null
  sleep 0.1
  wait_port "$kdc_port" "$DIR/kdc/krb5kdc.pid" krb5kdc "$DIR/kdc/kdc.log"

  local user=""
  if [ "$(id -u)" = 0 ]; then
    # Apache will not serve as root; its workers (nobody) read the HTTP keytab and the krb5.conf.
    user="User nobody
Group nogroup"
    chown nobody:nogroup "$DIR/http.keytab"
    chmod a+rx "$DIR" "$DIR/apache"; chmod a+r "$KRB5_CONFIG"
    setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$DIR/http.keytab" \
      || die "user nobody (Apache's workers) cannot read $DIR/http.keytab: every folder above $DIR must be searchable by others (chmod o+x)"
  fi
  cat >"$DIR/apache/httpd.conf" <<EOF
ServerRoot $DIR/apache
ServerName localhost
Listen 127.0.0.1:$web_port
PidFile $DIR/apache/httpd.pid
DefaultRuntimeDir $DIR/apache
Mutex file:$DIR/apache default
ErrorLog $DIR/apache/error.log
LogLevel warn auth_gssapi:info
$user
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authn_core_module $MODULES/mod_authn_core.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_user_module $MODULES/mod_authz_user.so
LoadModule auth_gssapi_module $MODULES/mod_auth_gssapi.so
LoadModule headers_module $MODULES/mod_headers.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_http_module $MODULES/mod_proxy_http.so
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32

<Location />
    AuthType GSSAPI
    AuthName "dagbridge Kerberos testbed"
    GssapiCredStore keytab:$DIR/http.keytab
    GssapiAllowedMech krb5
    GssapiBasicAuth Off
    Require valid-user
    # The backend sees who Apache authenticated (and never a client's own X-Remote-User).
    RequestHeader set X-Remote-User expr=%{REMOTE_USER}
</Location>
ProxyPass / $target/
ProxyPassReverse / $target/
EOF
  # KRB5RCACHETYPE=none: no replay cache file in /var/tmp for a realm that lives a minute.
  KRB5RCACHETYPE=none detach "$DIR/apache/stdout.log" apache2 -d "$DIR/apache" -f "$DIR/apache/httpd.conf" -D FOREGROUND >/dev/null
  sleep 0.1
  wait_port "$web_port" "$DIR/apache/httpd.pid" apache2 "$DIR/apache/error.log"

  kinit -k -t "$DIR/client.keytab" -c "FILE:$DIR/client.ccache" "$CLIENT@$REALM" \
    || die "kinit -k -t $DIR/client.keytab $CLIENT@$REALM failed"
  ready=1
  cat >"$DIR/testbed.env" <<EOF
KRB5_CONFIG=$KRB5_CONFIG
KRB5CCNAME=FILE:$DIR/client.ccache
CLIENT_KEYTAB=$DIR/client.keytab
PRINCIPAL=$CLIENT@$REALM
URL=http://localhost:$web_port
EOF
  cat "$DIR/testbed.env"
  echo "READY http://localhost:$web_port"
}

cmd=${1:-}
case $cmd in
check) m=$(missing); [ -z "$m" ] || { echo "missing: $m"; exit 1; }; echo "ok" ;;
start) [ $# -eq 3 ] || die "usage: $0 start DIR TARGET_URL"; mkdir -p "$2"; DIR=$(cd "$2" && pwd); start "$3" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; DIR=$(cd "$2" && pwd); stop ;;
rekey)
  [ $# -eq 2 ] || die "usage: $0 rekey DIR"; DIR=$(cd "$2" && pwd)
  KRB5_CONFIG=$DIR/krb5.conf KRB5_KDC_PROFILE=$DIR/kdc.conf kadmin.local -r "$REALM" -q "cpw -randkey $SERVICE" >>"$DIR/kdc/kadmin.log" 2>&1 \
    || { cat "$DIR/kdc/kadmin.log" >&2; die "kadmin.local: cpw -randkey $SERVICE failed"; }
  echo "rekeyed $SERVICE"
  ;;
*) die "usage: $0 check | start DIR TARGET_URL | stop DIR | rekey DIR" ;;
esac
