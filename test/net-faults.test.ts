/**
 * Faults after the handshake: malformed frames from an authenticated peer and
 * dead peers are fatal errors that name the peer and the problem; nothing is
 * thrown uncaught (vitest fails the run on any unhandled error).
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import {
  HANDSHAKE_VERSION,
  MeshError,
  MeshNode,
  createLocalMesh,
  decodeChallenge,
  encodeByeHeader,
  encodeHandshake,
  encodeMsgHeader,
  handshakeMac,
  newNonce,
  type LocalMesh,
  type Mesh,
} from '../src/net/index.js';
import { freePort } from './helpers/free-port.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(d as Buffer));
    ws.once('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

/**
 * P0 is a real MeshNode of a 2-party session; P1 is this hand-made client
 * that does the real handshake with the key and then sends what we like.
 */
async function realP0WithRawP1(opts: { maxPayloadBytes?: number } = {}) {
  const sessionKey = randomBytes(32);
  const sessionId = 'faults';
  const logs: string[] = [];
  const node = await MeshNode.listen({ self: 0, partyCount: 2, sessionId, sessionKey, log: (l) => logs.push(l), ...opts });
  cleanup.push(() => node.close());
  const fatal: Error[] = [];
  node.onFatal((e) => fatal.push(e));
  const connected = node.connect([{ id: 0, host: '127.0.0.1', port: node.port }]);
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/`, { perMessageDeflate: false });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  const nonce = newNonce();
  ws.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: sessionId, from: 1, to: 0, nonce }));
  const ch = decodeChallenge(await nextMessage(ws));
  const t = { sessionId, clientId: 1, serverId: 0, clientNonce: nonce, serverNonce: ch.nonce };
  expect(handshakeMac(sessionKey, t, 'server->client').equals(ch.mac)).toBe(true);
  ws.send(encodeHandshake({ k: 'auth', mac: handshakeMac(sessionKey, t, 'client->server') }));
  await nextMessage(ws); // ok
  const mesh = await connected;
  const closedBy = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
  return { node, mesh, ws, fatal, logs, closedBy };
}

const hdr = (t: string, s: number, n: number | null, extra: Record<string, unknown> = {}) =>
  Buffer.concat([pack({ k: 'msg', t, s, n, c: 'online', d: 1, ...extra })]);

describe('net faults', () => {
  it('a well-formed message from the hand-made peer is accepted (control)', async () => {
    const { mesh, ws, fatal } = await realP0WithRawP1();
    const body = new Float64Array([1.5, -2, 3]);
    ws.send(encodeMsgHeader({ k: 'msg', t: 'x', s: 0, n: body.byteLength, c: 'online', d: 1, m: { shape: [3] } }));
    ws.send(Buffer.from(body.buffer));
    const m = await mesh.recv(1, 'x');
    expect(Array.from(new Float64Array(m.payload!.buffer, m.payload!.byteOffset, 3))).toEqual([1.5, -2, 3]);
    expect(m.meta).toEqual({ shape: [3] });
    expect(mesh.rounds).toBe(1);
    expect(fatal).toEqual([]);
  });

  const cases: [string, (ws: WebSocket) => void, string][] = [
    ['header is not msgpack', (ws) => ws.send(Buffer.from([0xc1, 0x00, 0x13])), 'malformed frame from P1: header is not msgpack'],
    ['header is an array', (ws) => ws.send(pack(['msg', 'x', 0])), 'malformed frame from P1: header is not a map'],
    ['tag is not a string', (ws) => ws.send(pack({ k: 'msg', t: 5, s: 0, n: null, c: 'online', d: 1 })), 'malformed frame from P1: header tag is not a string'],
    ['tag too long', (ws) => ws.send(hdr('t'.repeat(300), 0, null)), 'malformed frame from P1: header tag length 300 is outside 1..256'],
    ['negative seq', (ws) => ws.send(hdr('x', -1, null)), 'malformed frame from P1: header seq is not a non-negative integer'],
    ['unknown class', (ws) => ws.send(hdr('x', 0, null, { c: 'bulk' })), `malformed frame from P1: header traffic class "bulk" is not 'online' or 'dealer'`],
    ['unknown field', (ws) => ws.send(hdr('x', 0, null, { evil: 1 })), 'malformed frame from P1: header has unknown field "evil"'],
    ['seq gap', (ws) => ws.send(hdr('x', 1, null)), 'malformed frame from P1: seq 1 for tag "x" where 0 was expected'],
    ['payload too large', (ws) => ws.send(hdr('x', 0, 2 ** 31)), 'malformed frame from P1: announced payload of 2147483648 bytes exceeds maxPayloadBytes 1048576'],
    [
      'payload shorter than announced',
      (ws) => {
        ws.send(hdr('x', 0, 16));
        ws.send(Buffer.alloc(8));
      },
      'malformed frame from P1: payload of 8 bytes but its header announced 16',
    ],
    [
      'payload longer than announced',
      (ws) => {
        ws.send(hdr('x', 0, 16));
        ws.send(Buffer.alloc(24));
      },
      'malformed frame from P1: payload of 24 bytes but its header announced 16',
    ],
    ['text frame', (ws) => ws.send('hello'), 'malformed frame from P1: text frame (only binary frames are allowed)'],
    [
      'text frame where a payload belongs',
      (ws) => {
        ws.send(hdr('x', 0, 4));
        ws.send('abcd');
      },
      'malformed frame from P1: text frame (only binary frames are allowed)',
    ],
    ['stray binary frame', (ws) => ws.send(randomBytes(2 << 20)), 'malformed frame from P1: '],
    [
      'frame after bye',
      (ws) => {
        ws.send(encodeByeHeader());
        ws.send(hdr('x', 0, null));
      },
      'malformed frame from P1: frame after bye',
    ],
  ];

  for (const [name, act, message] of cases) {
    it(`fatal on ${name}`, async () => {
      const { mesh, ws, fatal, closedBy } = await realP0WithRawP1({ maxPayloadBytes: 1 << 20 });
      const pending = mesh.recv(1, 'x');
      const caught = pending.catch((e: Error) => e);
      act(ws);
      const err = await caught;
      if (name === 'frame after bye') {
        // the bye already ended the wait (not fatal); the frame after it is
        expect((err as Error).message).toMatch(/P1 has closed the session/);
        await new Promise((r) => setTimeout(r, 50));
      } else {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message.startsWith(message)).toBe(true);
      }
      await closedBy;
      expect(fatal.length).toBe(1);
      expect(fatal[0]!.message.startsWith(message)).toBe(true);
      // later recvs from that peer reject with the same error, at once
      await expect(mesh.recv(1, 'other')).rejects.toThrow(fatal[0]!.message);
      expect(() => mesh.send(1, 'x', null)).toThrow(fatal[0]!.message);
    });
  }

  it('the fatal error fires even when nobody is waiting, and the socket is closed with the reason', async () => {
    const { ws, fatal, closedBy } = await realP0WithRawP1();
    ws.send(Buffer.from('garbage'));
    const c = await closedBy;
    expect(c.code).toBe(1008);
    expect(c.reason).toBe('malformed frame from P1: header is not msgpack');
    expect(fatal.map((e) => e.message)).toEqual(['malformed frame from P1: header is not msgpack']);
  });

  it('a peer whose socket dies is fatal at once, naming it, for waiting and idle receivers', async () => {
    const m: LocalMesh = await createLocalMesh(3);
    cleanup.push(() => m.close());
    const fatal: string[][] = [[], [], []];
    m.nodes.forEach((n, i) => n.onFatal((e) => fatal[i]!.push(e.message)));
    const [p0, p1, p2] = m.nodes as [MeshNode, MeshNode, MeshNode];
    // something buffered from P2 before it dies is still delivered
    p2.send(1, 'early', null);
    await p2.flush();
    await new Promise((r) => setTimeout(r, 20));
    const waiting = p0.recv(2, 'never').catch((e: Error) => e);
    const t0 = Date.now();
    // destroy P2's sockets the way a SIGKILL would (no close frame, no bye)
    for (const peer of [0, 1]) (p2 as unknown as { links: { ws: { _socket: { destroy(): void } } }[] }).links[peer]!.ws._socket.destroy();
    const err = (await waiting) as Error;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err.message).toBe('P2 disconnected (code 1006)');
    await new Promise((r) => setTimeout(r, 50));
    expect(fatal[0]).toEqual(['P2 disconnected (code 1006)']);
    expect(fatal[1]).toEqual(['P2 disconnected (code 1006)']); // P1 was not waiting on P2
    expect((await p1.recv(2, 'early')).tag).toBe('early');
    await expect(p1.recv(2, 'early')).rejects.toThrow('P2 disconnected (code 1006)');
    // P0 <-> P1 unaffected
    p0.send(1, 'ok', null);
    await p1.recv(0, 'ok');
  });

  it('abort() drops everything without a bye: peers see a disconnect', async () => {
    const m = await createLocalMesh(3);
    cleanup.push(() => m.close());
    const fatal: string[] = [];
    m.nodes[0]!.onFatal((e) => fatal.push(e.message));
    const waiting = m.nodes[0]!.recv(1, 'x').catch((e: Error) => e);
    const own = m.nodes[1]!.recv(0, 'y').catch((e: Error) => e);
    m.nodes[1]!.abort();
    m.nodes[1]!.abort();
    expect(((await own) as Error).message).toMatch(/mesh aborted while waiting for 'y' from P0/);
    expect(((await waiting) as Error).message).toBe('P1 disconnected (code 4000: P1 aborted)');
    expect(fatal).toEqual(['P1 disconnected (code 4000: P1 aborted)']);
    await m.nodes[1]!.close(); // harmless after abort
  });

  it('in a cascade the root cause travels: P2 dies, P1 aborts, P0 hears why', async () => {
    const m = await createLocalMesh(3);
    cleanup.push(() => m.close());
    const [p0, p1, p2] = m.nodes as [MeshNode, MeshNode, MeshNode];
    const p0fatal: string[] = [];
    p0.onFatal((e) => p0fatal.push(e.message));
    p1.onFatal(() => p1.abort()); // what a party process does on a fatal error
    // P2 vanishes towards P1 only (as if its link to P1 broke first)
    (p2 as unknown as { links: { ws: { _socket: { destroy(): void } } }[] }).links[1]!.ws._socket.destroy();
    const err = (await p0.recv(1, 'x').catch((e: Error) => e)) as Error;
    expect(err.message).toBe('P1 disconnected (code 4000: P1 aborted: P2 disconnected (code 1006))');
    expect(p0fatal[0]).toBe(err.message);
  });

  it('a frame bigger than maxPayloadBytes is refused by the ws layer as a fatal error', async () => {
    const { mesh, ws, fatal } = await realP0WithRawP1({ maxPayloadBytes: 1 << 20 });
    const pending = mesh.recv(1, 'x').catch((e: Error) => e);
    ws.send(hdr('x', 0, 1 << 20));
    ws.send(Buffer.alloc((1 << 20) + 1));
    const err = (await pending) as Error;
    expect(err.message).toMatch(/^malformed frame from P1: .*(Max payload size exceeded|payload of)/);
    expect(fatal.length).toBe(1);
  });
});

/** A hand-made party `from` that completes the real key handshake with the node at `port` (party `to`). */
async function rawPeer(port: number, sessionId: string, sessionKey: Uint8Array, from: number, to: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  ws.on('error', () => {});
  cleanup.push(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  const nonce = newNonce();
  ws.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: sessionId, from, to, nonce }));
  const ch = decodeChallenge(await nextMessage(ws));
  const t = { sessionId, clientId: from, serverId: to, clientNonce: nonce, serverNonce: ch.nonce };
  ws.send(encodeHandshake({ k: 'auth', mac: handshakeMac(sessionKey, t, 'client->server') }));
  await nextMessage(ws); // ok
  return ws;
}

/** Resolves once `dialer`'s link to `listener` is authenticated on both sides (connect() itself is still waiting). */
async function linked(dialer: MeshNode, listener: MeshNode): Promise<void> {
  for (;;) {
    try {
      // Throws "not connected" until the dialer has the listener's ok, sent after the listener attached.
      dialer.send(listener.self, 'up', null);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  await listener.recv(dialer.self, 'up');
}

/** How and when a connect() ended (never an unhandled rejection). */
function settled(p: Promise<Mesh>): Promise<{ err: unknown; at: number }> {
  return p.then(() => ({ err: null, at: Date.now() }), (err: unknown) => ({ err, at: Date.now() }));
}

describe('a connected peer lost during the start', () => {
  // Hand-started parties have no launcher to tell them: connect() must fail at
  // once, not after connectTimeoutMs (15 s here, so the old behaviour fails the test).
  const base = { sessionId: 'start-loss', connectTimeoutMs: 15_000, log: () => {} };

  for (const victim of [1, 0] as const) {
    const survivor = 1 - victim;
    const side = victim === 1 ? 'listener (accepted link)' : 'dialer (dialed link)';
    it(`P${victim} aborts after its handshake with P${survivor}, P2 not started: the ${side} fails at once naming P${victim}`, async () => {
      const sessionKey = randomBytes(32);
      const opts = { ...base, sessionKey, partyCount: 3 };
      const nodes = [await MeshNode.listen({ ...opts, self: 0 }), await MeshNode.listen({ ...opts, self: 1 })];
      for (const n of nodes) cleanup.push(() => n.abort());
      // Nobody listens at P2's address (P2 would dial P0 and P1: the higher id dials).
      const peers = [...nodes.map((n) => ({ id: n.self, host: '127.0.0.1', port: n.port })), { id: 2, host: '127.0.0.1', port: await freePort() }];
      const fatal: string[] = [];
      nodes[survivor]!.onFatal((e) => fatal.push(e.message));
      const connects = nodes.map((n) => settled(n.connect(peers)));
      await linked(nodes[1]!, nodes[0]!);
      const t0 = Date.now();
      nodes[victim]!.abort();
      const { err, at } = await connects[survivor]!;
      expect(at - t0).toBeLessThan(2_000);
      expect(err).toBeInstanceOf(MeshError);
      const e = err as MeshError;
      expect(e.kind).toBe('disconnected');
      expect(e.peer).toBe(victim);
      expect(e.message).toBe(`P${victim} disconnected during the start (code 4000: P${victim} aborted); P${survivor} gives up connecting, still missing P2 (it has not connected to this party)`);
      expect(fatal).toEqual([`P${victim} disconnected during the start (code 4000: P${victim} aborted)`]);
      expect(((await connects[victim]!).err as Error).message).toBe(`P${victim}: mesh aborted before every peer connected`);
      // The survivor aborted too: it is closed for good.
      expect(() => nodes[survivor]!.send(victim, 'x', null)).toThrow(/after close/);
    }, 30_000);
  }

  it('a peer killed (no close frame) after its handshake: the listener fails at once and the peers it aborts learn why', async () => {
    // Four parties: real P0 and P1, P3 is a hand-made client, P2 never starts.
    // P3 dies the way a SIGKILL looks (socket destroyed); P1 never saw P3 (P3
    // dials P1 too, but never did), so P1 can only learn it from P0's abort.
    const sessionKey = randomBytes(32);
    const opts = { ...base, sessionKey, partyCount: 4 };
    const n0 = await MeshNode.listen({ ...opts, self: 0 });
    const n1 = await MeshNode.listen({ ...opts, self: 1 });
    cleanup.push(() => n0.abort(), () => n1.abort());
    const peers = [
      { id: 0, host: '127.0.0.1', port: n0.port },
      { id: 1, host: '127.0.0.1', port: n1.port },
      { id: 2, host: '127.0.0.1', port: await freePort() },
      { id: 3, host: '127.0.0.1', port: await freePort() },
    ];
    const c0 = settled(n0.connect(peers));
    const c1 = settled(n1.connect(peers));
    await linked(n1, n0);
    const p3 = await rawPeer(n0.port, base.sessionId, sessionKey, 3, 0);
    const t0 = Date.now();
    p3.terminate();
    const r0 = await c0;
    const r1 = await c1;
    expect(r0.at - t0).toBeLessThan(2_000);
    expect(r1.at - t0).toBeLessThan(2_000);
    expect((r0.err as MeshError).peer).toBe(3);
    expect((r0.err as Error).message).toBe(
      'P3 disconnected during the start (code 1006); P0 gives up connecting, still missing P2 (it has not connected to this party)',
    );
    expect((r1.err as MeshError).peer).toBe(0);
    expect((r1.err as Error).message).toMatch(
      /^P0 disconnected during the start \(code 4000: P0 aborted: P3 disconnected during the start \(code 1006\)\); P1 gives up connecting, still missing P2 \(it has not connected to this party\), P3 \(it has not connected to this party\)$/,
    );
  }, 30_000);

  it('a connection dropped before its handshake completes does not fail connect()', async () => {
    const sessionKey = randomBytes(32);
    const n0 = await MeshNode.listen({ ...base, sessionKey, partyCount: 2, self: 0 });
    cleanup.push(() => n0.close());
    const p1port = await freePort();
    const peers = [{ id: 0, host: '127.0.0.1', port: n0.port }, { id: 1, host: '127.0.0.1', port: p1port }];
    const c0 = n0.connect(peers);
    // Dropped after the WebSocket upgrade, and after the hello: neither completed the handshake.
    const early = new WebSocket(`ws://127.0.0.1:${n0.port}/`);
    early.on('error', () => {});
    await new Promise((r) => early.once('open', r));
    early.terminate();
    const mid = new WebSocket(`ws://127.0.0.1:${n0.port}/`);
    mid.on('error', () => {});
    await new Promise((r) => mid.once('open', r));
    mid.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: base.sessionId, from: 1, to: 0, nonce: newNonce() }));
    await nextMessage(mid); // challenge
    mid.terminate();
    await new Promise((r) => setTimeout(r, 200));
    const n1 = await MeshNode.listen({ ...base, sessionKey, partyCount: 2, self: 1, port: p1port });
    cleanup.push(() => n1.close());
    const [m0, m1] = await Promise.all([c0, n1.connect(peers)]);
    m1.send(0, 'hi', null);
    expect((await m0.recv(1, 'hi')).tag).toBe('hi');
  }, 30_000);
});
