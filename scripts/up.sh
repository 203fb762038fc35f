#!/usr/bin/env bash
# The main job (run through ./dev up, which finds Java 25). Needs root: it makes network namespaces.
# Brings up, on this machine:
#   silk-underlay  a bridge joining the hosts below (10.77.0.0/24)
#   silk-ctl       the controller (10.77.0.100), mTLS, on an embedded PostgreSQL (data in var/),
#                  and the policy server (REST on its 127.0.0.1:4002; local-development mode: no tokens)
#   silk-cell-a    a cell (10.77.0.1) running the cell daemon
#   silk-cell-b    a cell (10.77.0.2) running the cell daemon
#   silk-ctr-a/b   one container per cell, attached by the silk CNI plugin
# then shows network policy at work (container a cannot reach container b until the CLI adds a
# policy) and the containers talking over the VXLAN overlay, and keeps everything up until Ctrl-C,
# when it stops the processes it started and removes the namespaces.
#   SILK_UP_ONCE=1 ./dev up    stop after the demonstration (used by CI)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" != 0 ]; then
  echo "./dev up makes network namespaces and needs root (sudo ./dev up)." >&2; exit 1
fi
# The tools it runs (ip, bridge, nc, curl, openssl, nft and libnftables, the reference CNI plugins) were
# installed, or found missing, by ./dev before it started this script (ensure_host_packages).

