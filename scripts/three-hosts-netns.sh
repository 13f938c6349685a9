#!/usr/bin/env bash
# The three-hosts example of the README, run on one machine: each network
# namespace mpcnetK (scripts/wan-netns.sh up) stands for host K, with its
# own directory standing for its disk. Root only; not run in CI.
#
#   scripts/wan-netns.sh up && scripts/three-hosts-netns.sh [DIR] ; scripts/wan-netns.sh down
#
# The job is a product benchmark (mul 1000), or with MPCNET_MODEL=DIR secure
# inference of that model (3 parties, truncation ReLU, 64 test images; the
# model's path is the same on every "host" here, as it must be on real ones),
# and P1, the data owner, prints the accuracy.
#
# Only certificates and the session config travel between the "hosts"; each
# private key stays in its host's directory. On real machines run the same
# commands without `ip netns exec mpcnetK`, with the hosts' own addresses,
# and copy the files with scp (the config over a private channel: it holds
# the session key). Exits 0 when all three parties exit 0 and agree.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
HOSTS=10.77.0.1,10.77.0.2,10.77.0.3
die() { echo "three-hosts: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (ip netns exec)"
for k in 0 1 2; do
  [ -e "/run/netns/mpcnet$k" ] || die "namespace mpcnet$k is missing: run scripts/wan-netns.sh up first"
done
[ -f "$CLI" ] || die "$CLI is missing: run npm run build"
WORK=${1:-$(mktemp -d /tmp/mpcnet-three-hosts.XXXXXX)}
mkdir -p "$WORK"
mpcnet_on() { # mpcnet_on K ARGS...: `mpcnet ARGS` on host K, in its directory
  local k=$1; shift
  (cd "$WORK/host$k" && ip netns exec "mpcnet$k" node "$CLI" "$@")
}

echo "== 1. each host makes its own key pair (the key never leaves it)"
for k in 0 1 2; do
  mkdir -p "$WORK/host$k"
  mpcnet_on "$k" keygen --id "$k" --dir .
done

echo "== 2. the certificates go to whoever writes the session config (host 0 here)"
cp "$WORK/host1/P1.cert.pem" "$WORK/host2/P2.cert.pem" "$WORK/host0/"

echo "== 3. host 0 writes the session config, pinning the three certificates"
JOB=()
if [ -n "${MPCNET_MODEL:-}" ]; then JOB=(--model "$(cd "$MPCNET_MODEL" && pwd)" --parties 3 --n 64 --batch 64); fi
mpcnet_on 0 session --out session.json --hosts "$HOSTS" --ports 9000,9000,9000 \
  --certs P0.cert.pem,P1.cert.pem,P2.cert.pem --start-window 60 "${JOB[@]}"

echo "== 4. the config goes to hosts 1 and 2 (privately: it holds the session key)"
cp "$WORK/host0/session.json" "$WORK/host1/"
cp "$WORK/host0/session.json" "$WORK/host2/"

echo "== 5. a party started with another party's key is refused before it connects"
if mpcnet_on 1 party --id 1 --config session.json --key ../host0/P0.key.pem >/dev/null 2>"$WORK/wrong-key.err"; then
  die "P1 started with P0's key was not refused"
fi
echo "refused: $(tail -n 1 "$WORK/wrong-key.err")"

echo "== 6. each host starts its party (all three within the 60 s start window)"
pids=()
for k in 0 1 2; do
  mpcnet_on "$k" party --id "$k" --config session.json --key "P$k.key.pem" --out result.json 2>"$WORK/host$k/party.err" &
  pids+=($!)
done
status=0
for k in 0 1 2; do
  if wait "${pids[$k]}"; then echo "P$k exited 0"; else rc=$?; echo "P$k exited $rc: $(tail -n 3 "$WORK/host$k/party.err")"; status=1; fi
done
[ "$status" = 0 ] || die "a party failed (logs in $WORK/host*/party.err)"
node -e '
  const [a, b, c] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
  const s = (r) => `P${r.id} ${r.role}, ${r.seconds.toFixed(2)} s`;
  if (a.id !== 0 || b.id !== 1 || c.id !== 2) { console.error("three-hosts: results have the wrong ids"); process.exit(1); }
  console.log(`results: ${[a, b, c].map(s).join("; ")}`);
  if (b.output && typeof b.output.correct === "number") console.log(`P1 (data owner): ${b.output.correct}/${b.output.n} correct`);
' "$WORK/host0/result.json" "$WORK/host1/result.json" "$WORK/host2/result.json"
echo "three-hosts: all three parties exited 0 (files in $WORK)"
