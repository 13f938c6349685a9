/**
 * What a party process does, whatever its role: listen, learn the peers'
 * addresses, connect the mesh, agree pairwise seeds, run the job program
 * (every party, P2 with placeholder tensors) and, on P2, the dealer loop
 * beside it, and report. Any fatal mesh error (a peer died, went silent, or
 * sent a malformed frame) ends the run with an error naming it.
 */
import { MeshNode } from '../net/index.js';
import { generateIdentity, type PartyIdentity } from '../net/identity.js';
import type { Mesh, MeshStats, PartyId, PeerAddress } from '../net/types.js';
import { Context, type HolderId, type ProfileEntry, type ProgressEvent } from './context.js';
import { DealerClient, DEALER_ID } from './dealer-client.js';
import { serveDealer, type DealerSummary } from './dealer-service.js';
import { armFault, faultPoint } from './fault-hook.js';
import { jobHashOf, planFile, PlanReader, PlanRecorder } from './offline-plan.js';
import { agreeSeeds, type SeedBook } from './seeds.js';
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
  /** Publish our listening port (and TLS certificate) and get every party's address (and certificate). */
  exchangeAddresses(port: number, cert: string | null): Promise<PeerAddress[]>;
  /** TLS sessions: this party's key and certificate (hand-started parties); made fresh when absent. */
  identity?: PartyIdentity;
  progress?(event: ProgressEvent): void;
  log?(line: string): void;
  /**
   * Ends the run at any stage (a signal, the launcher gone or reporting a
   * dead party): the mesh is aborted with the reason's message, which peers
   * see in the close frame ("P1 aborted: received SIGTERM"), and runParty
   * rejects with the reason.
   */
  signal?: AbortSignal;
}

export function roleOf(id: PartyId, mode: '2pc' | '3pc'): PartyRole {
  if (id !== DEALER_ID) return 'holder';
  return mode === '3pc' ? 'helper' : 'dealer';
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
}

