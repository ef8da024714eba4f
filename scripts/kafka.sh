#!/usr/bin/env bash
# Run a real single-node Apache Kafka 4 broker (KRaft, combined broker+controller)
# on 127.0.0.1 for the tests, from jars that Maven resolves from Maven Central.
#
# Usage: scripts/kafka.sh start|stop|status|kill
#   start   resolve jars (first time only), format storage (first time only),
#           launch the broker and wait until it answers; idempotent. The LAST
#           line of stdout is the bootstrap address (127.0.0.1:PORT); every
#           other message goes to stderr.
#   stop    SIGTERM the recorded PID, SIGKILL after 30 s; removes kafka.pid.
#   status  print "running" (exit 0) or "stopped" (exit 1).
#   kill    SIGKILL the recorded PID at once (for fault tests).
#
# Environment:
#   STREAM_MONITOR_KAFKA_HOME          state dir (default <repo>/.kafka): libs/ (jar
#                                      cache), data/ (log dirs, server.log),
#                                      server.properties, kafka.pid, broker.log,
#                                      tls/ (only with SSL_PORT)
#   STREAM_MONITOR_KAFKA_LIBS          jar cache dir (default HOME/libs); point a second
#                                      HOME at the first one's libs/ to skip Maven
#   STREAM_MONITOR_KAFKA_PORT          PLAINTEXT (client) listener port (default 31092,
#                                      below Linux's ephemeral range 32768-60999, so no
#                                      client connection can be holding it);
#                                      unauthenticated (principal User:ANONYMOUS), and
#                                      the address `start` prints and probes
#   STREAM_MONITOR_KAFKA_CONTROLLER_PORT  KRaft controller port (default PORT+1)
#   STREAM_MONITOR_KAFKA_SASL_PORT     if set, also listen on SASL_PLAINTEXT://127.0.0.1:
#                                      SASL_PORT with SCRAM-SHA-256 and SCRAM-SHA-512
#                                      (users: see FORMAT_ARGS); default: no such listener
#   STREAM_MONITOR_KAFKA_SSL_PORT      if set, also listen on SASL_SSL://127.0.0.1:SSL_PORT
#                                      (the same SCRAM mechanisms over TLS). The first
#                                      start makes a CA and a broker certificate (SAN
#                                      IP:127.0.0.1, DNS:localhost) with keytool in
#                                      HOME/tls/; clients trust HOME/tls/ca.pem (e.g.
#                                      librdkafka ssl.ca.location). Kept across starts.
#   STREAM_MONITOR_KAFKA_ACLS          1: enable the StandardAuthorizer with
#                                      allow.everyone.if.no.acl.found=false and
#                                      super.users=User:ANONYMOUS (the PLAINTEXT and
#                                      controller listeners, so they keep full rights);
#                                      SCRAM users need ACLs. Default 0: no authorizer.
#   STREAM_MONITOR_KAFKA_SUPER_USER    with ACLS=1, one more super user, e.g. "admin"
#                                      (= User:admin)
#   STREAM_MONITOR_KAFKA_FORMAT_ARGS   extra args for the one-time `kafka-storage
#                                      format`, split on whitespace without quote
#                                      processing, e.g. SCRAM users (one per mechanism):
#                                      "--add-scram SCRAM-SHA-256=[name=app,password=secret]
#                                       --add-scram SCRAM-SHA-512=[name=app,password=secret]"
#   STREAM_MONITOR_KAFKA_START_TIMEOUT seconds to wait for the broker (default 90)
#   STREAM_MONITOR_KAFKA_LOG_LEVEL     broker log level in data/server.log (default WARN)
#   STREAM_MONITOR_KAFKA_HEAP_OPTS     JVM heap options (default "-Xms256m -Xmx1g")
#   JAVA_HOME                          JDK 17+ to use (else `java` on PATH)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pom="$repo/scripts/kafka/pom.xml"
log4j_config="$repo/scripts/kafka/log4j2.properties"

