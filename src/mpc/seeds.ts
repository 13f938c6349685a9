/**
 * Pairwise PRG seeds (PROTOCOLS.md 1): k01, k02 and k12, agreed at session
 * start by an X25519 key exchange over the authenticated channels, so the
 * seeds themselves never cross the wire. Each party of a pair sends a fresh
 * ephemeral public key; both derive the seed with HKDF-SHA256 from the
 * shared secret, bound to the session id and the pair.
 *
 * Independent named streams are derived from a pair seed with HMAC, so that
 * (for example) dealer correlations and helper masks never depend on each
 * other's draw order. A protocol call derives its own streams from its call
 * path (Context), so concurrent calls never share a stream.
 */
import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto';
import type { Mesh, PartyId } from '../net/types.js';
import { Prg, SEED_BYTES } from '../ring/prg.js';

const KEY_TAG = 'session.x25519';
/** DER (SPKI) encoding of an X25519 public key: 12-byte prefix + 32-byte key. */
const SPKI_BYTES = 44;

export class SeedBook {
  constructor(private readonly seeds: ReadonlyMap<PartyId, Uint8Array>) {}

  has(peer: PartyId): boolean {
    return this.seeds.has(peer);
  }

  /** The same book with `peer`'s seed replaced (an offline plan's fixed dealer seed, src/mpc/offline-plan.ts). */
  withSeed(peer: PartyId, seed: Uint8Array): SeedBook {
    return new SeedBook(new Map([...this.seeds, [peer, seed]]));
  }

  /** A PRG shared with `peer`, independent for each label. */
  stream(peer: PartyId, label: string): Prg {
    const seed = this.seeds.get(peer);
    if (!seed) throw new Error(`no seed shared with P${peer}`);
    const key = createHmac('sha256', seed).update(`mpcnet-prg:${label}`).digest().subarray(0, SEED_BYTES);
    return new Prg(key);
  }
}

/** Runs the key exchange with every peer; resolves with the pairwise seeds. */
export async function agreeSeeds(mesh: Mesh, sessionId = ''): Promise<SeedBook> {
  const seeds = new Map<PartyId, Uint8Array>();
  const keys = new Map<PartyId, ReturnType<typeof generateKeyPairSync>>();
  for (let peer = 0; peer < mesh.partyCount; peer++) {
    if (peer === mesh.self) continue;
    const pair = generateKeyPairSync('x25519');
    keys.set(peer, pair);
    mesh.send(peer, KEY_TAG, pair.publicKey.export({ format: 'der', type: 'spki' }), { cls: 'dealer', copy: true });
  }
  for (const [peer, pair] of keys) {
    const msg = await mesh.recv(peer, KEY_TAG);
    if (!msg.payload || msg.payload.byteLength !== SPKI_BYTES) {
      throw new Error(`P${peer} sent a key-exchange public key of ${msg.payload?.byteLength ?? 0} bytes, expected ${SPKI_BYTES}`);
    }
    let theirs;
    try {
      theirs = createPublicKey({ key: Buffer.from(msg.payload), format: 'der', type: 'spki' });
    } catch (err) {
      throw new Error(`P${peer} sent an invalid X25519 public key: ${(err as Error).message}`);
    }
    if (theirs.asymmetricKeyType !== 'x25519') throw new Error(`P${peer} sent a ${String(theirs.asymmetricKeyType)} key, expected x25519`);
    let secret: Buffer;
    try {
      secret = diffieHellman({ privateKey: pair.privateKey, publicKey: theirs });
    } catch (err) {
      throw new Error(`P${peer} sent an X25519 key that gives no shared secret (a low-order point?): ${(err as Error).message}`);
    }
    const lo = Math.min(peer, mesh.self);
    const hi = Math.max(peer, mesh.self);
    const seed = new Uint8Array(hkdfSync('sha256', secret, Buffer.from(sessionId), `mpcnet-pair-seed:${lo}-${hi}`, SEED_BYTES));
    seeds.set(peer, seed);
  }
  return new SeedBook(seeds);
}
