#!/usr/bin/env bash
# A three-host network on one machine for mpcnet's WAN benchmark and the
# three-hosts example (root only; not run in CI).
#
#   scripts/wan-netns.sh up                     namespaces mpcnet0..2 on a bridge, 10.77.0.1..3/24
#   scripts/wan-netns.sh shape DELAY_MS RATE_MBIT  delay and rate limit on every party's link (shape 0 0: none)
#   scripts/wan-netns.sh status                 what is set up, and the shaping
#   scripts/wan-netns.sh env                    the launcher's MPCNET_PARTY_NETNS / MPCNET_PARTY_HOSTS
#   scripts/wan-netns.sh down                   remove everything (safe to run twice)
#
# Layout: party namespace mpcnetK holds eth0 = 10.77.0.(K+1)/24 and its
# loopback; the other end of its veth pair sits on bridge br0 in a fourth
# namespace, mpcnet-br (so the host's own network and firewall are never
# touched). `shape X Y` delays every packet a party sends by X ms and sends
# at most Y Mbit/s out of each party (`netem delay Xms rate Ymbit` on each
# party's eth0, or the same model in scripts/wan-wire.c where the kernel has
# no netem): one-way delay X ms between any two parties, round-trip time 2X.
#
# Run a party inside: ip netns exec mpcnet1 node dist/src/cli/main.js ...
# The launcher does this itself when MPCNET_PARTY_NETNS / MPCNET_PARTY_HOSTS
# are set (src/mpc/launcher.ts); `env` prints them.
set -Eeuo pipefail

NS=(mpcnet0 mpcnet1 mpcnet2)
BR_NS=mpcnet-br
ADDR=(10.77.0.1 10.77.0.2 10.77.0.3)
# Packets that may wait for a sender's link (netem's default): more than the
# bandwidth-delay product of 100 ms RTT at 100 Mbit/s (~860 full-size frames).
NETEM_LIMIT=1000
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "wan-netns: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "needs root (ip netns, veth pairs, tc or a TUN device)"; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

cmd_up() {
  need_root
  local all=1 any=0 n
  for n in "$BR_NS" "${NS[@]}"; do
    if ns_exists "$n"; then any=1; else all=0; fi
  done
  if [ "$all" = 1 ]; then
    echo "wan-netns: already up (${NS[*]} on $BR_NS); 'down' first to rebuild"
    return 0
  fi
  [ "$any" = 0 ] || die "half set up (some of $BR_NS ${NS[*]} exist): run '$0 down' first"
  # Anything that fails below leaves a partial setup: take it away again.
  trap 'echo "wan-netns: up failed; removing what was made" >&2; cmd_down >/dev/null 2>&1 || true' ERR
  ip netns add "$BR_NS"
  ip -n "$BR_NS" link set lo up
  ip -n "$BR_NS" link add br0 type bridge
  ip -n "$BR_NS" link set br0 up
  local k
  for k in 0 1 2; do
    ip netns add "${NS[$k]}"
    ip -n "${NS[$k]}" link set lo up
    # Made in the party namespace, peer end moved to the bridge namespace.
    ip -n "${NS[$k]}" link add eth0 type veth peer name "p$k" netns "$BR_NS"
    ip -n "$BR_NS" link set "p$k" master br0
    ip -n "$BR_NS" link set "p$k" up
    ip -n "${NS[$k]}" addr add "${ADDR[$k]}/24" dev eth0
    ip -n "${NS[$k]}" link set eth0 up
  done
  trap - ERR
  echo "wan-netns: up: ${NS[0]} ${ADDR[0]}, ${NS[1]} ${ADDR[1]}, ${NS[2]} ${ADDR[2]} (bridge in $BR_NS); no shaping"
}

cmd_down() {
  need_root
  local n gone=0
  wire_stop
  # Deleting a namespace deletes its end of each veth pair, and so the pair.
  for n in "${NS[@]}" "$BR_NS"; do
    if ns_exists "$n"; then ip netns del "$n"; gone=$((gone + 1)); fi
  done
  rm -rf "$STATE"
  echo "wan-netns: down ($gone namespace(s) removed)"
}

check_up() {
  local n
  for n in "$BR_NS" "${NS[@]}"; do
    ns_exists "$n" || die "namespace $n is missing: run '$0 up' first"
  done
}

# Kernels without sch_netem (this repo's dev VM) get the same shaping from
# scripts/wan-wire.c, a userspace delay line over a TUN device per
# namespace: /32 routes send the party-to-party traffic through it, and
# removing it (shape 0 0, down) puts the traffic back on the veth pairs.
# WAN_ENGINE=netem|wire picks one; default: netem when the kernel has it.
WIRE_SRC="$ROOT/scripts/wan-wire.c"
WIRE_BIN="$ROOT/build/wan-wire"
STATE=/run/mpcnet-wan

