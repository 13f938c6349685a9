/**
 * Fuzzing the party's receive path and handshake (issue 11, item 2), part b:
 * a real listening MeshNode, before authentication, over real sockets, with
 * fast-check properties.
 *
 * ws clients send junk binary and text messages, type-confused hellos,
 * hellos with extra fields, close frames with hostile reasons; raw TCP
 * clients write WebSocket frames by hand (truncated, bad opcodes, huge
 * declared lengths, unmasked, fragmented control frames, ...). Every
 * connection is refused with a reason (onRejected), nothing a peer sends
 * reaches the log or a reason unescaped, memory stays bounded, and an honest
 * pair still connects afterwards. Anyone who can reach a party's port can
 * do this, with no key, so this is the most exposed surface of the node;
 * a frame announcing 1 GiB is also checked to be cut off at a few KiB. The
 * other parts: net-fuzz-decoders (a), net-fuzz-dialer (b') and
 * net-fuzz-links (c); shared generators in helpers/fuzz.ts.
 *
 * Set FUZZ_VERBOSE=1 for every figure.
 *
 * vitest fails the file on any unhandled exception or rejection, so "the
 * node never dies of an unhandled exception" is checked throughout.
 *
 * Figures (frames per case, reasons by kind, memory, time) are printed at
 * the end of the file. Seeds are fixed (FUZZ_SEED overrides) so that a run
 * is reproducible; fast-check prints the counterexample and its seed/path.
 */
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameError, packValue } from '../src/net/frames.js';
import { HANDSHAKE_VERSION, MAX_HANDSHAKE_BYTES, decodeAuth, decodeChallenge, decodeHello, newNonce } from '../src/net/handshake.js';
import { MeshNode, type Mesh, type Rejection } from '../src/net/index.js';
import {
  CONTROL,
  REFUSAL_DEADLINE_MS,
  RawClient,
  SEED,
  SESSION,
  UNSAFE,
  badFraming,
  binaryPayload,
  briefFrame,
  check,
  closeFrame,
  encodeFrame,
  extraKey,
  figures,
  hexBrief,
  junkFrame,
  kindOf,
  mapBytes,
  mp,
  nastyString,
  printFigures,
  printable,
  u8,
  weirdValue,
  type FrameSpec,
} from './helpers/fuzz.js';

afterAll(() => printFigures('preauth'));

// ------------------------------------------------------------------ memory

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
}

function memNow(): Mem {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

async function settledMem(): Promise<Mem> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return memNow();
}

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Peak RSS and heap while `run` goes (sampled every 10 ms). */
async function withPeak<T>(run: () => Promise<T>): Promise<{ result: T; peak: Mem }> {
  const peak = memNow();
  const sample = (): void => {
    const m = memNow();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  };
  const iv = setInterval(sample, 10);
  try {
    const result = await run();
    sample();
    return { result, peak };
  } finally {
    clearInterval(iv);
  }
}

// ------------------------------------------------------------------ b. before authentication

type Finish = 'end' | 'stall' | 'destroy';

interface RawCase {
  kind: 'raw';
  label: string;
  frames: FrameSpec[];
  /** Bytes written after the frames (stream noise). */
  tail?: Uint8Array;
  finish: Finish;
  /** The frame breaks the WebSocket framing (ws itself refuses it). */
  framing?: boolean;
}

interface WsCase {
  kind: 'ws';
  label: string;
  messages: Array<{ binary: Uint8Array } | { text: string }>;
  finish: 'wait' | 'terminate' | { code: number; reason: string };
  /** The reason the node must give (the first message is then decided by decodeHello alone). */
  expected?: string;
  /** Send the first message, wait for the node's challenge, then send the rest. */
  awaitChallenge?: boolean;
}

type SocketCase = RawCase | WsCase;

const finish = fc.constantFrom<Finish>('end', 'end', 'end', 'destroy', 'stall');
const helloBytes = (over: Record<string, unknown> = {}): Buffer =>
  packValue({ k: 'hello', v: HANDSHAKE_VERSION, sid: SESSION, from: 1, to: 0, nonce: newNonce(), ...over });

