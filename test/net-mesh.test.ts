/**
 * The party mesh over real loopback sockets (all parties in this process):
 * connection, payloads, tag matching, seq order, alignment, exact byte
 * counters, the round clock, timeouts and orderly close.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshNode, createLocalMesh, encodeMsgHeader, wsFramingOverhead, type LocalMesh, type TrafficCounters } from '../src/net/index.js';
import { freePort } from './helpers/free-port.js';

const open: LocalMesh[] = [];
async function mesh(n: number, opts: Parameters<typeof createLocalMesh>[1] = {}): Promise<LocalMesh> {
  const m = await createLocalMesh(n, opts);
  open.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

function pattern(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = x & 0xff;
  }
  return a;
}

/** Bytes our socket layer sees for one message (header frame + optional payload frame). */
function frameBytes(tag: string, seq: number, n: number | null, cls: 'online' | 'dealer', depth: number, masked: boolean, meta?: unknown): number {
  const h = encodeMsgHeader({ k: 'msg', t: tag, s: seq, n, c: cls, d: depth, ...(meta !== undefined ? { m: meta } : {}) }).byteLength;
  let total = h + wsFramingOverhead(h, masked);
  if (n !== null && n > 0) total += n + wsFramingOverhead(n, masked);
  return total;
}

function peerCounters(node: MeshNode, peer: number, cls: 'online' | 'dealer'): TrafficCounters {
  return node.stats().peers.find((p) => p.peer === peer)![cls];
}

