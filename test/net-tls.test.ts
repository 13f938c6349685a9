/**
 * TLS (wss) with per-party certificates pinned by the peer list: the mesh
 * works over it, and a party started with another party's certificate, an
 * unknown certificate, or a listener that is not the pinned party is refused
 * with an error naming the problem, while the honest parties go on.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalMesh, MeshNode, type LocalMesh, type PeerAddress, type Rejection } from '../src/net/index.js';
import { generateIdentity, type PartyIdentity } from '../src/net/identity.js';

let ids: PartyIdentity[] = [];
let stranger: PartyIdentity;
const meshes: LocalMesh[] = [];
const nodes: MeshNode[] = [];

beforeAll(async () => {
  ids = await Promise.all([0, 1, 2].map((id) => generateIdentity(id)));
  stranger = await generateIdentity(9);
});
afterEach(async () => {
  for (const n of nodes.splice(0)) n.abort();
  await Promise.all(meshes.splice(0).map((m) => m.close()));
});
afterAll(() => undefined);

const session = { sessionId: 'tls-test', sessionKey: randomBytes(32) };

async function listen(self: number, tls: PartyIdentity, rejections?: Rejection[]): Promise<MeshNode> {
  const node = await MeshNode.listen({ ...session, self, partyCount: 3, tls, connectTimeoutMs: 3_000, handshakeTimeoutMs: 1_000, log: () => {} });
  nodes.push(node);
  if (rejections) node.onRejected((r) => rejections.push(r));
  return node;
}

function peerList(ports: number[]): PeerAddress[] {
  return ports.map((port, id) => ({ id, host: '127.0.0.1', port, cert: ids[id]!.certPem }));
}

describe('mesh over TLS with pinned party certificates', () => {
  it('connects three parties over wss and moves payloads both ways', async () => {
    const m = await createLocalMesh(3, { ...session, identities: ids });
    meshes.push(m);
    expect(m.nodes.map((n) => n.transport)).toEqual(['tls', 'tls', 'tls']);
    const [p0, p1, p2] = m.nodes as [MeshNode, MeshNode, MeshNode];
    const big = new Uint8Array(randomBytes(1 << 20));
    p1.send(0, 'x', big);
    p0.send(1, 'y', Uint8Array.of(7));
    p2.send(1, 'z', null);
    expect(Buffer.from((await p0.recv(1, 'x')).payload!).equals(Buffer.from(big))).toBe(true);
    expect(Array.from((await p1.recv(0, 'y')).payload!)).toEqual([7]);
    await p1.recv(2, 'z');
  }, 30_000);

  it("refuses a party that holds another party's certificate and key, naming both ids", async () => {
    const rejected: Rejection[] = [];
    const p0 = await listen(0, ids[0]!, rejected);
    const impostor = await listen(2, ids[1]!); // P2 started with P1's key and certificate
    const peers = peerList([p0.port, 1, impostor.port]);
    // Misconfigured by mistake: its own peer list already says so.
    await expect(impostor.connect(peers)).rejects.toThrow("the peer list pins this party's certificate for P1: started with another party's key?");
    // A malicious one ignores its own peer list. As P1 it dials only P0, presenting P2's certificate.
    const liar = await listen(1, ids[2]!);
    const real = peerList([p0.port, liar.port, impostor.port]);
    const honest = p0.connect(real).catch((e: Error) => e);
    const forged = real.map((p) => (p.id === 2 ? { ...p, cert: stranger.certPem } : p));
    await expect(liar.connect(forged)).rejects.toThrow(/P1 cannot connect: P0 at 127\.0\.0\.1:\d+ refused the connection: it presents P2's certificate but claims to be P1/);
    expect(rejected.find((r) => r.claimedId === 1)?.reason).toBe("it presents P2's certificate but claims to be P1");
    expect(((await honest) as Error).message).toMatch(/missing P1.*P2|missing P2.*P1/);
  }, 30_000);

  it('refuses an unknown certificate, and the honest parties go on waiting for the real P2', async () => {
    const rejected: Rejection[] = [];
    const p0 = await listen(0, ids[0]!, rejected);
    const p1 = await listen(1, ids[1]!);
    const outsider = await listen(2, stranger);
    const peers = peerList([p0.port, p1.port, outsider.port]);
    const honest = [p0.connect(peers), p1.connect(peers)].map((p) => p.catch((e: Error) => e));
    const err = await outsider.connect(peers).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/refused the connection: unknown certificate [0-9A-F:]+\.\.\.: not pinned in this session/);
    expect(rejected.some((r) => r.reason.startsWith('unknown certificate') && r.claimedId === 2)).toBe(true);
    for (const r of await Promise.all(honest)) expect((r as Error).message).toMatch(/missing P2/);
  }, 30_000);

  it('a dialer refuses a listener that is not the pinned party', async () => {
    const p0 = await listen(0, stranger); // something else listens where P0 should be
    const p1 = await listen(1, ids[1]!);
    const peers = peerList([p0.port, p1.port, 1]);
    const err = await p1.connect(peers).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/P1 cannot connect: P0 at 127\.0\.0\.1:\d+ failed authentication: it presented certificate [0-9A-F:]+\.\.\., not the one pinned for P0/);
  }, 30_000);

  it('needs every certificate in the peer list, and a key that matches its certificate', async () => {
    const p1 = await listen(1, ids[1]!);
    const noCert = peerList([1, p1.port, 1]).map((p) => (p.id === 2 ? { id: p.id, host: p.host, port: p.port } : p));
    await expect(p1.connect(noCert)).rejects.toThrow("peer list has no certificate for P2 (TLS sessions pin every party's certificate)");
    await expect(MeshNode.listen({ ...session, self: 0, partyCount: 3, tls: { keyPem: ids[1]!.keyPem, certPem: ids[0]!.certPem } }))
      .rejects.toThrow("P0's TLS identity: the private key does not belong to this party's certificate");
  }, 30_000);
});