/** Raw-frame cases before authentication. */
const rawCase: fc.Arbitrary<RawCase> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(badFraming, finish).map(([b, f]): RawCase => ({ kind: 'raw', label: b.label, frames: [b.frame], finish: f, framing: true })) },
  {
    // a frame announcing far more than it sends: the node must stop reading at a few KiB
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(126n, 65_535n, 65_536n, 1n << 20n, 1n << 30n, 2n ** 31n), fc.integer({ min: 0, max: 24 * 1024 }), finish)
      .map(([declared, sent, f]): RawCase => ({ kind: 'raw', label: 'huge declared length, streamed in part', frames: [{ opcode: 2, declared, payload: randomBytes(Math.min(sent, Number(declared))) }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom<Finish>('end', 'destroy', 'stall'))
      .map(([at, f]): RawCase => {
        const whole = encodeFrame({ opcode: 2, payload: helloBytes() });
        return { kind: 'raw', label: 'truncated hello frame', frames: [{ opcode: 2, payload: helloBytes(), cut: Math.floor(at * (whole.length - 1)) }], finish: f };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.boolean(), finish)
      .map(([split, finishIt, f]): RawCase => {
        const hello = helloBytes({ from: 9 });
        const s = Math.min(split, hello.length - 1);
        const frames: FrameSpec[] = [{ opcode: 2, fin: false, payload: hello.subarray(0, s) }];
        if (finishIt) frames.push({ opcode: 0, payload: hello.subarray(s) });
        return { kind: 'raw', label: finishIt ? 'fragmented hello' : 'unfinished fragmented hello', frames, finish: f };
      }),
  },
  { weight: 2, arbitrary: fc.tuple(binaryPayload, finish).map(([p, f]): RawCase => ({ kind: 'raw', label: 'junk binary frame', frames: [{ opcode: 2, payload: p }], finish: f })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uint8Array({ maxLength: 64 }), finish).map(([p, f]): RawCase => ({ kind: 'raw', label: 'text frame, invalid UTF-8 allowed', frames: [{ opcode: 1, payload: p }], finish: f })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 200 }), finish)
      .map(([tail, f]): RawCase => ({ kind: 'raw', label: 'random stream bytes', frames: [], tail, finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(1000, 1001, 1008, 1011, 3000, 4000, 4999), nastyString)
      .map(([code, reason]): RawCase => {
        let r = Buffer.from(reason);
        if (r.length > 123) r = r.subarray(0, 123);
        return { kind: 'raw', label: `close frame (${code}) with a hostile reason`, frames: [closeFrame(code, r)], finish: 'end' };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 3 }), finish)
      .map(([n, f]): RawCase => ({ kind: 'raw', label: 'pings, then nothing', frames: Array.from({ length: n }, () => ({ opcode: 9, payload: u8(1, 2) })), finish: f })),
  },
);

/** Hello messages with one field of the wrong type (values a confused or hostile dialer might send). */
const confusedHello = fc
  .tuple(fc.constantFrom('v', 'sid', 'from', 'to', 'nonce', 'k'), weirdValue)
  .map(([field, value]) => {
    const entries: Array<[Uint8Array, Uint8Array]> = [
      [mp('k'), mp('hello')],
      [mp('v'), mp(HANDSHAKE_VERSION)],
      [mp('sid'), mp(SESSION)],
      [mp('from'), mp(1)],
      [mp('to'), mp(0)],
      [mp('nonce'), mp(newNonce())],
    ];
    const i = entries.findIndex(([k]) => Buffer.from(k).equals(mp(field)));
    entries[i] = [entries[i]![0], value];
    return mapBytes(entries);
  });

const wsFinish = fc.oneof(
  { weight: 4, arbitrary: fc.constant<'wait'>('wait') },
  { weight: 1, arbitrary: fc.constant<'terminate'>('terminate') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(1000, 1001, 1008, 1008, 3000, 4000, 4999), nastyString)
      .map(([code, reason]) => ({ code, reason: Buffer.byteLength(reason) <= 123 ? reason : reason.slice(0, 30) }))
      .filter((c) => Buffer.byteLength(c.reason) <= 123),
  },
);