export async function runParty(self: PartyId, config: SessionConfig, hooks: PartyHooks, program: HolderProgram): Promise<PartyResult> {
  if (!Number.isInteger(self) || self < 0 || self >= PROCESS_COUNT) throw new RangeError(`party id must be 0..${PROCESS_COUNT - 1}, got ${self}`);
  armFault(self);
  const signal = hooks.signal;
  if (signal?.aborted) throw abortReason(signal);
  // Every wait below races this, so an abort ends the run at whatever stage it is.
  let stop: (err: Error) => void = () => {};
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  stopped.catch(() => {}); // raced below; never unhandled when nobody is waiting yet
  let node: MeshNode | null = null;
  const onAbort = (): void => {
    const reason = abortReason(signal!);
    node?.abort(reason.message);
    stop(reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const fixed = config.peers?.[self];
    // TLS: a party started by the launcher makes its own key (it never leaves this process).
    const identity = config.transport === 'tls' ? hooks.identity ?? await generateIdentity(self) : null;
    // Not raced: binding is quick, and a node that came up after an abort would stay listening.
    node = await MeshNode.listen({
      ...(identity ? { tls: identity } : {}),
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
    if (signal?.aborted) node.abort(abortReason(signal).message);
    const peers = await Promise.race([hooks.exchangeAddresses(node.port, identity?.certPem ?? null), stopped]);
    const connecting = node.connect(peers);
    faultPoint('handshake');
    const mesh = await Promise.race([connecting, stopped]);
    return await runConnected(self, config, mesh, hooks, program, stopped);
  } catch (err) {
    // Whatever failed on the way, an abort's reason is the cause to report.
    if (signal?.aborted) throw abortReason(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function runConnected(self: PartyId, config: SessionConfig, mesh: Mesh, hooks: PartyHooks, program: HolderProgram, stopped: Promise<never>): Promise<PartyResult> {
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
    const done = await Promise.race([runRole(self, config, mesh, hooks, program), fatalPromise, stopped]);
    await Promise.race([mesh.flush(), fatalPromise, stopped]);
    const result: PartyResult = { id: self, role: roleOf(self, config.mode), seconds: (performance.now() - started) / 1000, stats: mesh.stats(), ...done };
    await mesh.close();
    return result;
  } catch (err) {
    const failure = await Promise.race([explainFailure(self, mesh, err as Error, linkFailures), stopped]);
    // No orderly goodbye: peers must see the failure (a dropped connection), not a clean end.
    mesh.abort();
    throw failure;
  }
}

/** How long a failing party waits for other peers' failures and reports before it gives up (see explainFailure). */
const CASCADE_MS = 300;
/** Control channel, used only by a failing party: its error, for the others' error messages. */
const REPORT_TAG = 'party:failure-report';

/** A peer's text, safe for one log line (no control characters) and short. */
function peerText(bytes: Uint8Array | null): string {
  const text = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '';
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 400);
}

/**
 * A failing party's error, naming the root cause where others know it.
 * - When a peer dies, another survivor may abort first and this party may
 *   see that survivor's disconnect before the dead party's (an abort's
 *   close frame, naming the cause, can sit behind megabytes of queued
 *   shares and be lost): it names every peer it lost, the first one first,
 *   "P2 disconnected (code 1006); also P0 disconnected (code 1006)".
 * - When a party is stopped (SIGSTOP, a hung machine), every survivor's
 *   wait times out at about the same moment, each naming the peer it waited
 *   for, which may be another survivor waiting in turn. So a failing party
 *   first tells the others why (over the links still open), and waits a
 *   moment for their reasons: "timed out ... from P2; P2 reports: timed out
 *   ... from P0".
 */
async function explainFailure(self: PartyId, mesh: Mesh, err: Error, linkFailures: Error[]): Promise<Error> {
  const report = Buffer.from(err.message.slice(0, 400), 'utf8');
  const peers = Array.from({ length: PROCESS_COUNT }, (_, id) => id).filter((id) => id !== self);
  const reports: { peer: PartyId; text: string }[] = [];
  for (const peer of peers) {
    try {
      mesh.send(peer, REPORT_TAG, report);
    } catch {
      /* that link is gone: its failure is in linkFailures (a report it sent before may still be queued) */
    }
    mesh.recv(peer, REPORT_TAG).then((m) => void reports.push({ peer, text: peerText(m.payload) }), () => {});
  }
  await new Promise((resolve) => setTimeout(resolve, CASCADE_MS));
  const others = linkFailures.map((f) => f.message).filter((m, i, all) => m !== err.message && all.indexOf(m) === i);
  // A report already inside another message (a close frame's reason) adds nothing.
  for (const r of reports) if (r.text && ![err.message, ...others].some((m) => m.includes(r.text))) others.push(`P${r.peer} reports: ${r.text}`);
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
  const ctx = Context.holder(config.mode, id, mesh, holderDealer(config, mesh, id, seeds), seeds, opts);
  const output = await program(ctx, config.job);
  ctx.dealer.finish();
  return { output, profile: ctx.profile() };
}

/**
 * The holder's dealer client: online (asks P2), or with an offline plan
 * (config.offlinePlan, 2pc) reading this holder's plan file, whose fixed
 * dealer seed replaces the agreed one for the dealer pair only. P2 then runs
 * its dealer loop as usual but is asked nothing.
 */
function holderDealer(config: SessionConfig, mesh: Mesh, id: HolderId, seeds: SeedBook): DealerClient {
  const plan = config.offlinePlan;
  if (!plan) {
    if (config.recordPlan === undefined || id !== 0) return new DealerClient(mesh, id, seeds);
    const recorder = new PlanRecorder(config.recordPlan, jobHashOf(config));
    return new DealerClient(mesh, id, seeds, undefined, (spec, label) => recorder.add(spec, label));
  }
  const reader = new PlanReader(planFile(plan.dir, id), id, { planId: plan.planId, jobHash: jobHashOf(config) });
  return new DealerClient(mesh, id, seeds.withSeed(DEALER_ID, reader.dealerSeed), reader);
}