# Called with no qdisc on the links: try one, take it away again.
have_netem() {
  tc -n "${NS[0]}" qdisc add dev eth0 root netem delay 1ms 2>/dev/null || return 1
  tc -n "${NS[0]}" qdisc del dev eth0 root 2>/dev/null || true
}

wire_stop() {
  [ -f "$STATE/wire.pid" ] || return 0
  local pid
  pid=$(cat "$STATE/wire.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$STATE/wire.pid"
}

wire_start() {
  local delay=$1 rate=$2 k j
  mkdir -p "$STATE" "$(dirname "$WIRE_BIN")"
  if [ ! -x "$WIRE_BIN" ] || [ "$WIRE_SRC" -nt "$WIRE_BIN" ]; then
    command -v cc >/dev/null || die "no netem in this kernel and no C compiler for $WIRE_SRC"
    cc -O2 -Wall -Wextra -o "$WIRE_BIN" "$WIRE_SRC" || die "could not compile $WIRE_SRC"
  fi
  local args=()
  for k in 0 1 2; do args+=("${NS[$k]}" "${ADDR[$k]}"); done
  : > "$STATE/wire.log"
  setsid "$WIRE_BIN" "$delay" "$rate" "$NETEM_LIMIT" "${args[@]}" >>"$STATE/wire.log" 2>&1 < /dev/null &
  echo $! > "$STATE/wire.pid"
  for _ in $(seq 50); do grep -q '^ready' "$STATE/wire.log" && break; sleep 0.1; done
  grep -q '^ready' "$STATE/wire.log" || { wire_stop; die "wan-wire did not start: $(cat "$STATE/wire.log")"; }
  for k in 0 1 2; do
    ip -n "${NS[$k]}" link set tun0 txqueuelen 1000 up
    for j in 0 1 2; do
      [ "$j" = "$k" ] || ip -n "${NS[$k]}" route replace "${ADDR[$j]}/32" dev tun0 src "${ADDR[$k]}"
    done
  done
}

cmd_shape() {
  need_root
  [ $# = 2 ] || die "usage: $0 shape DELAY_MS RATE_MBIT (shape 0 0: no shaping)"
  local delay=$1 rate=$2 k engine
  [[ "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "DELAY_MS must be a number of milliseconds >= 0, got '$delay'"
  [[ "$rate" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "RATE_MBIT must be a number of Mbit/s >= 0 (0: unlimited), got '$rate'"
  check_up
  # Whatever was there before goes first.
  wire_stop
  for k in 0 1 2; do tc -n "${NS[$k]}" qdisc del dev eth0 root 2>/dev/null || true; done
  if [ "$delay" = 0 ] && [ "$rate" = 0 ]; then
    echo "wan-netns: no shaping (LAN: veth pairs and a bridge)"
    return 0
  fi
  engine=${WAN_ENGINE:-}
  if [ -z "$engine" ]; then if have_netem; then engine=netem; else engine=wire; fi; fi
  case "$engine" in
    netem)
      for k in 0 1 2; do
        local args=(netem limit "$NETEM_LIMIT" delay "${delay}ms")
        [ "$rate" = 0 ] || args+=(rate "${rate}mbit")
        tc -n "${NS[$k]}" qdisc replace dev eth0 root "${args[@]}" \
          || die "tc netem failed on ${NS[$k]} (no sch_netem in this kernel?): leave WAN_ENGINE unset or set it to wire"
      done ;;
    wire) wire_start "$delay" "$rate" ;;
    *) die "WAN_ENGINE must be netem or wire, got '$engine'" ;;
  esac
  echo "wan-netns: each party sends with ${delay} ms delay$([ "$rate" = 0 ] || echo " at ${rate} Mbit/s") ($engine): RTT $(awk "BEGIN{print 2*$delay}") ms between any two"
}

cmd_status() {
  need_root
  local k
  for k in 0 1 2; do
    if ns_exists "${NS[$k]}"; then
      echo "${NS[$k]} ${ADDR[$k]}: eth0 $(tc -n "${NS[$k]}" qdisc show dev eth0 root | head -n 1)$(ip -n "${NS[$k]}" -br link show tun0 2>/dev/null | awk '{print "; tun0 " $2 " (wan-wire)"}')"
    else
      echo "${NS[$k]}: missing"
    fi
  done
}

cmd_env() {
  echo "export MPCNET_PARTY_NETNS=$(IFS=,; echo "${NS[*]}")"
  echo "export MPCNET_PARTY_HOSTS=$(IFS=,; echo "${ADDR[*]}")"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  shape) shift; cmd_shape "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "usage: $0 up | down | shape DELAY_MS RATE_MBIT | status | env" ;;
esac