function expectedFromHello(first: Uint8Array): string | undefined {
  try {
    decodeHello(first);
    return undefined; // decodes: the node's own checks decide
  } catch (e) {
    return e instanceof FrameError ? e.message : undefined;
  }
}

/** What the node must say to this frame in the place of the auth message. */
function expectedFromAuth(bytes: Uint8Array): string | undefined {
  try {
    decodeAuth(bytes);
    return 'bad session key'; // a well-formed auth: the MAC cannot be right
  } catch (e) {
    return e instanceof FrameError ? e.message : undefined;
  }
}

/** ws-client cases before authentication: whole messages, as the ws package frames them. */
const wsCase: fc.Arbitrary<WsCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.array(junkFrame, { minLength: 1, maxLength: 3 }), wsFinish)
      .map(([frames, f]): WsCase => ({ kind: 'ws', label: `ws: ${frames[0]!.label}`, messages: frames.map((x) => ({ binary: x.bytes })), finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(confusedHello, wsFinish).map(([b, f]): WsCase => ({ kind: 'ws', label: 'ws: hello with a field of the wrong type', messages: [{ binary: b }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(extraKey.filter((k) => !['k', 'v', 'sid', 'from', 'to', 'nonce'].includes(k)), fc.jsonValue({ maxDepth: 1 }), wsFinish)
      .map(([key, value, f]): WsCase => ({ kind: 'ws', label: 'ws: hello with an extra field', messages: [{ binary: helloBytes({ [key]: value }) }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(junkFrame, { minLength: 1, maxLength: 2 }), wsFinish)
      .map(([frames, f]): WsCase => {
        // the junk goes where the auth belongs, once the challenge has come
        const c: WsCase = { kind: 'ws', label: 'ws: good hello, then junk', messages: [{ binary: helloBytes() }, ...frames.map((x) => ({ binary: x.bytes }))], finish: f, awaitChallenge: true };
        const auth = frames[0]!.bytes;
        if (frames.length === 1 && f !== 'terminate' && auth.byteLength + 14 + 90 <= MAX_HANDSHAKE_BYTES) c.expected = expectedFromAuth(auth);
        return c;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(nastyString, wsFinish).map(([text, f]): WsCase => ({ kind: 'ws', label: 'ws: text message', messages: [{ text }], finish: f })),
  },
).map((c) => {
  const first = c.messages[0];
  // Not when the client terminates at once: its unsent bytes may be dropped with the socket.
  if (first && 'binary' in first && !c.awaitChallenge && c.finish !== 'terminate' && first.binary.byteLength + 14 <= MAX_HANDSHAKE_BYTES) {
    const expected = expectedFromHello(first.binary);
    if (expected !== undefined) return { ...c, expected };
  }
  return c;
});


function briefCase(c: SocketCase): string {
  if (c.kind === 'raw') return `raw '${c.label}' [${c.frames.map(briefFrame).join(', ')}]${c.tail ? ` tail ${hexBrief(c.tail)}` : ''} finish=${c.finish}`;
  const msgs = c.messages.map((m) => ('binary' in m ? `bin ${hexBrief(m.binary)}` : `text ${JSON.stringify(m.text)}`)).join(', ');
  const fin = typeof c.finish === 'string' ? c.finish : `close ${c.finish.code} ${JSON.stringify(c.finish.reason)}`;
  return `ws '${c.label}' [${msgs}] finish=${fin}${c.expected !== undefined ? ` expect ${JSON.stringify(c.expected)}` : ''}`;
}

const socketCase: fc.Arbitrary<SocketCase> = fc
  .oneof({ weight: 1, arbitrary: rawCase }, { weight: 1, arbitrary: wsCase })
  .map((c) => printable(c, () => briefCase(c)));

/**
 * The node under attack, with what it reported. Rejections are matched to
 * connections by the client's port; a port is registered while its
 * connection runs (the kernel reuses ports), and a rejection for a port
 * nobody holds (a duplicate, or one for an unknown connection) is kept in
 * `unclaimed`, which must stay empty.
 */
interface Target {
  node: MeshNode;
  key: Uint8Array;
  logs: string[];
  fatal: Error[];
  live: Map<number, Rejection[]>;
  waiters: Map<number, () => void>;
  unclaimed: Rejection[];
}

function claimPort(t: Target, port: number): void {
  check(port > 0 && !t.live.has(port), `client port ${port} is in use twice`);
  t.live.set(port, []);
}

/** The connection on `port` is over: it must have been refused exactly once. */
function releasePort(t: Target, port: number, label: string): void {
  const list = t.live.get(port) ?? [];
  t.live.delete(port);
  check(list.length === 1, `${label}: refused ${list.length} times: ${JSON.stringify(list.map((r) => r.reason))}`);
}

const FUZZ_HANDSHAKE_TIMEOUT_MS = 250;

function waitRejection(t: Target, port: number): Promise<Rejection> {
  return new Promise((resolve, reject) => {
    const got = (): boolean => {
      const r = t.live.get(port)?.[0];
      if (!r) return false;
      clearTimeout(timer);
      t.waiters.delete(port);
      resolve(r);
      return true;
    };
    const timer = setTimeout(() => {
      t.waiters.delete(port);
      reject(new Error(`no rejection reported for 127.0.0.1:${port} within ${REFUSAL_DEADLINE_MS} ms`));
    }, REFUSAL_DEADLINE_MS);
    if (!got()) t.waiters.set(port, () => void got());
  });
}

function countFrames(c: SocketCase): void {
  if (c.kind === 'raw') figures.socketFrames.add(c.label, Math.max(1, c.frames.length));
  else figures.socketFrames.add(c.label, c.messages.length);
}

function checkReason(r: Rejection, c: SocketCase): void {
  check(typeof r.reason === 'string' && r.reason.length > 0, `${c.label}: empty rejection reason`);
  check(r.side === 'accept', `${c.label}: rejection side ${r.side}`);
  check(!UNSAFE.test(r.reason), `${c.label}: unescaped peer text in the rejection reason ${JSON.stringify(r.reason)}`);
  // A framing error before authentication is refused naming it (ws's own parser error).
  if (c.kind === 'raw' && c.framing && c.finish !== 'destroy')
    check(/WebSocket frame|Max payload size exceeded/.test(r.reason), `${c.label}: refused with ${JSON.stringify(r.reason)}`);
  if (c.kind === 'ws' && c.expected !== undefined) {
    check(r.reason === c.expected, `${c.label}: refused with ${JSON.stringify(r.reason)}, expected ${JSON.stringify(c.expected)}`);
  }
  figures.rejections.add(kindOf(r.reason));
  figures.rejectionsByCase.add(`${c.label} -> ${kindOf(r.reason)}`);
}

async function runRawCase(t: Target, c: RawCase): Promise<void> {
  const client = await RawClient.open(t.node.port);
  claimPort(t, client.localPort);
  try {
    for (const f of c.frames) client.send(f);
    if (c.tail) client.write(c.tail);
    if (c.finish === 'end') client.sock.end();
    else if (c.finish === 'destroy') client.sock.destroy();
    const r = await waitRejection(t, client.localPort);
    checkReason(r, c);
    if (c.finish === 'stall') {
      // the node, not the client, must end a stalled connection
      await client.until(() => client.ended || client.closeFrame !== null, REFUSAL_DEADLINE_MS, 'close after refusal');
    }
  } finally {
    client.destroy();
    releasePort(t, client.localPort, c.label);
  }
}

async function runWsCase(t: Target, c: WsCase): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.node.port}/`, { perMessageDeflate: false, handshakeTimeout: REFUSAL_DEADLINE_MS });
  ws.on('error', () => {});
  let port = 0;
  ws.once('upgrade', (res) => {
    port = res.socket.localPort ?? 0;
    claimPort(t, port);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => reject(new Error('closed before open')));
    });
    for (const [i, m] of c.messages.entries()) {
      if ('binary' in m) ws.send(m.binary, { binary: true });
      else ws.send(m.text, { binary: false });
      if (i === 0 && c.awaitChallenge) {
        const challenge = await new Promise<Buffer | null>((resolve) => {
          ws.once('message', (d) => resolve(d as Buffer));
          ws.once('close', () => resolve(null));
        });
        check(challenge !== null, `${c.label}: closed instead of a challenge`);
        decodeChallenge(challenge);
      }
    }
    if (c.finish === 'terminate') ws.terminate();
    else if (c.finish !== 'wait') ws.close(c.finish.code, c.finish.reason);
    const r = await waitRejection(t, port);
    checkReason(r, c);
    if (c.finish === 'wait') await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${c.label}: not closed after refusal`)), REFUSAL_DEADLINE_MS))]);
  } finally {
    ws.terminate();
    if (port !== 0) releasePort(t, port, c.label);
  }
}

async function runSocketCase(t: Target, c: SocketCase): Promise<void> {
  countFrames(c);
  if (c.kind === 'raw') await runRawCase(t, c);
  else await runWsCase(t, c);
}

describe('net fuzz: before authentication, over real sockets', () => {
  it(
    'every junk connection is refused with a reason, memory stays bounded, and an honest pair connects afterwards',
    async () => {
      const t0 = Date.now();
      const key = randomBytes(32);
      const logs: string[] = [];
      const node = await MeshNode.listen({ self: 0, partyCount: 2, sessionId: SESSION, sessionKey: key, handshakeTimeoutMs: FUZZ_HANDSHAKE_TIMEOUT_MS, log: (l) => logs.push(l) });
      const t: Target = { node, key, logs, fatal: [], live: new Map(), waiters: new Map(), unclaimed: [] };
      node.onFatal((e) => t.fatal.push(e));
      node.onRejected((r) => {
        const port = Number(r.remote.slice(r.remote.lastIndexOf(':') + 1));
        const list = t.live.get(port);
        if (list) list.push(r);
        else t.unclaimed.push(r);
        t.waiters.get(port)?.();
      });
      let p1: MeshNode | null = null;
      try {
        // Concurrent connections per run: below the node's 16 handshake slots, so
        // that no connection is evicted and every one is refused for what it sent.
        const BATCH = 10;
        const RUNS = 100;
        const before = await settledMem();
        let half: Mem | null = null;
        let run = 0;
        const { peak } = await withPeak(async () => {
          await fc.assert(
            fc.asyncProperty(fc.array(socketCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
              await Promise.all(cases.map((c) => runSocketCase(t, c)));
              if (++run === RUNS / 2) half = await settledMem();
            }),
            { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
          );
        });
        // refused sockets are destroyed within their grace period; then nothing may be held
        await new Promise((r) => setTimeout(r, 1_000));
        const after = await settledMem();
        const mid = half ?? after;
        figures.memory.push(
          `b. memory (${figures.socketFrames.total} frames over ${RUNS * BATCH} connections): ` +
            `before rss ${MiB(before.rss)} heap ${MiB(before.heapUsed)}; peak rss ${MiB(peak.rss)} heap ${MiB(peak.heapUsed)} external ${MiB(peak.external)}; ` +
            `after GC rss ${MiB(after.rss)} heap ${MiB(after.heapUsed)} (heap at half way ${MiB(mid.heapUsed)})`,
        );
        // Bounds: the heap after GC may not grow by more than 16 MiB over the
        // whole run nor by more than 8 MiB over its second half (nothing kept
        // per connection), and the peak RSS may exceed the start by at most
        // 256 MiB (the node stops reading an unauthenticated connection at
        // 4 KiB, so the peak is mostly this process's own clients). Measured
        // (1,000 connections, ~1,360 frames, 2 shared cores, 4 seeds): heap
        // after GC +2.4..2.8 MiB (+0.1..0.6 MiB over the second half), peak
        // heap ~36 MiB before GC, peak RSS +4..6 MiB.
        expect(after.heapUsed - before.heapUsed).toBeLessThan(16 * 2 ** 20);
        expect(after.heapUsed - mid.heapUsed).toBeLessThan(8 * 2 ** 20);
        expect(peak.rss - before.rss).toBeLessThan(256 * 2 ** 20);

        // nothing reported twice, nothing fatal, nothing unescaped in the log
        expect(t.unclaimed).toEqual([]);
        expect(t.live.size).toBe(0);
        expect(t.fatal).toEqual([]);
        expect(logs.filter((l) => CONTROL.test(l))).toEqual([]);
        expect(logs.every((l) => l.startsWith('[P0] rejected connection from 127.0.0.1:'))).toBe(true);

        // the node still works: an honest P1 connects and they talk both ways
        p1 = await MeshNode.listen({ self: 1, partyCount: 2, sessionId: SESSION, sessionKey: key, log: () => {} });
        const peers = [
          { id: 0, host: '127.0.0.1', port: node.port },
          { id: 1, host: '127.0.0.1', port: p1.port },
        ];
        const [m0, m1] = (await Promise.all([node.connect(peers), p1.connect(peers)])) as [Mesh, Mesh];
        m1.send(0, 'after-fuzz', Uint8Array.of(1, 2, 3));
        const got = await m0.recv(1, 'after-fuzz');
        m0.send(1, 'reply', got.payload);
        expect(Array.from((await m1.recv(0, 'reply')).payload!)).toEqual([1, 2, 3]);
        expect(t.fatal).toEqual([]);
        figures.times.push(`b. sockets before authentication: ${Date.now() - t0} ms`);
      } finally {
        await Promise.all([node.close(), p1?.close()]);
      }
    },
    120_000,
  );

  it(
    'a frame announcing 1 GiB before authentication is cut off at a few KiB, not buffered',
    async () => {
      const node = await MeshNode.listen({ self: 0, partyCount: 2, sessionId: SESSION, sessionKey: randomBytes(32), log: () => {} });
      const rejected: Rejection[] = [];
      node.onRejected((r) => rejected.push(r));
      try {
        const client = await RawClient.open(node.port);
        const before = await settledMem();
        const { result: written, peak } = await withPeak(async () => {
          client.send({ opcode: 2, declared: 1n << 30n, payload: new Uint8Array(0) });
          const chunk = Buffer.alloc(1 << 20);
          let n = 0;
          // stream up to 256 MiB, as fast as the socket takes it, until the node cuts us off
          while (!client.ended && n < 256 << 20) {
            const ok = client.sock.write(chunk);
            n += chunk.length;
            if (!ok) {
              await new Promise<void>((resolve) => {
                const go = (): void => {
                  client.sock.off('drain', go);
                  client.sock.off('close', go);
                  resolve();
                };
                client.sock.once('drain', go);
                client.sock.once('close', go);
              });
            }
          }
          await client.until(() => client.ended, 5_000, 'the node to drop the connection');
          return n;
        });
        client.destroy();
        figures.memory.push(`b. 1 GiB frame before authentication: ${MiB(written)} written before the node dropped the socket; rss +${MiB(peak.rss - before.rss)} at peak`);
        expect(rejected.map((r) => r.reason)).toEqual([`more than ${MAX_HANDSHAKE_BYTES} bytes before completing the handshake`]);
        // What the kernel's socket buffers hold, not what the node buffered.
        // Measured: 4.0 MiB written, RSS +0 MiB. With mesh.ts as of a982c41
        // (refused sockets read on for a 2 s close grace): all 256 MiB
        // written, RSS +258 MiB, for one connection.
        expect(written).toBeLessThan(64 << 20);
        expect(peak.rss - before.rss).toBeLessThan(128 * 2 ** 20);
      } finally {
        await node.close();
      }
    },
    30_000,
  );
});
