/**
 * Pairwise PRG seeds agreed at session start over the authenticated
 * channels (PROTOCOLS.md 1): the lower id of each pair draws the seed and
 * sends it to the higher. Independent named streams are derived from a pair
 * seed with HMAC, so that (for example) dealer correlations and helper
 * masks never depend on each other's draw order.
 * Without TLS the seeds cross the wire in the clear: fine on loopback,
 * not across machines (wss is the hardening step).
 */
import { createHmac } from 'node:crypto';
import type { Mesh, PartyId } from '../net/types.js';
import { Prg, randomSeed, SEED_BYTES } from '../ring/prg.js';

const SEED_TAG = 'session.seed';

export class SeedBook {
  constructor(private readonly seeds: ReadonlyMap<PartyId, Uint8Array>) {}

  has(peer: PartyId): boolean {
    return this.seeds.has(peer);
  }

  /** A PRG shared with `peer`, independent for each label. */
  stream(peer: PartyId, label: string): Prg {
    const seed = this.seeds.get(peer);
    if (!seed) throw new Error(`no seed shared with P${peer}`);
    const key = createHmac('sha256', seed).update(`mpcnet-prg:${label}`).digest().subarray(0, SEED_BYTES);
    return new Prg(key);
  }
}

export async function agreeSeeds(mesh: Mesh): Promise<SeedBook> {
  const seeds = new Map<PartyId, Uint8Array>();
  for (let peer = 0; peer < mesh.partyCount; peer++) {
    if (peer <= mesh.self) continue;
    const seed = randomSeed();
    seeds.set(peer, seed);
    mesh.send(peer, SEED_TAG, seed, { cls: 'dealer' });
  }
  for (let peer = 0; peer < mesh.self; peer++) {
    const msg = await mesh.recv(peer, SEED_TAG);
    if (!msg.payload || msg.payload.byteLength !== SEED_BYTES) {
      throw new Error(`P${peer} sent a session seed of ${msg.payload?.byteLength ?? 0} bytes, expected ${SEED_BYTES}`);
    }
    seeds.set(peer, msg.payload.slice());
  }
  return new SeedBook(seeds);
}