home=${STREAM_MONITOR_KAFKA_HOME:-$repo/.kafka}
port=${STREAM_MONITOR_KAFKA_PORT:-31092}
controller_port=${STREAM_MONITOR_KAFKA_CONTROLLER_PORT:-$((port + 1))}
start_timeout=${STREAM_MONITOR_KAFKA_START_TIMEOUT:-90}
sasl_port=${STREAM_MONITOR_KAFKA_SASL_PORT:-}
ssl_port=${STREAM_MONITOR_KAFKA_SSL_PORT:-}
acls=${STREAM_MONITOR_KAFKA_ACLS:-0}
super_user=${STREAM_MONITOR_KAFKA_SUPER_USER:-}
host=127.0.0.1

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

for _var in port controller_port sasl_port ssl_port; do
  [[ "${!_var}" =~ ^[0-9]*$ ]] || die "$_var must be a port number, not '${!_var}'"
done
case "$acls" in
  0 | 1) ;;
  *) die "STREAM_MONITOR_KAFKA_ACLS must be 0 or 1, not '$acls'" ;;
esac

mkdir -p "$home"
home=$(cd "$home" && pwd) # absolute: it ends up in server.properties
libs=${STREAM_MONITOR_KAFKA_LIBS:-$home/libs}
mkdir -p "$(dirname "$libs")"
libs="$(cd "$(dirname "$libs")" && pwd)/$(basename "$libs")"
data="$home/data"
log_dirs="$data/kraft-combined-logs"
config="$home/server.properties"
pid_file="$home/kafka.pid"
broker_log="$home/broker.log"
tls="$home/tls"

find_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    java=$(command -v java)
  else
    die "no Java found: set JAVA_HOME or put a JDK 17+ 'java' on PATH"
  fi
  local spec
  spec=$("$java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = //p')
  [ "${spec%%.*}" -ge 17 ] 2>/dev/null ||
    die "Kafka 4 needs Java 17 or newer; $java is Java ${spec:-unknown}"
}

# Is the process alive? A zombie (dead, not yet reaped) still answers kill -0, so its
# state is checked too. (An empty /proc cmdline is no proof of death: it is also empty for
# a moment while the process execs.)
process_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$state" ] && [[ "$state" != Z* ]]
}

