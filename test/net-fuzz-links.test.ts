/**
 * Fuzzing the party's receive path and handshake (issue 11, item 2), part c:
 * authenticated links, with fast-check properties.
 *
 * A raw client does the real handshake with the session key, sends a few
 * honest messages, then malformed headers and payloads (junk, fields of the
 * wrong type or unknown, payloads of the wrong length, seq gaps, frames
 * after bye) or breaks the WebSocket framing: the link fails with a
 * MeshError of kind 'malformed' naming the peer, the receive waiting on it
 * ends with that error, and later receives fail at once with the same one.
 * A party that holds the key can still be buggy or compromised, and must
 * not crash or confuse its peer. The other parts: net-fuzz-decoders (a),
 * net-fuzz-preauth (b) and net-fuzz-dialer (b'); shared generators in
 * helpers/fuzz.ts.
 *
 * Set FUZZ_VERBOSE=1 for every figure.
 *
 * vitest fails the file on any unhandled exception or rejection, so "the
 * node never dies of an unhandled exception" is checked throughout.
 *
 * Figures (sequences per attack, fatal errors by kind, time) are printed at
 * the end of the file. Seeds are fixed (FUZZ_SEED overrides) so that a run
 * is reproducible; fast-check prints the counterexample and its seed/path.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeHeader, encodeByeHeader, packValue, type MsgHeader } from '../src/net/frames.js';
import { MeshError, MeshNode } from '../src/net/index.js';
import {
  REFUSAL_DEADLINE_MS,
  RawClient,
  SEED,
  SESSION,
  UNSAFE,
  badFraming,
  briefFrame,
  check,
  extraKey,
  figures,
  junkFrame,
  kindOf,
  mapBytes,
  mp,
  nastyString,
  printFigures,
  printable,
  validTag,
  weirdValue,
  type FrameSpec,
} from './helpers/fuzz.js';

afterAll(() => printFigures('links'));

// ------------------------------------------------------------------ c. after authentication

const POST_MAX_PAYLOAD = 1 << 16;
const POST_MAX_HEADER = 2048;

interface Attack {
  label: string;
  frames: FrameSpec[];
  /** The recv('x') waiting on the link ends with 'closed' (a bye) rather than the fatal error. */
  bye?: boolean;
}

const bin = (payload: Uint8Array): FrameSpec => ({ opcode: 2, payload });
const hdr = (h: Partial<MsgHeader> & Record<string, unknown>): Buffer => packValue({ k: 'msg', t: 'x', s: 0, n: null, c: 'online', d: 1, ...h });

function decodesAsHeader(b: Uint8Array): boolean {
  try {
    decodeHeader(b, POST_MAX_PAYLOAD);
    return true;
  } catch {
    return false;
  }
}

const attack: fc.Arbitrary<Attack> = fc.oneof(
  { weight: 4, arbitrary: junkFrame.filter((f) => !decodesAsHeader(f.bytes)).map((f): Attack => ({ label: `header: ${f.label}`, frames: [bin(f.bytes)] })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('t', 's', 'n', 'c', 'd', 'k'), weirdValue)
      .map(([field, value]) => mapBytes([['k', 'msg'], ['t', 'x'], ['s', 0], ['n', null], ['c', 'online'], ['d', 1]].map(([k, v]): [Uint8Array, Uint8Array] => [mp(k), k === field ? value : mp(v)])))
      .filter((b) => !decodesAsHeader(b))
      .map((b): Attack => ({ label: 'header with a field of the wrong type', frames: [bin(b)] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(extraKey.filter((k) => !['k', 't', 's', 'n', 'c', 'd', 'm'].includes(k)), fc.jsonValue({ maxDepth: 1 }))
      .map(([key, v]): Attack => ({ label: 'header with an unknown field', frames: [bin(hdr({ [key]: v }))] })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 5000 }))
      .filter(([n, got]) => n !== got)
      .map(([n, got]): Attack => ({ label: 'payload of the wrong length', frames: [bin(hdr({ n })), bin(Buffer.alloc(got))] })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }).map((n): Attack => ({ label: 'text frame as payload', frames: [bin(hdr({ n })), { opcode: 1, payload: Buffer.alloc(n, 0x61) }] })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: POST_MAX_PAYLOAD + 1, max: Number.MAX_SAFE_INTEGER }).map((n): Attack => ({ label: 'announced payload over maxPayloadBytes', frames: [bin(hdr({ n }))] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.oneof(validTag, nastyString.filter((s) => s.length > 0)))
      .map(([s, t]): Attack => ({ label: 'seq gap', frames: [bin(hdr({ s, t }))] })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: POST_MAX_HEADER + 1, maxLength: 3 * POST_MAX_HEADER }).map((b): Attack => ({ label: 'stray frame over maxHeaderBytes', frames: [bin(b)] })) },
  { weight: 1, arbitrary: nastyString.map((s): Attack => ({ label: 'text frame', frames: [{ opcode: 1, payload: Buffer.from(s) }] })) },
  { weight: 1, arbitrary: junkFrame.map((f): Attack => ({ label: 'frame after bye', frames: [bin(encodeByeHeader()), bin(f.bytes)], bye: true })) },
  {
    weight: 2,
    arbitrary: badFraming
      .filter((b) => !(b.label === 'declared length over maxPayload' && b.frame.declared! <= BigInt(POST_MAX_PAYLOAD)))
      .map((b): Attack => ({ label: `ws framing: ${b.label}`, frames: [b.frame] })),
  },
  { weight: 1, arbitrary: fc.constant<Attack>({ label: 'ws framing: declared length over maxPayload', frames: [{ opcode: 2, declared: BigInt(POST_MAX_PAYLOAD) + 1n, payload: Buffer.alloc(4) }] }) },
);