describe('net mesh', () => {
  it('connects 3 parties and exchanges payloads of many sizes, 0 bytes to 16 MB', async () => {
    const { nodes } = await mesh(3);
    const sizes = [0, 1, 7, 8, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
    for (const [a, b] of [
      [0, 1],
      [1, 0],
      [2, 0],
      [1, 2],
    ] as const) {
      for (const [i, size] of sizes.entries()) {
        const data = pattern(size, i + 1);
        nodes[a]!.send(b, 'blob', data, { meta: { size, i } });
      }
      for (const [i, size] of sizes.entries()) {
        const m = await nodes[b]!.recv(a, 'blob');
        expect(m.tag).toBe('blob');
        expect(m.seq).toBe(i);
        expect(m.meta).toEqual({ size, i });
        expect(m.payload).not.toBeNull();
        expect(m.payload!.byteLength).toBe(size);
        expect(Buffer.from(m.payload!.buffer, m.payload!.byteOffset, size).equals(Buffer.from(pattern(size, i + 1)))).toBe(true);
      }
    }
    // null payload stays null, an empty one arrives empty
    nodes[0]!.send(2, 'x', null);
    nodes[0]!.send(2, 'x', new Uint8Array(0));
    expect((await nodes[2]!.recv(0, 'x')).payload).toBeNull();
    expect((await nodes[2]!.recv(0, 'x')).payload).toEqual(new Uint8Array(0));
  }, 120_000); // ~100 MB through real sockets: above the 60 s default (vitest.config.ts), not below it

  it('matches by tag (out of order) and keeps seq order within a tag', async () => {
    const { nodes } = await mesh(2);
    nodes[0]!.send(1, 'a', null, { meta: 'a0' });
    nodes[0]!.send(1, 'b', null, { meta: 'b0' });
    nodes[0]!.send(1, 'a', null, { meta: 'a1' });
    const b = await nodes[1]!.recv(0, 'b');
    const a0 = await nodes[1]!.recv(0, 'a');
    const a1 = await nodes[1]!.recv(0, 'a');
    expect([b.meta, b.seq, a0.meta, a0.seq, a1.meta, a1.seq]).toEqual(['b0', 0, 'a0', 0, 'a1', 1]);
    // recv before send; several waiters on one tag are served in call order
    const pending = [nodes[0]!.recv(1, 'late'), nodes[0]!.recv(1, 'late'), nodes[0]!.recv(1, 'late')];
    for (let i = 0; i < 3; i++) nodes[1]!.send(0, 'late', Uint32Array.of(i));
    const got = await Promise.all(pending);
    expect(got.map((m) => [m.seq, new Uint32Array(m.payload!.buffer, m.payload!.byteOffset, 1)[0]])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    // many messages, one tag: strictly in order
    for (let i = 0; i < 500; i++) nodes[0]!.send(1, 'seq', Float64Array.of(i));
    for (let i = 0; i < 500; i++) {
      const m = await nodes[1]!.recv(0, 'seq');
      expect(m.seq).toBe(i);
      expect(new Float64Array(m.payload!.buffer, m.payload!.byteOffset, 1)[0]).toBe(i);
    }
  });

  it('delivers payloads 8-byte aligned, usable as BigUint64Array without copying', async () => {
    const { nodes } = await mesh(2);
    const sizes = [8, 24, 1000 * 8, 8 * 20000, 8 * 300000];
    for (const n of sizes) {
      const src = new BigUint64Array(n / 8);
      for (let i = 0; i < src.length; i++) src[i] = (BigInt(i) << 40n) ^ 0xdeadbeefn ^ (BigInt(n) << 3n);
      // send a view that does not start at offset 0 of its buffer
      const backing = new BigUint64Array(src.length + 2);
      backing.set(src, 1);
      nodes[1]!.send(0, 'u64', backing.subarray(1, 1 + src.length));
      nodes[0]!.send(1, 'u64', src);
    }
    for (const n of sizes) {
      for (const [to, from] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const m = await nodes[to]!.recv(from, 'u64');
        expect(m.payload!.byteOffset % 8).toBe(0);
        const v = new BigUint64Array(m.payload!.buffer, m.payload!.byteOffset, m.payload!.byteLength / 8);
        expect(v.length).toBe(n / 8);
        expect(v[v.length - 1]).toBe((BigInt(v.length - 1) << 40n) ^ 0xdeadbeefn ^ (BigInt(n) << 3n));
      }
    }
  });

  it('counts payload and frame bytes exactly, per peer and class', async () => {
    const { nodes } = await mesh(3);
    const [p0, p1, p2] = nodes as [MeshNode, MeshNode, MeshNode];
    for (const n of nodes) n.resetStats();
    // P1 dialed P0, so P1 -> P0 frames are masked (+4) and P0 -> P1 frames are not.
    const sizes = [null, 0, 5, 125, 126, 65535, 65536, 100_000];
    let expectP0Sent = 0;
    let expectP1Sent = 0;
    let payload = 0;
    for (const [i, n] of sizes.entries()) {
      const meta = i % 2 ? { shape: [n, 1] } : undefined;
      p0.send(1, 'c', n === null ? null : new Uint8Array(n), { meta });
      p1.send(0, 'c', n === null ? null : new Uint8Array(n), { meta });
      expectP0Sent += frameBytes('c', i, n, 'online', 1, false, meta);
      expectP1Sent += frameBytes('c', i, n, 'online', 1, true, meta);
      payload += n ?? 0;
    }
    // the depth field is clock + 1 at send time; nothing received yet, so 1 throughout
    for (let i = 0; i < sizes.length; i++) {
      await p0.recv(1, 'c');
      await p1.recv(0, 'c');
    }
    // dealer class is counted separately: P2 dialed P0 (masked toward P0)
    p2.send(0, 'corr', new Uint8Array(3000), { cls: 'dealer' });
    await p0.recv(2, 'corr');
    await Promise.all(nodes.map((n) => n.flush()));

    const c01 = peerCounters(p0, 1, 'online');
    const c10 = peerCounters(p1, 0, 'online');
    expect(c01).toEqual({
      payloadBytesSent: payload,
      payloadBytesReceived: payload,
      frameBytesSent: expectP0Sent,
      frameBytesReceived: expectP1Sent,
      messagesSent: sizes.length,
      messagesReceived: sizes.length,
    });
    expect(c10.frameBytesSent).toBe(expectP1Sent);
    expect(c10.frameBytesReceived).toBe(expectP0Sent);
    const dealerBytes = frameBytes('corr', 0, 3000, 'dealer', 0, true);
    expect(peerCounters(p2, 0, 'dealer')).toMatchObject({ payloadBytesSent: 3000, frameBytesSent: dealerBytes, messagesSent: 1 });
    expect(peerCounters(p0, 2, 'dealer')).toMatchObject({ payloadBytesReceived: 3000, frameBytesReceived: dealerBytes, messagesReceived: 1 });
    expect(peerCounters(p0, 2, 'online').messagesReceived).toBe(0);
    expect(peerCounters(p2, 1, 'online')).toEqual(peerCounters(p2, 1, 'dealer'));

    // frame bytes agree with what actually crossed the TCP socket
    type Sock = { bytesWritten: number; bytesRead: number };
    const sock = (n: MeshNode, peer: number): Sock => (n as unknown as { links: { ws: { _socket: Sock } }[] }).links[peer]!.ws._socket;
    const w0 = sock(p0, 1).bytesWritten;
    const r1 = sock(p1, 0).bytesRead;
    p0.resetStats();
    p1.resetStats();
    p0.send(1, 'tcp', new Uint8Array(70_000), { meta: [1, 2, 3] });
    p0.send(1, 'tcp', new Uint8Array(200));
    p0.send(1, 'tcp', null);
    for (let i = 0; i < 3; i++) await p1.recv(0, 'tcp');
    await p0.flush();
    expect(sock(p0, 1).bytesWritten - w0).toBe(peerCounters(p0, 1, 'online').frameBytesSent);
    expect(sock(p1, 0).bytesRead - r1).toBe(peerCounters(p1, 0, 'online').frameBytesReceived);

    // received counters move when recv() takes the message, not when it arrives
    p1.send(0, 'ahead', new Uint8Array(64));
    await p1.flush();
    await new Promise((r) => setTimeout(r, 50));
    const before = peerCounters(p0, 1, 'online');
    await p0.recv(1, 'ahead');
    const after = peerCounters(p0, 1, 'online');
    expect(after.payloadBytesReceived - before.payloadBytesReceived).toBe(64);
    expect(after.messagesReceived - before.messagesReceived).toBe(1);
    expect(after.frameBytesReceived - before.frameBytesReceived).toBe(frameBytes('ahead', 0, 64, 'online', 2, true));

    p0.resetStats();
    expect(peerCounters(p0, 1, 'online')).toEqual({
      payloadBytesSent: 0,
      payloadBytesReceived: 0,
      frameBytesSent: 0,
      frameBytesReceived: 0,
      messagesSent: 0,
      messagesReceived: 0,
    });
  });

  it('runs the round clock: one exchange = 1 round, a 2-hop chain = 2, dealer traffic = 0', async () => {
    const { nodes } = await mesh(3);
    const [p0, p1, p2] = nodes as [MeshNode, MeshNode, MeshNode];
    // dealer-class messages never move the clock
    p2.send(0, 'd', new Uint8Array(8), { cls: 'dealer' });
    p2.send(1, 'd', new Uint8Array(8), { cls: 'dealer' });
    await p0.recv(2, 'd');
    await p1.recv(2, 'd');
    expect([p0.rounds, p1.rounds, p2.rounds]).toEqual([0, 0, 0]);
    // one round: P0 and P1 exchange at the same time
    p0.send(1, 'open', new Uint8Array(8));
    p1.send(0, 'open', new Uint8Array(8));
    await Promise.all([p0.recv(1, 'open'), p1.recv(0, 'open')]);
    expect([p0.rounds, p1.rounds, p2.rounds]).toEqual([1, 1, 0]);
    expect(p0.stats().rounds).toBe(1);
    // sending twice in a row without receiving is still the same round
    p0.send(1, 'again', null);
    p0.send(1, 'again', null);
    await p1.recv(0, 'again');
    await p1.recv(0, 'again');
    expect(p1.rounds).toBe(2);

    // 2-hop chain on a fresh mesh: P0 -> P2 -> P1
    const fresh = (await mesh(3)).nodes as [MeshNode, MeshNode, MeshNode];
    fresh[0].send(2, 'hop', null);
    await fresh[2].recv(0, 'hop');
    fresh[2].send(1, 'hop', null);
    await fresh[1].recv(2, 'hop');
    expect(fresh.map((n) => n.rounds)).toEqual([0, 2, 1]);
    // the clock moves when the message is received, not when it arrives
    fresh[0].send(1, 'slow', null);
    await new Promise((r) => setTimeout(r, 50));
    expect(fresh[1].rounds).toBe(2);
    await fresh[1].recv(0, 'slow');
    expect(fresh[1].rounds).toBe(2); // depth 1 < 2
    // resetStats keeps the clock
    fresh[1].resetStats();
    expect(fresh[1].stats().rounds).toBe(2);
  });

  it('basis: chunks of one round sent after receiving the peer\'s first chunks stay in that round', async () => {
    const { nodes } = await mesh(2);
    const [p0, p1] = nodes as [MeshNode, MeshNode];
    const basis0 = p0.rounds;
    const basis1 = p1.rounds;
    p0.send(1, 'chunk', null, { basis: basis0 });
    p1.send(0, 'chunk', null, { basis: basis1 });
    await Promise.all([p0.recv(1, 'chunk'), p1.recv(0, 'chunk')]);
    // Without a basis these would be depth 2: they follow a receive.
    p0.send(1, 'chunk', null, { basis: basis0 });
    p1.send(0, 'chunk', null, { basis: basis1 });
    await Promise.all([p0.recv(1, 'chunk'), p1.recv(0, 'chunk')]);
    expect([p0.rounds, p1.rounds]).toEqual([1, 1]);
    p0.send(1, 'next', null);
    await p1.recv(0, 'next');
    expect(p1.rounds).toBe(2);
    expect(() => p0.send(1, 'x', null, { basis: p0.rounds + 1 })).toThrow(/basis 2 must be an integer in \[0, 1\]/);
  });

  it('copy: true lets the caller reuse its array at once', async () => {
    const { nodes } = await mesh(2);
    const scratch = new Uint8Array(4 << 20).fill(1);
    nodes[0]!.send(1, 'c', scratch, { copy: true });
    scratch.fill(2);
    nodes[0]!.send(1, 'c', scratch, { copy: true });
    scratch.fill(3);
    const a = await nodes[1]!.recv(0, 'c');
    const b = await nodes[1]!.recv(0, 'c');
    expect(a.payload!.every((x) => x === 1)).toBe(true);
    expect(b.payload!.every((x) => x === 2)).toBe(true);
  });

  it('recv timeout names the peer and the tag', async () => {
    const { nodes } = await mesh(2, { recvTimeoutMs: 150 });
    const t0 = Date.now();
    await expect(nodes[0]!.recv(1, 'nothing-here')).rejects.toThrow("timed out after 150 ms waiting for 'nothing-here' from P1");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    // the mesh still works afterwards
    nodes[1]!.send(0, 'nothing-here', null);
    expect((await nodes[0]!.recv(1, 'nothing-here')).seq).toBe(0);
  });

  it('orderly close is not an error for anyone', async () => {
    const m = await createLocalMesh(3);
    const fatal: Error[] = [];
    for (const n of m.nodes) n.onFatal((e) => fatal.push(e));
    m.nodes[0]!.send(1, 'last', new Uint8Array(1000));
    m.nodes[0]!.send(2, 'last', new Uint8Array(1000));
    await m.nodes[0]!.flush();
    await m.nodes[0]!.close(); // P0 leaves first; the others still read what it sent
    expect((await m.nodes[1]!.recv(0, 'last')).payload!.byteLength).toBe(1000);
    expect((await m.nodes[2]!.recv(0, 'last')).payload!.byteLength).toBe(1000);
    // nothing more will come from P0: a clear (non-fatal) error, no hang
    await expect(m.nodes[1]!.recv(0, 'more')).rejects.toThrow(/P0 has closed the session/);
    // P1 and P2 still talk
    m.nodes[1]!.send(2, 'still', null);
    await m.nodes[2]!.recv(1, 'still');
    await Promise.all([m.nodes[1]!.close(), m.nodes[2]!.close()]);
    await new Promise((r) => setTimeout(r, 50));
    expect(fatal).toEqual([]);
    // using a closed mesh is a clear error
    expect(() => m.nodes[1]!.send(2, 'x', null)).toThrow(/after close/);
    await expect(m.nodes[1]!.recv(2, 'x')).rejects.toThrow(/after close/);
  });

  it('flush resolves once big sends are handed to the socket', async () => {
    const { nodes } = await mesh(2);
    const big = randomBytes(8 << 20);
    nodes[0]!.send(1, 'big', big);
    nodes[0]!.send(1, 'big', big);
    const got = Promise.all([nodes[1]!.recv(0, 'big'), nodes[1]!.recv(0, 'big')]);
    await nodes[0]!.flush();
    await nodes[0]!.flush(); // nothing queued: resolves at once
    const [a, b] = await got;
    expect(Buffer.from(a.payload!).equals(big) && Buffer.from(b.payload!).equals(big)).toBe(true);
  });

  it('connect waits for late peers and names missing ones on timeout', async () => {
    const key = randomBytes(32);
    const base = { partyCount: 3, sessionId: 'late', sessionKey: key, log: () => {} };
    const n0 = await MeshNode.listen({ ...base, self: 0 });
    const n1 = await MeshNode.listen({ ...base, self: 1 });
    // P2 not listening yet: reserve a free port by listening and closing
    const probe = await MeshNode.listen({ ...base, self: 2 });
    const p2port = probe.port;
    await probe.close();
    const peers = [
      { id: 0, host: '127.0.0.1', port: n0.port },
      { id: 1, host: '127.0.0.1', port: n1.port },
      { id: 2, host: '127.0.0.1', port: p2port },
    ];
    const c0 = n0.connect(peers);
    const c1 = n1.connect(peers);
    await new Promise((r) => setTimeout(r, 300));
    const n2 = await MeshNode.listen({ ...base, self: 2, port: p2port });
    const [m0, m1, m2] = await Promise.all([c0, c1, n2.connect(peers)]);
    m2.send(0, 'hi', null);
    await m0.recv(2, 'hi');
    await Promise.all([m0.close(), m1.close(), m2.close()]);

    // nobody at P0's address: P1 gives up naming P0 and P2
    const lonely = await MeshNode.listen({ ...base, self: 1, connectTimeoutMs: 400 });
    await expect(lonely.connect(peers)).rejects.toThrow(/P1 could not connect to every peer within 400 ms; missing P0 \(dialing 127\.0\.0\.1:\d+: .*\), P2 \(it has not connected/);
  });

  it('a peer 1 s late still connects: refused dials are retried, not fatal', async () => {
    // P0 starts last, so P1's and P2's dials to it are refused until then; a
    // 15 s window leaves the old "any early failure" mistakes room to show.
    const base = { partyCount: 3, sessionId: 'late-1s', sessionKey: randomBytes(32), connectTimeoutMs: 15_000, log: () => {} };
    const n1 = await MeshNode.listen({ ...base, self: 1 });
    const n2 = await MeshNode.listen({ ...base, self: 2 });
    const p0port = await freePort();
    const peers = [
      { id: 0, host: '127.0.0.1', port: p0port },
      { id: 1, host: '127.0.0.1', port: n1.port },
      { id: 2, host: '127.0.0.1', port: n2.port },
    ];
    const c1 = n1.connect(peers);
    const c2 = n2.connect(peers);
    c1.catch(() => {});
    c2.catch(() => {});
    await new Promise((r) => setTimeout(r, 1_000));
    const n0 = await MeshNode.listen({ ...base, self: 0, port: p0port });
    const [m0, m1, m2] = await Promise.all([n0.connect(peers), c1, c2]);
    m2.send(0, 'hi', null);
    m1.send(0, 'hi', null);
    await Promise.all([m0.recv(2, 'hi'), m0.recv(1, 'hi')]);
    await Promise.all([m0.close(), m1.close(), m2.close()]);
  }, 30_000);
});
