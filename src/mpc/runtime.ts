/**
 * What a party process does, whatever its role: listen, learn the peers'
 * addresses, connect the mesh, agree pairwise seeds, run the job program
 * (every party, P2 with placeholder tensors) and, on P2, the dealer loop
 * beside it, and report. Any fatal mesh error (a peer died, went silent, or
 * sent a malformed frame) ends the run with an error naming it.
 */
import { MeshNode } from '../net/index.js';
import type { Mesh, MeshStats, PartyId, PeerAddress } from '../net/types.js';
import { Context, type HolderId, type ProfileEntry, type ProgressEvent } from './context.js';
import { DealerClient, DEALER_ID } from './dealer-client.js';
import { serveDealer, type DealerSummary } from './dealer-service.js';
import { agreeSeeds } from './seeds.js';
import { PROCESS_COUNT, type SessionConfig } from './session.js';

export type PartyRole = 'holder' | 'dealer' | 'helper';

/** The job program every party runs (P2 too: it holds placeholders and joins the protocols that need it). Returns JSON-able output. */
export type HolderProgram = (ctx: Context, job: unknown) => Promise<unknown>;

export interface PartyResult {
  id: PartyId;
  role: PartyRole;
  /** Wall time from connected mesh to finished job. */
  seconds: number;
  /** Whole-session traffic (the job may report finer-grained figures in its output). */
  stats: MeshStats;
  /** Wall time and online traffic per protocol (Context.call). */
  profile?: Record<string, ProfileEntry>;
  /** P2: correlations served as the dealer. */
  dealer?: DealerSummary;
  output: unknown;
}

export interface PartyHooks {
  /** Publish our listening port and get every party's address. */
  exchangeAddresses(port: number): Promise<PeerAddress[]>;
  progress?(event: ProgressEvent): void;
  log?(line: string): void;
}

export function roleOf(id: PartyId, mode: '2pc' | '3pc'): PartyRole {
  if (id !== DEALER_ID) return 'holder';
  return mode === '3pc' ? 'helper' : 'dealer';
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
  const linkFailures: Error[] = [];
  mesh.onFatal((err) => {
    linkFailures.push(err);
    fatal(err);
  });
  try {
    const started = performance.now();
    const done = await Promise.race([runRole(self, config, mesh, hooks, program), fatalPromise]);
    await Promise.race([mesh.flush(), fatalPromise]);
    const result: PartyResult = { id: self, role: roleOf(self, config.mode), seconds: (performance.now() - started) / 1000, stats: mesh.stats(), ...done };
    await mesh.close();
    return result;
  } catch (err) {
    const failure = linkFailures.length > 0 ? await withCascade(err as Error, linkFailures) : (err as Error);
    // No orderly goodbye: peers must see the failure (a dropped connection), not a clean end.
    mesh.abort();
    throw failure;
  }
}

/** How long a failing party waits for other peers' failures before it gives up (see withCascade). */
const CASCADE_MS = 300;

/**
 * When a peer dies, another survivor may abort first and this party may see
 * that survivor's disconnect before the dead party's (an abort's close
 * frame, naming the cause, can sit behind megabytes of queued shares and be
 * lost). So a party that fails on a lost link waits a moment and names
 * every peer it lost, the first one first: "P2 disconnected (code 1006);
 * also P0 disconnected (code 1006)".
 */
async function withCascade(err: Error, failures: Error[]): Promise<Error> {
  await new Promise((resolve) => setTimeout(resolve, CASCADE_MS));
  const others = failures.map((f) => f.message).filter((m, i, all) => m !== err.message && all.indexOf(m) === i);
  if (others.length === 0) return err;
  const combined = new Error(`${err.message}; also ${others.join('; also ')}`);
  combined.stack = err.stack ?? '';
  return combined;
}

type RoleOutcome = Pick<PartyResult, 'output' | 'profile' | 'dealer'>;

async function runRole(self: PartyId, config: SessionConfig, mesh: Mesh, hooks: PartyHooks, program: HolderProgram): Promise<RoleOutcome> {
  const seeds = await agreeSeeds(mesh, config.sessionId);
  const opts = {
    fracBits: config.fracBits,
    truncation: config.truncation,
    ...(hooks.progress ? { onProgress: hooks.progress } : {}),
  };
  if (self === DEALER_ID) {
    // 2pc: P2 is only the dealer. 3pc: the dealer loop and the job program run
    // side by side; the loop ends when P0 says its job is over.
    if (config.mode === '2pc') return { output: null, dealer: await serveDealer(mesh, seeds) };
    const ctx = Context.helper(config.mode, mesh, seeds, opts);
    const [dealer, output] = await Promise.all([serveDealer(mesh, seeds), program(ctx, config.job)]);
    return { output, profile: ctx.profile(), dealer };
  }
  const id = self as HolderId;
  const ctx = Context.holder(config.mode, id, mesh, new DealerClient(mesh, id, seeds), seeds, opts);
  const output = await program(ctx, config.job);
  ctx.dealer.finish();
  return { output, profile: ctx.profile() };
}
