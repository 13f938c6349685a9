/**
 * The peer list given to connect(), checked before anything is dialed: ids
 * in range, an address for every lower id (this party dials those), and in
 * TLS sessions a distinct certificate for every other party, none of them
 * this party's own. Each link gets its address and pinned fingerprint; the
 * fingerprint -> id map is what the listener side checks dialers against.
 */
import { certFingerprint, type PartyIdentity } from './identity.js';
import type { PeerLink } from './links.js';
import type { PartyId, PeerAddress } from './types.js';

/** Record addresses and pins on the links; throws on the first problem with the list. */
export function applyPeerList(
  links: ReadonlyArray<PeerLink | null>, self: PartyId, partyCount: number, tls: PartyIdentity | null, peers: PeerAddress[],
): Map<string, PartyId> {
  const pins = new Map<string, PartyId>();
  for (const p of peers) {
    if (!Number.isInteger(p.id) || p.id < 0 || p.id >= partyCount) throw new Error(`peer list has party id ${p.id} outside 0..${partyCount - 1}`);
    if (p.id === self) continue;
    const link = links[p.id]!;
    if (tls) {
      if (typeof p.cert !== 'string') throw new Error(`peer list has no certificate for P${p.id} (TLS sessions pin every party's certificate)`);
      link.fingerprint = certFingerprint(p.cert, `the certificate of P${p.id} in the peer list`);
      if (pins.has(link.fingerprint)) throw new Error(`P${p.id} has the same certificate as P${pins.get(link.fingerprint)} in the peer list`);
      pins.set(link.fingerprint, p.id);
    }
    if (p.id > self) continue; // higher ids dial us
    if (typeof p.host !== 'string' || !Number.isInteger(p.port) || p.port <= 0 || p.port > 65535) {
      throw new Error(`peer list has a bad address for P${p.id}: ${p.host}:${p.port}`);
    }
    link.address = { id: p.id, host: p.host, port: p.port };
  }
  for (let id = 0; id < self; id++) if (!links[id]!.address) throw new Error(`peer list has no address for P${id}`);
  if (tls) {
    for (let id = 0; id < partyCount; id++) {
      if (id !== self && links[id]!.fingerprint === null) throw new Error(`peer list has no certificate for P${id} (TLS sessions pin every party's certificate)`);
    }
    const mine = pins.get(certFingerprint(tls.certPem, 'this party\'s certificate'));
    if (mine !== undefined) throw new Error(`P${self}: the peer list pins this party's certificate for P${mine}: started with another party's key?`);
  }
  return pins;
}
