#!/usr/bin/env bash
# Installs the silk CNI plugin into a CNI bin directory (default /opt/cni/bin):
#   cni-plugin/install.sh [DEST] [JAVA_HOME]
# Writes DEST/silk (the launcher the runtime executes), DEST/silk-cni.jar, and DEST/silk-cni.aot,
# an AOT cache (JEP 483/514) made by a training run, which roughly halves the JVM's start-up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-/opt/cni/bin}
java_home=${2:-${JAVA_HOME:?JAVA_HOME (a JDK 25) is required}}
java="$java_home/bin/java"
jar="$here/target/silk-cni.jar"
[ -f "$jar" ] || { echo "install.sh: $jar is missing; build first (./mvnw -pl cni-plugin -am package)" >&2; exit 1; }
mkdir -p "$dest"
cp "$jar" "$dest/silk-cni.jar"
# The flags must be the same when the cache is made and used.
flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xss512k --enable-native-access=ALL-UNNAMED"
rm -f "$dest/silk-cni.aot"
# Training: the plugin's real path (ADD/CHECK/DEL over a unix socket) against a stand-in daemon.
"$java" $flags -XX:AOTCacheOutput="$dest/silk-cni.aot" -cp "$dest/silk-cni.jar" io.silk.cni.SilkCni --train >/dev/null 2>&1 \
  || echo "install.sh: AOT training failed; the plugin works without the cache, only slower" >&2
cat > "$dest/silk" <<LAUNCHER
#!/bin/sh
# silk CNI plugin launcher (written by cni-plugin/install.sh)
exec "$java" $flags -XX:AOTCache="$dest/silk-cni.aot" -Xlog:aot=off -Xlog:cds=off -cp "$dest/silk-cni.jar" io.silk.cni.SilkCni "\$@"
LAUNCHER
chmod 755 "$dest/silk"