const postCase = fc
  .record({ preamble: fc.integer({ min: 0, max: 2 }), attack })
  .map((c) => printable(c, () => `preamble ${c.preamble}, '${c.attack.label}' [${c.attack.frames.map(briefFrame).join(', ')}]`));

async function runPostAuthCase(c: { preamble: number; attack: Attack }): Promise<void> {
  const sessionKey = randomBytes(32);
  const node = await MeshNode.listen({
    self: 0,
    partyCount: 2,
    sessionId: SESSION,
    sessionKey,
    maxPayloadBytes: POST_MAX_PAYLOAD,
    maxHeaderBytes: POST_MAX_HEADER,
    log: () => {},
  });
  const fatal: Error[] = [];
  node.onFatal((e) => fatal.push(e));
  let client: RawClient | null = null;
  try {
    const connected = node.connect([{ id: 0, host: '127.0.0.1', port: node.port }]);
    client = await RawClient.open(node.port);
    await client.handshake(SESSION, sessionKey, 1, 0);
    const mesh = await connected;
    // a few honest messages first: the link is in use when the bad frame comes
    for (let i = 0; i < c.preamble; i++) {
      client.send(bin(hdr({ t: 'pre', s: i, n: 8 })));
      client.send(bin(Buffer.alloc(8, i)));
    }
    for (let i = 0; i < c.preamble; i++) expect((await mesh.recv(1, 'pre')).payload!.byteLength).toBe(8);
    const waiting = mesh.recv(1, 'x').then(
      () => null,
      (e: unknown) => e,
    );
    for (const f of c.attack.frames) client.send(f);
    const ended = await Promise.race([waiting, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), REFUSAL_DEADLINE_MS))]);
    const c0 = client;
    await c0.until(() => fatal.length > 0, REFUSAL_DEADLINE_MS, `a fatal error after '${c.attack.label}'`);
    const err = fatal[0]!;
    check(fatal.length === 1, `${c.attack.label}: ${fatal.length} fatal errors`);
    check(err instanceof MeshError && err.kind === 'malformed' && err.peer === 1, `${c.attack.label}: fatal ${err.name} ${(err as MeshError).kind}: ${err.message}`);
    check(err.message.startsWith('malformed frame from P1: '), `${c.attack.label}: message ${JSON.stringify(err.message)}`);
    check(!UNSAFE.test(err.message), `${c.attack.label}: unescaped peer text in ${JSON.stringify(err.message)}`);
    if (c.attack.bye) {
      check(ended instanceof MeshError && ended.kind === 'closed', `${c.attack.label}: the waiting recv ended with ${String(ended)}`);
    } else {
      check(ended === err, `${c.attack.label}: the waiting recv ended with ${String(ended)}, not the fatal error`);
    }
    // later receives from that peer fail at once with the same error
    await expect(mesh.recv(1, 'later')).rejects.toBe(err);
    await c0.until(() => c0.ended || c0.closeFrame !== null, REFUSAL_DEADLINE_MS, 'the node to close the link');
    figures.postAuthErrors.add(kindOf(err.message));
  } finally {
    client?.destroy();
    node.abort();
  }
}

describe('net fuzz: after authentication', () => {
  it(
    'a malformed header or payload from an authenticated peer fails that link as malformed, naming the peer',
    async () => {
      const t0 = Date.now();
      const PAIRS = 4;
      const RUNS = 100;
      await fc.assert(
        fc.asyncProperty(fc.array(postCase, { minLength: PAIRS, maxLength: PAIRS }), async (cases) => {
          for (const c of cases) figures.postAuthFrames.add(c.attack.label);
          await Promise.all(cases.map((c) => runPostAuthCase(c)));
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
      );
      figures.times.push(`c. authenticated links (${PAIRS * RUNS} pairs): ${Date.now() - t0} ms`);
    },
    120_000,
  );
});
