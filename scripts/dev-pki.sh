#!/usr/bin/env bash
# Issues a throwaway CA and certificates for local development and tests. Not for production.
#   scripts/dev-pki.sh DIR [--server-ip IP]... [CELL_IP]...
# Writes into DIR (created if missing; existing files are kept):
#   ca.pem ca-key.pem                 the CA every party trusts
#   server.pem server-key.pem         the controller (SAN: localhost, 127.0.0.1, any --server-ip)
#   operator.pem operator-key.pem     CN=silk-operator: may list and release any lease
#   cell-IP.pem cell-IP-key.pem       one per CELL_IP: names that cell (CN and IP SAN)
set -euo pipefail
dir=${1:?usage: dev-pki.sh DIR [--server-ip IP]... [CELL_IP]...}; shift
server_sans="DNS:localhost,IP:127.0.0.1"
cells=()
while [ $# -gt 0 ]; do
  case "$1" in
    --server-ip) server_sans="$server_sans,IP:$2"; shift 2 ;;
    *) cells+=("$1"); shift ;;
  esac
done
mkdir -p "$dir"; cd "$dir"; umask 077

if [ ! -f ca.pem ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=silk development CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
fi

issue() { # name cn sans usage
  local name=$1 cn=$2 sans=$3 usage=$4
  # Kept across runs, unless it was issued for other names.
  if [ -f "$name.pem" ] && [ "$(cat "$name.sans" 2>/dev/null)" = "$sans" ]; then return 0; fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$cn" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$sans" "$usage" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  echo "$sans" > "$name.sans"
}

issue server silk-controller "$server_sans" serverAuth
issue operator silk-operator "DNS:silk-operator" clientAuth
for ip in "${cells[@]}"; do
  issue "cell-$ip" "$ip" "IP:$ip" clientAuth
done
chmod 644 ./*.pem
chmod 600 ./*-key.pem
