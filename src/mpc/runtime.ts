/**
 * What a party process does, whatever its role: listen, learn the peers'
 * addresses, connect the mesh, agree seeds, then run the job (P0, P1) or
 * the dealer / helper loop (P2), and report. Any fatal mesh error (a peer
 * died, went silent, or sent a malformed frame) ends the run with an error
 * naming it.
 */
import { MeshNode } from '../net/index.js';
import type { Mesh, MeshStats, PartyId, PeerAddress } from '../net/types.js';
import { Context, type HolderId, type ProfileEntry, type ProgressEvent } from './context.js';
import { DealerClient, DEALER_ID } from './dealer-client.js';
import { serveDealer } from './dealer-service.js';
import { agreeSeeds, type SeedBook } from './seeds.js';
import { PROCESS_COUNT, type SessionConfig } from './session.js';

export type PartyRole = 'holder' | 'dealer';

/** A share holder's program: the job, given its context. Returns JSON-able output. */
export type HolderProgram = (ctx: Context, job: unknown) => Promise<unknown>;

export interface PartyResult {
  id: PartyId;
  role: PartyRole;
  /** Wall time from connected mesh to finished job. */
  seconds: number;
  /** Whole-session traffic (the job may report finer-grained figures in its output). */
  stats: MeshStats;
  /** Holders: wall time and online traffic per protocol (Context.section). */
  profile?: Record<string, ProfileEntry>;
  output: unknown;
}

export interface PartyHooks {
  /** Publish our listening port and get every party's address. */
  exchangeAddresses(port: number): Promise<PeerAddress[]>;
  progress?(event: ProgressEvent): void;
  log?(line: string): void;
}

/** Labels of the PRG streams derived from pairwise seeds. */
export const STREAM = {
  /** k01: masks shared by P0 and P1. */
  common: 'common',
  /** k02 / k12: dealer correlations. */
  dealer: 'dealer',
} as const;

export function roleOf(id: PartyId): PartyRole {
  return id === DEALER_ID ? 'dealer' : 'holder';
}

export async function runParty(self: PartyId, config: SessionConfig, hooks: PartyHooks, program: HolderProgram): Promise<PartyResult> {
  if (!Number.isInteger(self) || self < 0 || self >= PROCESS_COUNT) throw new RangeError(`party id must be 0..${PROCESS_COUNT - 1}, got ${self}`);
  const fixed = config.peers?.[self];
  const node = await MeshNode.listen({
    self,
    partyCount: PROCESS_COUNT,
    sessionId: config.sessionId,
    sessionKey: Buffer.from(config.sessionKeyHex, 'hex'),
    host: fixed?.host ?? config.host,
    port: fixed?.port ?? 0,
    connectTimeoutMs: config.connectTimeoutMs,
    recvTimeoutMs: config.recvTimeoutMs,
    ...(hooks.log ? { log: hooks.log } : {}),
  });
  const peers = await hooks.exchangeAddresses(node.port);
  const mesh = await node.connect(peers);
  let fatal: (err: Error) => void = () => {};
  const fatalPromise = new Promise<never>((_, reject) => {
    fatal = reject;
  });
  mesh.onFatal((err) => fatal(err));
  try {
    const started = performance.now();
    const { output, profile } = await Promise.race([runRole(self, config, mesh, hooks, program), fatalPromise]);
    await Promise.race([mesh.flush(), fatalPromise]);
    const result: PartyResult = { id: self, role: roleOf(self), seconds: (performance.now() - started) / 1000, stats: mesh.stats(), output };
    if (profile) result.profile = profile;
    await mesh.close();
    return result;
  } catch (err) {
    // No orderly goodbye: peers must see the failure (a dropped connection), not a clean end.
    mesh.abort();
    throw err;
  }
}

async function runRole(
  self: PartyId, config: SessionConfig, mesh: Mesh, hooks: PartyHooks, program: HolderProgram,
): Promise<{ output: unknown; profile?: Record<string, ProfileEntry> }> {
  const seeds = await agreeSeeds(mesh);
  if (self === DEALER_ID) return { output: await serveDealer(mesh, seeds.stream(0, STREAM.dealer), seeds.stream(1, STREAM.dealer)) };
  const ctx = holderContext(self as HolderId, config, mesh, seeds, hooks);
  const output = await program(ctx, config.job);
  ctx.dealer.finish();
  return { output, profile: ctx.profile() };
}

function holderContext(id: HolderId, config: SessionConfig, mesh: Mesh, seeds: SeedBook, hooks: PartyHooks): Context {
  const dealer = new DealerClient(mesh, id, seeds.stream(DEALER_ID, STREAM.dealer));
  const common = seeds.stream(id === 0 ? 1 : 0, STREAM.common);
  return Context.holder(config.mode, id, mesh, dealer, common, {
    fracBits: config.fracBits,
    truncation: config.truncation,
    ...(hooks.progress ? { onProgress: hooks.progress } : {}),
  });
}
