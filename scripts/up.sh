#!/usr/bin/env bash
# The main job (run through ./dev up, which finds Java 25): builds the project, issues development
# certificates, starts the controller on an embedded PostgreSQL with mTLS, shows it answering
# gRPC through the silk CLI, and keeps it running until Ctrl-C. Everything it makes lives in var/.
#   SILK_UP_ONCE=1 ./dev up    stop after the demonstration (used by CI)
set -euo pipefail
cd "$(dirname "$0")/.."

GRPC_PORT=${SILK_GRPC_PORT:-7443}
HTTP_PORT=${SILK_HTTP_PORT:-9464}
mkdir -p var

echo "==> building (first run downloads dependencies from Maven Central)"
./mvnw -B -ntp -q install -DskipTests

echo "==> issuing development certificates into var/pki"
scripts/dev-pki.sh var/pki 10.0.0.1 10.0.0.2

echo "==> starting the controller (gRPC :$GRPC_PORT, health and metrics on 127.0.0.1:$HTTP_PORT)"
java --enable-native-access=ALL-UNNAMED -jar controller/target/silk-controller-0.1.0-SNAPSHOT.jar \
  --spring.grpc.server.port="$GRPC_PORT" --server.port="$HTTP_PORT" \
  --silk.controller.embedded-database.data-dir=var/controller-db \
  --silk.controller.tls.certificate=var/pki/server.pem \
  --silk.controller.tls.private-key=var/pki/server-key.pem \
  --silk.controller.tls.trust=var/pki/ca.pem \
  > var/controller.log 2>&1 &
controller=$!
stop() {
  if kill -0 "$controller" 2>/dev/null; then
    echo "==> stopping the controller (pid $controller)"
    kill "$controller"; wait "$controller" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$HTTP_PORT/actuator/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$controller" 2>/dev/null; then
    echo "the controller exited during start-up; its log (var/controller.log) ends:" >&2
    tail -n 20 var/controller.log >&2; exit 1
  fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$HTTP_PORT/actuator/health" >/dev/null || { echo "controller not healthy after 60 s; see var/controller.log" >&2; exit 1; }

# silk COMMAND [options]: the CLI against this controller.
silk() { local cmd=$1; shift; java -jar cli/target/silk.jar "$cmd" --controller "localhost:$GRPC_PORT" --ca var/pki/ca.pem "$@"; }
as_cell() { local ip=$1; shift; silk "$@" --cert "var/pki/cell-$ip.pem" --key "var/pki/cell-$ip-key.pem"; }
as_operator() { silk "$@" --cert var/pki/operator.pem --key var/pki/operator-key.pem; }

echo "==> two cells acquire their leases over gRPC with their own certificates"
as_cell 10.0.0.1 acquire-lease
as_cell 10.0.0.2 acquire-lease
echo "==> the operator lists the routable leases"
as_operator leases
echo
echo "==> a cell may not release another cell's lease:"
as_cell 10.0.0.1 release-lease --cell 10.0.0.2 || true
echo
cat <<MSG
The controller is up (pid $controller); its data survives restarts in var/controller-db.
Look around:
  curl -s http://127.0.0.1:$HTTP_PORT/actuator/health
  curl -s http://127.0.0.1:$HTTP_PORT/actuator/prometheus | grep ^silk_
  java -jar cli/target/silk.jar --help        (SILK_CA=var/pki/ca.pem SILK_CERT=var/pki/operator.pem SILK_KEY=var/pki/operator-key.pem)
  tail -f var/controller.log
MSG
if [ "${SILK_UP_ONCE:-}" = 1 ]; then exit 0; fi
echo "Ctrl-C stops it."
wait "$controller"
