/**
 * Throughput check of the mesh between two party processes on this machine:
 * small round trips, 16 MB one way, 16 MB both ways at once. Not a test: it
 * prints numbers.
 *
 *   node dist/bench/net-throughput.js [--mb 16] [--reps 10] [--tls]
 *
 * --tls: each child makes its own key and certificate and the mesh runs
 * over wss with them pinned (as sessions do); without it, plain ws.
 *
 * The parent forks two children of this same file (like the launcher does),
 * collects their ports over IPC, hands out the peer list and prints what the
 * children measured.
 */
import { median } from '../src/common/stats.js';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { generateIdentity } from '../src/net/identity.js';
import { MeshNode } from '../src/net/mesh.js';
import type { Mesh, PeerAddress } from '../src/net/types.js';

interface Init {
  sessionId: string;
  keyHex: string;
  mb: number;
  reps: number;
  tls: boolean;
}

type ParentMsg = { init: Init } | { peers: PeerAddress[] };
type ChildMsg = { port: number; cert?: string } | { results: Results };

interface Results {
  smallRoundTripMs: number;
  oneWayMs: number[];
  bothWaysMs: number[];
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function nextMessage<T>(proc: NodeJS.Process | ChildProcess): Promise<T> {
  return new Promise((resolve) => proc.once('message', (m) => resolve(m as T)));
}


async function barrier(mesh: Mesh, other: number): Promise<void> {
  mesh.send(other, 'barrier', null, { cls: 'dealer' });
  await mesh.recv(other, 'barrier');
}

async function child(self: number): Promise<void> {
  const { init } = await nextMessage<{ init: Init }>(process);
  const tls = init.tls ? await generateIdentity(self) : undefined;
  const node = await MeshNode.listen({
    self,
    partyCount: 2,
    sessionId: init.sessionId,
    sessionKey: Buffer.from(init.keyHex, 'hex'),
    ...(tls ? { tls } : {}),
  });
  process.send!({ port: node.port, ...(tls ? { cert: tls.certPem } : {}) } satisfies ChildMsg);
  const { peers } = await nextMessage<{ peers: PeerAddress[] }>(process);
  const mesh = await node.connect(peers);
  mesh.onFatal((e) => {
    console.error(`P${self}: ${e.message}`);
    process.exit(1);
  });
  const other = 1 - self;
  const bytes = init.mb << 20;
  const data = new Uint8Array(randomBytes(bytes).buffer, 0, bytes);
  const results: Results = { smallRoundTripMs: 0, oneWayMs: [], bothWaysMs: [] };

  // small round trips (P0 pings, P1 answers)
  const small = new BigUint64Array(1);
  const pingPong = async (trips: number): Promise<number> => {
    await barrier(mesh, other);
    const t0 = performance.now();
    for (let i = 0; i < trips; i++) {
      if (self === 0) {
        mesh.send(1, 'ping', small);
        await mesh.recv(1, 'pong');
      } else {
        await mesh.recv(0, 'ping');
        mesh.send(0, 'pong', small);
      }
    }
    return (performance.now() - t0) / trips;
  };
  await pingPong(1000); // warm-up (JIT)
  results.smallRoundTripMs = await pingPong(3000);

  // one way: P0 sends, P1 acknowledges with a small message (timed at P0)
  for (let r = 0; r < init.reps + 1; r++) {
    await barrier(mesh, other);
    if (self === 0) {
      const t = performance.now();
      mesh.send(1, 'bulk1', data);
      await mesh.recv(1, 'ack');
      if (r > 0) results.oneWayMs.push(performance.now() - t);
    } else {
      const m = await mesh.recv(0, 'bulk1');
      if (m.payload!.byteLength !== bytes) throw new Error('short payload');
      mesh.send(0, 'ack', null);
    }
  }

  // both ways at once (timed on each side from send to own receive)
  for (let r = 0; r < init.reps + 1; r++) {
    await barrier(mesh, other);
    const t = performance.now();
    mesh.send(other, 'bulk2', data);
    const m = await mesh.recv(other, 'bulk2');
    const dt = performance.now() - t;
    if (m.payload!.byteLength !== bytes || m.payload!.byteOffset % 8 !== 0) throw new Error('bad payload');
    if (r > 0) results.bothWaysMs.push(dt);
  }
  await mesh.flush();
  process.send!({ results } satisfies ChildMsg);
  await barrier(mesh, other);
  await mesh.close();
}

async function parent(): Promise<void> {
  const init: Init = { sessionId: `tput-${Date.now()}`, keyHex: randomBytes(32).toString('hex'), mb: arg('mb', 16), reps: arg('reps', 10), tls: process.argv.includes('--tls') };
  const file = fileURLToPath(import.meta.url);
  const kids = [0, 1].map((id) => fork(file, ['--party', String(id)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const exits = kids.map(
    (k, id) =>
      new Promise<void>((resolve, reject) =>
        k.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`P${id} exited with code ${code}`)))),
      ),
  );
  const ports = kids.map((k) => nextMessage<{ port: number; cert?: string }>(k));
  for (const k of kids) k.send({ init } satisfies ParentMsg);
  const peers: PeerAddress[] = (await Promise.all(ports)).map((p, id) => ({ id, host: '127.0.0.1', port: p.port, ...(p.cert ? { cert: p.cert } : {}) }));
  const results = kids.map((k) => nextMessage<{ results: Results }>(k));
  for (const k of kids) k.send({ peers } satisfies ParentMsg);
  const [r0, r1] = (await Promise.all(results)).map((r) => r.results) as [Results, Results];
  await Promise.all(exits);
  const f = (x: number) => x.toFixed(1);
  const both = r0.bothWaysMs.map((x, i) => Math.max(x, r1.bothWaysMs[i]!));
  console.log(`mesh throughput (${init.tls ? 'wss, pinned certificates' : 'plain ws'}), 2 processes on loopback, ${init.mb} MB payloads, ${init.reps} reps (median / min):`);
  console.log(`  small round trip (8 B)      ${(r0.smallRoundTripMs * 1000).toFixed(0)} us`);
  console.log(`  ${init.mb} MB one way (+ small ack) ${f(median(r0.oneWayMs))} / ${f(Math.min(...r0.oneWayMs))} ms  (${f((init.mb / 1024 / median(r0.oneWayMs)) * 1000)} GB/s)`);
  console.log(`  ${init.mb} MB both ways at once    ${f(median(both))} / ${f(Math.min(...both))} ms`);
}

const partyIdx = process.argv.indexOf('--party');
if (partyIdx >= 0) {
  child(Number(process.argv[partyIdx + 1])).then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e);
      process.exit(1);
    },
  );
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  parent().catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
}
