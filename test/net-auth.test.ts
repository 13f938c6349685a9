/**
 * Handshake: connections with a wrong key, wrong session, bad or duplicate
 * party id, garbage, or no handshake at all are refused with a clear logged
 * reason, while the real mesh keeps working.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HANDSHAKE_VERSION,
  MeshNode,
  createLocalMesh,
  decodeChallenge,
  encodeHandshake,
  handshakeMac,
  newNonce,
  type LocalMesh,
  type Rejection,
} from '../src/net/index.js';

interface Watched {
  m: LocalMesh;
  logs: string[][];
  rejections: Rejection[][];
  fatal: Error[];
}

const open: LocalMesh[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

async function watchedMesh(n: number, opts: { handshakeTimeoutMs?: number } = {}): Promise<Watched> {
  const logs: string[][] = Array.from({ length: n }, () => []);
  const m = await createLocalMesh(n, { ...opts, logFor: (id) => (line) => logs[id]!.push(line) });
  open.push(m);
  const rejections: Rejection[][] = m.nodes.map(() => []);
  const fatal: Error[] = [];
  m.nodes.forEach((node, i) => {
    node.onRejected((r) => rejections[i]!.push(r));
    node.onFatal((e) => fatal.push(e));
  });
  return { m, logs, rejections, fatal };
}

/** The mesh still works: a round trip P1 -> P0 -> P1 and P2 -> P0. */
async function stillWorks(m: LocalMesh): Promise<void> {
  const [p0, p1, p2] = m.nodes as [MeshNode, MeshNode, MeshNode];
  p1.send(0, 'ping', Uint8Array.of(1, 2, 3));
  const got = await p0.recv(1, 'ping');
  p0.send(1, 'pong', got.payload);
  expect(Array.from((await p1.recv(0, 'pong')).payload!)).toEqual([1, 2, 3]);
  p2.send(0, 'ping2', null);
  await p0.recv(2, 'ping2');
}

function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error('condition not met in time'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function dialRaw(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(d as Buffer));
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve({ code: 1006, reason: '' });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

/** A hand-made dialer: hello, then (unless told otherwise) auth with `key`. */
async function rawHandshake(port: number, p: { from: number; to: number; sid: string; key: Uint8Array }): Promise<WebSocket> {
  const ws = await dialRaw(port);
  ws.on('error', () => {});
  const nonce = newNonce();
  ws.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: p.sid, from: p.from, to: p.to, nonce }));
  const ch = decodeChallenge(await nextMessage(ws));
  const t = { sessionId: p.sid, clientId: p.from, serverId: p.to, clientNonce: nonce, serverNonce: ch.nonce };
  ws.send(encodeHandshake({ k: 'auth', mac: handshakeMac(p.key, t, 'client->server') }));
  return ws;
}

