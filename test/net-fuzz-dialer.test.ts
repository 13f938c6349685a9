/**
 * Fuzzing the party's receive path and handshake (issue 11, item 2), part
 * b': the dialer's side of the handshake, with fast-check properties.
 *
 * A dialing MeshNode faces a listener that answers with junk, a bad
 * challenge, junk where 'ok' belongs (after a correct challenge, from a
 * listener with the key) or a close frame with a hostile reason: connect()
 * fails naming the peer and the exact problem, the rejection is reported
 * once on the dial side, and no peer text reaches the error or the log
 * unescaped. A party dials whatever address its config names, so the
 * listener there may be anything. The other parts: net-fuzz-decoders (a),
 * net-fuzz-preauth (b) and net-fuzz-links (c); shared generators in
 * helpers/fuzz.ts.
 *
 * Set FUZZ_VERBOSE=1 for every figure.
 *
 * vitest fails the file on any unhandled exception or rejection, so "the
 * node never dies of an unhandled exception" is checked throughout.
 *
 * Figures (listeners per case, connect() errors by kind, time) are printed
 * at the end of the file. Seeds are fixed (FUZZ_SEED overrides) so that a
 * run is reproducible; fast-check prints the counterexample and its
 * seed/path.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, describe, it } from 'vitest';
import { FrameError } from '../src/net/frames.js';
import { decodeChallenge, decodeHello, decodeOk, encodeHandshake, handshakeMac, newNonce } from '../src/net/handshake.js';
import { MeshError, MeshNode, type Rejection } from '../src/net/index.js';
import {
  REFUSAL_DEADLINE_MS,
  SEED,
  SESSION,
  UNSAFE,
  check,
  figures,
  hexBrief,
  junkFrame,
  kindOf,
  nastyString,
  printFigures,
  printable,
  shapedBytes,
  validShaped,
  type Frame,
} from './helpers/fuzz.js';

afterAll(() => printFigures('dialer'));

// ------------------------------------------------------------------ b'. the dialer's side

/** What a listener that is not a party (or a broken one) answers a dialing party. */
interface DialCase {
  label: string;
  reply: 'challenge' | 'ok' | 'text' | 'close';
  bytes: Uint8Array;
  text: string;
}

const dialCase: fc.Arbitrary<DialCase> = fc
  .record({
    reply: fc.constantFrom<DialCase['reply']>('challenge', 'challenge', 'ok', 'ok', 'text', 'close'),
    frame: fc.oneof(junkFrame, validShaped.map((v): Frame => ({ label: v.kind, bytes: shapedBytes(v) }))),
    text: nastyString,
  })
  .filter((c) => c.reply !== 'ok' || expectedFrom(decodeOk, c.frame.bytes) !== undefined)
  .map((c) => {
    let text = c.text;
    while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
    const d: DialCase = { label: c.reply === 'challenge' || c.reply === 'ok' ? `${c.reply}: ${c.frame.label}` : c.reply, reply: c.reply, bytes: c.frame.bytes, text };
    return printable(d, () => `dial '${d.label}' ${d.reply === 'text' || d.reply === 'close' ? JSON.stringify(d.text) : hexBrief(d.bytes)}`);
  });

/** The FrameError message a decoder gives, or undefined when it accepts the bytes. */
function expectedFrom(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): string | undefined {
  try {
    decode(bytes);
    return undefined;
  } catch (e) {
    return e instanceof FrameError ? e.message : `not a FrameError: ${String(e)}`;
  }
}

async function runDialCase(c: DialCase): Promise<void> {
  figures.dialFrames.add(c.label);
  const key = randomBytes(32);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as net.AddressInfo).port;
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => {});
    ws.once('message', (d) => {
      const hello = decodeHello(d as Buffer);
      if (c.reply === 'challenge') ws.send(c.bytes);
      else if (c.reply === 'text') ws.send(c.text, { binary: false });
      else if (c.reply === 'close') ws.close(1008, c.text);
      else {
        // a listener with the key: a correct challenge, then junk where 'ok' belongs
        const serverNonce = newNonce();
        const t = { sessionId: SESSION, clientId: hello.from, serverId: 0, clientNonce: hello.nonce, serverNonce };
        ws.send(encodeHandshake({ k: 'challenge', from: 0, nonce: serverNonce, mac: handshakeMac(key, t, 'server->client') }));
        ws.once('message', () => ws.send(c.bytes));
      }
    });
  });
  const logs: string[] = [];
  const p1 = await MeshNode.listen({ self: 1, partyCount: 2, sessionId: SESSION, sessionKey: key, connectTimeoutMs: REFUSAL_DEADLINE_MS, log: (l) => logs.push(l) });
  const rejections: Rejection[] = [];
  p1.onRejected((r) => rejections.push(r));
  try {
    const err = await p1.connect([{ id: 0, host: '127.0.0.1', port }]).then(
      () => null,
      (e: unknown) => e,
    );
    check(err instanceof MeshError && err.kind === 'connect' && err.peer === 0, `${c.label}: connect() ended with ${String(err)}`);
    check(!UNSAFE.test(err.message), `${c.label}: unescaped peer text in ${JSON.stringify(err.message)}`);
    const where = `P1 cannot connect: P0 at 127.0.0.1:${port}`;
    if (c.reply === 'close') {
      check(err.message.startsWith(`${where} refused the connection: `), `${c.label}: ${JSON.stringify(err.message)}`);
    } else {
      let problem: string;
      if (c.reply === 'text') problem = 'malformed handshake: text frame';
      else if (c.reply === 'ok') problem = expectedFrom(decodeOk, c.bytes)!;
      else {
        problem = expectedFrom(decodeChallenge, c.bytes) ?? '';
        if (problem === '') {
          const from = decodeChallenge(c.bytes).from;
          problem = from !== 0 ? `expected P0 there but found P${from}` : 'bad session key';
        }
      }
      check(err.message === `${where} failed authentication: ${problem}`, `${c.label}: ${JSON.stringify(err.message)}, expected the problem ${JSON.stringify(problem)}`);
      check(rejections.length === 1 && rejections[0]!.side === 'dial' && rejections[0]!.reason === problem, `${c.label}: rejections ${JSON.stringify(rejections)}`);
    }
    check(logs.every((l) => !UNSAFE.test(l)), `${c.label}: unescaped peer text in the log ${JSON.stringify(logs)}`);
    figures.dialErrors.add(kindOf(err.message));
  } finally {
    p1.abort();
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

describe("net fuzz: the dialer's side of the handshake", () => {
  it(
    'a listener answering with junk, a bad challenge, a junk ok or a hostile close: connect() fails naming the peer and the problem',
    async () => {
      const t0 = Date.now();
      const BATCH = 4;
      const RUNS = 100;
      await fc.assert(
        fc.asyncProperty(fc.array(dialCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
          await Promise.all(cases.map((c) => runDialCase(c)));
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
      );
      figures.times.push(`b'. dialer side (${BATCH * RUNS} listeners): ${Date.now() - t0} ms`);
    },
    120_000,
  );
});