# The recorded PID, if that process is alive and is this home's broker (a
# zombie, or a PID reused by another program, does not count).
broker_pid() {
  [ -f "$pid_file" ] || return 1
  local pid cmdline
  pid=$(cat "$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  process_alive "$pid" || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else
    cmdline=$(ps -p "$pid" -o args= 2>/dev/null || true)
  fi
  [[ "$cmdline" == *kafka.Kafka*"$config"* ]] || return 1
  echo "$pid"
}

# The PLAINTEXT address a running broker was started with (the port may have changed
# since), picked out of advertised.listeners among any SASL ones.
running_address() {
  local line entry entries=()
  line=$(sed -n 's/^advertised\.listeners=//p' "$config" 2>/dev/null || true)
  IFS=, read -r -a entries <<<"$line"
  for entry in ${entries[@]+"${entries[@]}"}; do
    if [[ "$entry" == PLAINTEXT://* ]]; then
      echo "${entry#PLAINTEXT://}"
      return
    fi
  done
  echo "$host:$port"
}

port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

# Resolve the broker jars into libs/ with Maven, unless the cache matches the pom.
ensure_libs() {
  local stamp
  stamp=$(cksum <"$pom")
  if [ -f "$libs/.pom-cksum" ] && [ "$(cat "$libs/.pom-cksum")" = "$stamp" ]; then
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "Maven ('mvn') is needed once to fetch the Kafka jars"
  log "resolving Kafka jars with Maven into $libs ..."
  local tmp="$libs.tmp.$$"
  rm -rf "$tmp"
  local started=$SECONDS
  # (sed drops the bare colour codes that some Maven builds print even with -B.)
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "Maven could not resolve the jars listed in $pom"
  fi
  echo "$stamp" >"$tmp/.pom-cksum"
  rm -rf "$libs"
  mv "$tmp" "$libs"
  log "resolved $(find "$libs" -name '*.jar' | wc -l) jars in $((SECONDS - started)) s"
}

# The JDK's keytool, next to the java in use if it has one.
find_keytool() {
  keytool="$(dirname "$java")/keytool"
  if [ ! -x "$keytool" ]; then
    keytool=$(command -v keytool) || die "no keytool next to $java nor on PATH"
  fi
}

# First start with SSL_PORT: a CA (basicConstraints CA:true) and a broker key pair signed
# by it for 127.0.0.1/localhost, in tls/: broker.p12 (PKCS12 keystore with the chain),
# ca.pem (the CA certificate, for clients), ca.p12 (the CA key), password (mode 600, the
# password of both stores). Made in a scratch directory and moved into place whole, so a
# failed run leaves nothing half made.
ensure_tls() {
  if [ -f "$tls/broker.p12" ] && [ -f "$tls/ca.pem" ] && [ -f "$tls/password" ]; then
    return
  fi
  find_keytool
  local tmp="$tls.tmp.$$" started=$SECONDS
  rm -rf "$tmp"
  (umask 077 && mkdir -p "$tmp")
  # 32 hex digits from the kernel's random source (no pipe into head: pipefail + SIGPIPE).
  (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/password")
  [ -s "$tmp/password" ] || die "could not make a keystore password"
  local pass=(-storepass:file "$tmp/password") san="SAN=IP:127.0.0.1,DNS:localhost"
  # EC P-256 keys: far quicker to make than RSA in a JVM that only runs the client
  # compiler, which (with the serial GC) starts these short keytool runs faster.
  kt() { "$keytool" -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC "$@"; }
  local common=(-keyalg EC -groupname secp256r1 -validity 3650 -startdate -1d -storetype PKCS12)
  log "making a test CA and broker certificate in $tls with keytool"
  if ! {
    kt -genkeypair -alias ca -dname "CN=stream-monitor test CA" \
      -ext bc:c=ca:true -ext KU:c=keyCertSign,cRLSign \
      "${common[@]}" -keystore "$tmp/ca.p12" "${pass[@]}" &&
      kt -exportcert -rfc -alias ca -keystore "$tmp/ca.p12" "${pass[@]}" \
        -file "$tmp/ca.pem" &&
      kt -genkeypair -alias broker -dname "CN=localhost" -ext "$san" \
        "${common[@]}" -keystore "$tmp/broker.p12" "${pass[@]}" &&
      kt -certreq -alias broker -keystore "$tmp/broker.p12" "${pass[@]}" \
        -file "$tmp/broker.csr" &&
      kt -gencert -rfc -alias ca -keystore "$tmp/ca.p12" "${pass[@]}" \
        -infile "$tmp/broker.csr" -outfile "$tmp/broker.pem" \
        -validity 3650 -startdate -1d -ext "$san" \
        -ext KU:c=digitalSignature -ext EKU=serverAuth &&
      kt -importcert -noprompt -trustcacerts -alias ca -file "$tmp/ca.pem" \
        -keystore "$tmp/broker.p12" "${pass[@]}" &&
      kt -importcert -noprompt -trustcacerts -alias broker -file "$tmp/broker.pem" \
        -keystore "$tmp/broker.p12" "${pass[@]}"
  } >"$tmp/keytool.log" 2>&1; then
    cat "$tmp/keytool.log" >&2
    rm -rf "$tmp"
    die "keytool could not make the TLS files"
  fi
  rm -f "$tmp/broker.csr" "$tmp/keytool.log"
  chmod 600 "$tmp"/*.p12
  chmod 644 "$tmp/ca.pem" "$tmp/broker.pem"
  rm -rf "$tls"
  mv "$tmp" "$tls"
  log "TLS files made in $((SECONDS - started)) s; clients trust $tls/ca.pem"
}

# SCRAM-SHA-256/512 on one SASL listener (name in lower case, as Kafka wants it).
scram_listener_config() {
  local name=$1 mechanism
  echo "listener.name.$name.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512"
  for mechanism in scram-sha-256 scram-sha-512; do
    echo "listener.name.$name.$mechanism.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
  done
}

# The optional listeners and authorizer, appended to server.properties.
secure_config() {
  echo
  echo "# Secure listeners and authorization (STREAM_MONITOR_KAFKA_SASL_PORT/SSL_PORT/ACLS)."
  if [ -n "$sasl_port" ]; then
    scram_listener_config sasl_plaintext
  fi
  if [ -n "$ssl_port" ]; then
    scram_listener_config sasl_ssl
    echo "listener.name.sasl_ssl.ssl.keystore.type=PKCS12"
    echo "listener.name.sasl_ssl.ssl.keystore.location=$tls/broker.p12"
    echo "listener.name.sasl_ssl.ssl.keystore.password=$(cat "$tls/password")"
    echo "listener.name.sasl_ssl.ssl.key.password=$(cat "$tls/password")"
    echo "listener.name.sasl_ssl.ssl.client.auth=none"
  fi
  if [ "$acls" = 1 ]; then
    local supers="User:ANONYMOUS"
    if [ -n "$super_user" ]; then
      [[ "$super_user" == User:* ]] || super_user="User:$super_user"
      supers="$supers;$super_user"
    fi
    echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    echo "allow.everyone.if.no.acl.found=false"
    echo "super.users=$supers"
  fi
}

write_config() {
  mkdir -p "$log_dirs"
  local listeners="PLAINTEXT://$host:$port" protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [ -n "$sasl_port" ]; then
    listeners="$listeners,SASL_PLAINTEXT://$host:$sasl_port"
    protocols="$protocols,SASL_PLAINTEXT:SASL_PLAINTEXT"
  fi
  if [ -n "$ssl_port" ]; then
    listeners="$listeners,SASL_SSL://$host:$ssl_port"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  # The keystore password ends up in the file: keep it private then.
  if [ -n "$ssl_port" ]; then
    (umask 077 && : >"$config")
    chmod 600 "$config"
  fi
  cat >"$config" <<EOF
# Generated by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=$listeners,CONTROLLER://$host:$controller_port
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$log_dirs

# Single node: every internal topic has one replica.
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Test-friendly behaviour.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
EOF
  if [ -n "$sasl_port$ssl_port" ] || [ "$acls" = 1 ]; then
    secure_config >>"$config"
  fi
}

format_storage() {
  local extra=()
  read -r -a extra <<<"${STREAM_MONITOR_KAFKA_FORMAT_ARGS:-}"
  if [ -f "$log_dirs/meta.properties" ]; then
    if [ "${#extra[@]}" -gt 0 ]; then
      log "storage already formatted; ignoring STREAM_MONITOR_KAFKA_FORMAT_ARGS (rm -rf $data to redo)"
    fi
    return
  fi
  local cluster_id
  cluster_id=$("$java" -cp "$libs/*" kafka.tools.StorageTool random-uuid)
  log "formatting $log_dirs (cluster id $cluster_id)"
  "$java" -cp "$libs/*" -Dlog4j2.configurationFile="$log4j_config" \
    -Dstream_monitor.kafka.log.dir="$data" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$config" \
    ${extra[@]+"${extra[@]}"} >&2
}

# One readiness probe: can an admin client list the topics? Uses the project's
# venv (confluent_kafka) when there is one, else a tiny Java program that the
# JDK's single-file source launcher runs against kafka-clients.
probe() {
  local address=$1
  if [ -x "$repo/.venv/bin/python" ]; then
    timeout 15 "$repo/.venv/bin/python" -c '
import sys
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0})
sys.exit(0 if admin.list_topics(timeout=3).brokers else 1)
' "$address" >/dev/null 2>&1
  else
    local probe_src="$home/ReadyProbe.java"
    cat >"$probe_src" <<'EOF'
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;

/** Exits 0 when the broker at args[0] answers a list-topics request. */
public class ReadyProbe {
    public static void main(String[] args) {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("request.timeout.ms", "3000");
        props.put("default.api.timeout.ms", "3000");
        try (Admin admin = Admin.create(props)) {
            admin.listTopics(new ListTopicsOptions().timeoutMs(3000)).names().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.exit(1);
        }
        System.exit(0);
    }
}
EOF
    timeout 30 "$java" -cp "$libs/*" "$probe_src" "$address" >/dev/null 2>&1
  fi
}

# Wait until the broker answers; fail early if its process dies.
wait_ready() {
  local pid=$1 address=$2 deadline=$((SECONDS + start_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! process_alive "$pid"; then
      log "the broker process $pid exited"
      return 1
    fi
    # The client listener only accepts connections once the broker is nearly up:
    # a cheap TCP check first keeps the slower admin-client probe for the end.
    if port_open "${address##*:}" && probe "$address"; then
      return 0
    fi
    sleep 0.5
  done
  log "the broker did not answer within $start_timeout s"
  return 1
}

show_logs() {
  local file
  for file in "$broker_log" "$data/server.log"; do
    if [ -s "$file" ]; then
      log "---- last lines of $file ----"
      tail -n 40 "$file" >&2
    fi
  done
}

# Signal the recorded PID and wait until it is gone (SIGTERM: up to 30 s, then SIGKILL).
terminate() {
  local pid=$1 signal=$2 waited=0
  kill "-$signal" "$pid" 2>/dev/null || true
  while process_alive "$pid"; do
    if [ "$signal" = TERM ] && [ "$waited" -ge 300 ]; then
      log "pid $pid still alive after 30 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      signal=KILL
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Launch the broker once and wait until it answers; on failure show the logs, stop what
# was launched and return non-zero.
launch() {
  local heap_opts pid address="$host:$port"
  read -r -a heap_opts <<<"${STREAM_MONITOR_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  log "starting Kafka on $host:$port (controller $host:$controller_port), logs in $broker_log"
  nohup "$java" "${heap_opts[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$log4j_config" -Dlog4j2.shutdownHookEnabled=false \
    -Dstream_monitor.kafka.log.dir="$data" \
    -Dstream_monitor.kafka.log.level="${STREAM_MONITOR_KAFKA_LOG_LEVEL:-WARN}" \
    -cp "$libs/*" kafka.Kafka "$config" >"$broker_log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  if wait_ready "$pid" "$address"; then
    launched_pid=$pid
    return 0
  fi
  show_logs
  if process_alive "$pid"; then
    terminate "$pid" TERM
  fi
  rm -f "$pid_file"
  return 1
}

cmd_start() {
  find_java
  local pid address
  if pid=$(broker_pid); then
    address=$(running_address)
    [ "$address" = "$host:$port" ] ||
      log "warning: the running broker listens on $address, not $host:$port"
    if ! wait_ready "$pid" "$address"; then
      show_logs
      die "broker pid $pid is running but does not answer on $address"
    fi
    log "already running (pid $pid)"
    echo "$address"
    return
  fi
  rm -f "$pid_file"

  local p
  for p in "$port" "$controller_port" $sasl_port $ssl_port; do
    ! port_open "$p" || die "port $host:$p is already in use (set STREAM_MONITOR_KAFKA_PORT)"
  done
  if [ -n "$super_user" ] && [ "$acls" != 1 ]; then
    log "warning: STREAM_MONITOR_KAFKA_SUPER_USER has no effect without STREAM_MONITOR_KAFKA_ACLS=1"
  fi

  ensure_libs
  if [ -n "$ssl_port" ]; then
    ensure_tls
  fi
  write_config
  format_storage

  local started=$SECONDS attempt
  for attempt in 1 2 3; do
    if launch; then
      break
    fi
    if [ "$attempt" = 3 ]; then
      die "Kafka did not start"
    fi
    log "start attempt $attempt failed; trying again"
    sleep 2
  done
  log "ready in $((SECONDS - started)) s (pid $launched_pid)"
  [ -z "$sasl_port" ] || log "SASL_PLAINTEXT (SCRAM-SHA-256/512) on $host:$sasl_port"
  [ -z "$ssl_port" ] || log "SASL_SSL (SCRAM-SHA-256/512) on $host:$ssl_port, CA $tls/ca.pem"
  echo "$host:$port"
}

cmd_stop() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f "$pid_file"
    log "not running"
    return
  fi
  log "stopping pid $pid"
  terminate "$pid" TERM
  rm -f "$pid_file"
  log "stopped"
}

cmd_kill() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f "$pid_file"
    log "not running"
    return
  fi
  log "killing pid $pid (SIGKILL)"
  terminate "$pid" KILL
  rm -f "$pid_file"
}

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    log "pid $pid, $(running_address)"
    echo running
  else
    echo stopped
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill) cmd_kill ;;
  *)
    echo "usage: $0 start|stop|status|kill" >&2
    exit 2
    ;;
esac