describe('net handshake', () => {
  it('refuses a wrong session key (hand-made dialer) with a logged reason', async () => {
    const w = await watchedMesh(3);
    const ws = await rawHandshake(w.m.nodes[0]!.port, { from: 2, to: 0, sid: w.m.sessionId, key: randomBytes(32) });
    const c = await closed(ws);
    expect(c).toEqual({ code: 1008, reason: 'bad session key' });
    await until(() => w.rejections[0]!.length === 1);
    expect(w.rejections[0]![0]).toMatchObject({ reason: 'bad session key', claimedId: 2, side: 'accept' });
    expect(w.logs[0]!.some((l) => /^\[P0\] rejected connection from 127\.0\.0\.1:\d+ \(claims P2\): bad session key$/.test(l))).toBe(true);
    await stillWorks(w.m);
    expect(w.fatal).toEqual([]);
  });

  it('a MeshNode with the wrong key cannot join, and both sides say why', async () => {
    const w = await watchedMesh(3);
    const lines: string[] = [];
    const intruder = await MeshNode.listen({ self: 2, partyCount: 3, sessionId: w.m.sessionId, sessionKey: randomBytes(32), log: (l) => lines.push(l) });
    await expect(intruder.connect(w.m.peers)).rejects.toThrow(/P2 cannot connect: P[01] at 127\.0\.0\.1:\d+ failed authentication: bad session key/);
    expect(lines.some((l) => l.includes('bad session key'))).toBe(true);
    await until(() => w.rejections[0]!.length + w.rejections[1]!.length >= 1);
    const all = [...w.rejections[0]!, ...w.rejections[1]!];
    expect(all[0]!.reason).toBe('the dialer aborted the handshake: bad session key');
    await stillWorks(w.m);
    expect(w.fatal).toEqual([]);
  });

  it('refuses a wrong session id, an unknown or own party id, a wrong target and the wrong dial direction', async () => {
    const w = await watchedMesh(3);
    const port = w.m.nodes[1]!.port;
    const cases: [Record<string, unknown>, string][] = [
      [{ sid: 'other-session', from: 2, to: 1 }, 'wrong session id'],
      [{ from: 7, to: 1 }, 'party id 7 out of range 0..2'],
      [{ from: -1, to: 1 }, 'party id -1 out of range 0..2'],
      [{ from: 1, to: 1 }, "party id 1 is this party's own id"],
      [{ from: 2, to: 0 }, 'it dialed P0 but this is P1'],
      [{ from: 0, to: 1 }, 'P0 must not dial P1 (the higher id dials the lower)'],
    ];
    for (const [fields, reason] of cases) {
      const ws = await dialRaw(port);
      ws.send(encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: w.m.sessionId, nonce: newNonce(), ...fields } as never));
      expect(await closed(ws)).toEqual({ code: 1008, reason });
    }
    await until(() => w.rejections[1]!.length === cases.length);
    expect(w.rejections[1]!.map((r) => r.reason)).toEqual(cases.map((c) => c[1]));
    expect(w.logs[1]!.filter((l) => l.startsWith('[P1] rejected connection from 127.0.0.1:')).length).toBe(cases.length);
    await stillWorks(w.m);
    expect(w.fatal).toEqual([]);
  });

  it('refuses a duplicate connection for an id that is already connected (right key)', async () => {
    const w = await watchedMesh(3);
    const ws = await rawHandshake(w.m.nodes[0]!.port, { from: 1, to: 0, sid: w.m.sessionId, key: w.m.sessionKey });
    expect(await closed(ws)).toEqual({ code: 1008, reason: 'duplicate connection: P1 is already connected' });
    // a whole second P2 process is refused too, and says so
    const twin = await MeshNode.listen({ self: 2, partyCount: 3, sessionId: w.m.sessionId, sessionKey: w.m.sessionKey, log: () => {} });
    await expect(twin.connect(w.m.peers)).rejects.toThrow(/refused the connection: duplicate connection: P2 is already connected/);
    await until(() => w.rejections[0]!.length >= 2);
    expect(w.logs[0]!.some((l) => /rejected connection from .* \(claims P1\): duplicate connection: P1 is already connected/.test(l))).toBe(true);
    await stillWorks(w.m);
    expect(w.fatal).toEqual([]);
  });

  it('refuses garbage, text frames, oversized and unfinished handshakes', async () => {
    const w = await watchedMesh(3, { handshakeTimeoutMs: 1000 });
    const port = w.m.nodes[0]!.port;
    const expectRefused = async (act: (ws: WebSocket) => void, reason: string | RegExp, code = 1008) => {
      const ws = await dialRaw(port);
      ws.on('error', () => {});
      act(ws);
      const c = await closed(ws);
      expect(c.code).toBe(code);
      expect(c.reason).toMatch(reason);
    };
    await expectRefused((ws) => ws.send(Buffer.from('not msgpack at all')), 'malformed handshake: hello message is not msgpack');
    await expectRefused((ws) => ws.send('{"k":"hello"}'), 'malformed handshake: text frame');
    await expectRefused((ws) => ws.send(encodeHandshake({ k: 'ok' })), "malformed handshake: expected 'hello', got \"ok\"");
    // Past 4 KiB before authentication the socket is destroyed at once (1006, no close frame): a graceful close would keep reading.
    {
      const ws = await dialRaw(port);
      ws.on('error', () => {});
      ws.send(randomBytes(64 * 1024));
      expect((await closed(ws)).code).toBe(1006);
      await until(() => w.rejections[0]!.some((r) => r.reason === 'more than 4096 bytes before completing the handshake'));
    }
    await expectRefused(() => {}, 'handshake not completed within 1000 ms', 1013);
    // a plain HTTP request is not a WebSocket; the server stays up
    const res = await fetch(`http://127.0.0.1:${port}/`).catch((e: Error) => e);
    expect(res instanceof Error || res.status >= 400).toBe(true);
    // a broken WebSocket upgrade request gets a 400 and is logged
    const reply = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: nope\r\n\r\n'),
      );
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(reply.startsWith('HTTP/1.1 400')).toBe(true);
    await until(() => w.rejections[0]!.some((r) => r.reason.startsWith('bad WebSocket upgrade:')));
    await until(() => w.rejections[0]!.length >= 6);
    expect(w.logs[0]!.some((l) => l.endsWith(': handshake not completed within 1000 ms'))).toBe(true);
    await stillWorks(w.m);
    expect(w.fatal).toEqual([]);
  });
});