NS=(silk-underlay silk-ctl silk-cell-a silk-cell-b silk-ctr-a silk-ctr-b)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${NS[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
}
# Leftovers of a run that was killed: our own namespaces only.
for ns in "${NS[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
trap 'echo "==> stopping and removing what this run made"; cleanup' EXIT
trap 'exit 130' INT TERM

echo "==> building (first run downloads dependencies from Maven Central)"
./mvnw -B -ntp -q install -DskipTests

mkdir -p var
echo "==> certificates (var/pki), CNI plugin (var/cni-bin)"
scripts/dev-pki.sh var/pki --server-ip 10.77.0.100 10.77.0.1 10.77.0.2
cni-plugin/install.sh "$root/var/cni-bin" "$JAVA_HOME"
for p in bandwidth portmap tuning; do [ -e /usr/lib/cni/$p ] && ln -sf /usr/lib/cni/$p var/cni-bin/$p; done

echo "==> network namespaces"
ip netns add silk-underlay
ip -n silk-underlay link set lo up
ip -n silk-underlay link add br0 type bridge
ip -n silk-underlay link set br0 up
host() { # ns ip port-name
  ip netns add "$1"; ip -n "$1" link set lo up
  ip link add eth0 netns "$1" type veth peer name "$3" netns silk-underlay
  ip -n silk-underlay link set "$3" master br0 up
  ip -n "$1" addr add "$2/24" dev eth0; ip -n "$1" link set eth0 up
}
host silk-ctl 10.77.0.100 u-ctl
host silk-cell-a 10.77.0.1 u-cell-a
host silk-cell-b 10.77.0.2 u-cell-b

JAVA="$JAVA_HOME/bin/java"
echo "==> controller in silk-ctl (gRPC 10.77.0.100:7443; health and metrics on its 127.0.0.1:9464)"
ip netns exec silk-ctl "$JAVA" --enable-native-access=ALL-UNNAMED -Xmx512m \
  -jar controller/target/silk-controller-0.1.0-SNAPSHOT.jar \
  --spring.grpc.server.port=7443 --server.port=9464 \
  --silk.controller.embedded-database.data-dir="$root/var/controller-db" \
  --silk.controller.embedded-database.port=15432 \
  --silk.controller.tls.certificate="$root/var/pki/server.pem" \
  --silk.controller.tls.private-key="$root/var/pki/server-key.pem" \
  --silk.controller.tls.trust="$root/var/pki/ca.pem" > var/controller.log 2>&1 &
pids+=($!)
wait_for() { # what ns url
  for _ in $(seq 1 180); do
    ip netns exec "$2" curl -fsS "$3" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$1 did not become healthy; see var/*.log" >&2; exit 1
}
wait_for controller silk-ctl http://127.0.0.1:9464/actuator/health/readiness

echo "==> policy server in silk-ctl (127.0.0.1:4002, local-development mode: no tokens; never in production)"
ip netns exec silk-ctl "$JAVA" -Xmx384m -jar policy-server/target/silk-policy-server-0.1.0-SNAPSHOT.jar \
  --server.port=4002 --spring.datasource.url=jdbc:postgresql://127.0.0.1:15432/postgres \
  --spring.datasource.username=postgres --spring.datasource.password=postgres \
  --silk.policy-server.local-development=true > var/policy-server.log 2>&1 &
pids+=($!)
wait_for "policy server" silk-ctl http://127.0.0.1:4002/actuator/health

for cell in a b; do
  ip=10.77.0.$([ $cell = a ] && echo 1 || echo 2)
  mkdir -p "var/cell-$cell"
  cat > "var/cell-$cell/daemon.properties" <<PROPS
underlay.ip=$ip
controller.addresses=10.77.0.100:7443
tls.ca=$root/var/pki/ca.pem
tls.certificate=$root/var/pki/cell-$ip.pem
tls.private-key=$root/var/pki/cell-$ip-key.pem
state.dir=$root/var/cell-$cell/state
cni.socket=$root/var/cell-$cell/run/cni.sock
health.address=127.0.0.1:9465
lease.renew-interval=10s
policy.log-denied=true
PROPS
  echo "==> cell daemon in silk-cell-$cell ($ip)"
  ip netns exec "silk-cell-$cell" "$JAVA" --enable-native-access=ALL-UNNAMED -Xmx256m \
    -jar cell-daemon/target/silk-cell-daemon.jar run --config "var/cell-$cell/daemon.properties" > "var/cell-$cell/daemon.log" 2>&1 &
  pids+=($!)
done
wait_for "cell daemon a" silk-cell-a http://127.0.0.1:9465/health
wait_for "cell daemon b" silk-cell-b http://127.0.0.1:9465/health

attach() { # cell container app
  ip netns add "silk-ctr-$2"; ip -n "silk-ctr-$2" link set lo up
  printf '{"cniVersion":"1.0.0","name":"silk","type":"silk","daemonSocket":"%s"}' "$root/var/cell-$1/run/cni.sock" | \
    ip netns exec "silk-cell-$1" env CNI_COMMAND=ADD CNI_CONTAINERID="demo-$2" CNI_NETNS="/var/run/netns/silk-ctr-$2" \
      CNI_IFNAME=eth0 CNI_PATH="$root/var/cni-bin" CNI_ARGS="SILK_APP_ID=$3" var/cni-bin/silk
}
echo "==> attaching one container per cell (CNI ADD)"
result_a=$(attach a a app-frontend); echo "    silk-ctr-a: $result_a"
result_b=$(attach b b app-backend);  echo "    silk-ctr-b: $result_b"
ip_a=$(echo "$result_a" | sed -E 's/.*"address":"([0-9.]+)\/32".*/\1/')
ip_b=$(echo "$result_b" | sed -E 's/.*"address":"([0-9.]+)\/32".*/\1/')

echo "==> the leases, as the operator sees them"
ip netns exec silk-ctl "$JAVA" -jar cli/target/silk.jar leases --controller 10.77.0.100:7443 --ca var/pki/ca.pem \
  --cert var/pki/operator.pem --key var/pki/operator-key.pem
echo
silk_cli() { ip netns exec silk-ctl "$JAVA" -jar cli/target/silk.jar "$@" --api http://127.0.0.1:4002; }
ip netns exec silk-ctr-b nc -lkn -s "$ip_b" -p 8080 > var/ctr-b-8080.log 2>&1 &
pids+=($!)
sleep 0.5
# The database outlives runs: start the demonstration without the policy.
silk_cli remove-network-policy app-frontend --destination-app app-backend --protocol tcp --port 8080 >/dev/null 2>&1 || true
tcp_a_to_b() { ip netns exec silk-ctr-a sh -c "echo hello from a | nc -N -w2 $ip_b 8080" >/dev/null 2>&1; }
for _ in $(seq 1 50); do tcp_a_to_b || break; sleep 0.1; done
echo "==> without a policy, app-frontend (container a, $ip_a) cannot reach app-backend (container b, $ip_b) on tcp 8080:"
if tcp_a_to_b; then echo "    unexpectedly connected" >&2; exit 1; else echo "    refused, as it should be"; fi
echo "==> silk flows on cell b: the verdict, read from the kernel's NFLOG"
for _ in $(seq 1 20); do
  flows=$(ip netns exec silk-cell-b "$JAVA" -jar cli/target/silk.jar flows --denied 2>&1 | tail -1)
  [ -n "$flows" ] && break; sleep 0.1
done
echo "    $flows"
echo "==> silk add-network-policy app-frontend --destination-app app-backend --port 8080"
silk_cli add-network-policy app-frontend --destination-app app-backend --port 8080
for _ in $(seq 1 50); do tcp_a_to_b && break; sleep 0.1; done
if tcp_a_to_b; then echo "    container a now reaches container b on tcp 8080 across the overlay"; else echo "    the policy did not open the connection; see var/*.log" >&2; exit 1; fi
silk_cli network-policies
echo
cat <<MSG
Everything is up. Look around (as root):
  ip netns exec silk-ctr-a sh -c 'echo hi | nc -N $ip_b 8080'
  java -jar cli/target/silk.jar --help              (policy commands need --api http://127.0.0.1:4002, run in silk-ctl)
  ip netns exec silk-cell-b nft list table inet silk    # the policy as nftables sets and chains on cell b
  ip netns exec silk-cell-b java -jar cli/target/silk.jar flows -f   # verdicts on cell b as they happen
  ip netns exec silk-cell-a ip route                     # a route per remote lease, via silk-vtep
  ip netns exec silk-cell-a ip -d link show silk-vtep    # VXLAN, VNI 1, port 4789, GBP
  ip netns exec silk-cell-a bridge fdb show dev silk-vtep
  ip netns exec silk-cell-a curl -s 127.0.0.1:9465/health
  ip netns exec silk-cell-a curl -s 127.0.0.1:9465/metrics | grep ^silk_
  ip netns exec silk-ctl curl -s 127.0.0.1:9464/actuator/prometheus | grep ^silk_
  logs: var/controller.log var/policy-server.log var/cell-a/daemon.log var/cell-b/daemon.log
MSG
if [ "${SILK_UP_ONCE:-}" = 1 ]; then exit 0; fi
echo "Ctrl-C stops everything and removes the namespaces."
wait "${pids[0]}"
