/**
 * Glue between a party process and whoever started it.
 * - Forked by the launcher (IPC channel present): the launcher sends
 *   { type: 'start', self, config }, we answer { type: 'listening', port },
 *   get { type: 'peers', peers }, stream { type: 'progress' } and finish with
 *   { type: 'result' } or { type: 'error' }.
 * - Started by hand (`mpcnet party --id N --config session.json`): the
 *   addresses come from the config file and the result is printed as JSON.
 */
import { writeFileAtomic } from '../common/atomic-write.js';
import { SIGNAL_EXIT } from '../common/stop-children.js';
import { checkIdentity, readPemFile, type PartyIdentity } from '../net/identity.js';
import type { PartyId, PeerAddress } from '../net/types.js';
import type { ProgressEvent } from './context.js';
import { runParty, type HolderProgram, type PartyResult } from './runtime.js';
import { parseSessionConfig, readSessionConfig, type SessionConfig } from './session.js';

export type LauncherMessage =
  | { type: 'start'; self: PartyId; config: SessionConfig }
  | { type: 'peers'; peers: PeerAddress[] }
  /** Another party is gone (it exited or was killed): end the run now, naming it, rather than at a timeout. */
  | { type: 'abort'; reason: string };

export type PartyMessage =
  | { type: 'listening'; port: number; cert: string | null }
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'result'; result: PartyResult }
  | { type: 'error'; message: string };

/** After an abort, the run unwinds and the process exits on its own; this is the backstop. */
const ABORT_EXIT_MS = 3_000;

/**
 * SIGINT, SIGTERM and SIGHUP abort the run (the peers' errors name this
 * party and the signal) and make the process exit with 128 + the signal's
 * number; a second signal, a signal after the run, or a run that does not
 * unwind within ABORT_EXIT_MS exits at once. `controller.signal` is what
 * runParty watches; call `finished()` once the run is over.
 */
function abortOnSignals(label: () => string): { controller: AbortController; exitCode: () => number; finished: () => void } {
  const controller = new AbortController();
  let code = 1;
  let running = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(code);
    code = SIGNAL_EXIT[sig] ?? 1;
    process.stderr.write(`[${label()}] received ${sig}${running ? ': aborting' : ''}\n`);
    if (!running) process.exit(code);
    controller.abort(new Error(`received ${sig}`));
    setTimeout(() => process.exit(code), ABORT_EXIT_MS);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  return { controller, exitCode: () => code, finished: () => { running = false; } };
}

function sendToLauncher(msg: PartyMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

function nextLauncherMessage<T extends LauncherMessage['type']>(type: T): Promise<Extract<LauncherMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      const m = msg as { type?: unknown };
      if (m && m.type === type) {
        process.off('message', onMessage);
        process.off('disconnect', onDisconnect);
        resolve(msg as Extract<LauncherMessage, { type: T }>);
      }
    };
    const onDisconnect = (): void => reject(new Error(`the launcher went away before sending '${type}'`));
    process.on('message', onMessage);
    process.once('disconnect', onDisconnect);
  });
}

/** Entry of a forked party process. Exits the process when done. */
export async function partyMainIpc(program: HolderProgram): Promise<never> {
  let self: PartyId = -1;
  const label = (): string => `P${self < 0 ? '?' : self}`;
  // Our stderr is a pipe to the launcher: if it died, a write must not crash us before the abort below.
  process.stderr.on('error', () => {});
  const { controller, exitCode } = abortOnSignals(label);
  // The launcher gone (killed, crashed): nobody would collect our result or stop us, so end the run.
  process.once('disconnect', () => {
    if (!controller.signal.aborted) controller.abort(new Error('the launcher went away (IPC channel closed)'));
    setTimeout(() => process.exit(exitCode()), ABORT_EXIT_MS);
  });
  process.on('message', (raw) => {
    const msg = raw as Partial<LauncherMessage>;
    if (msg && msg.type === 'abort' && !controller.signal.aborted) controller.abort(new Error(String(msg.reason)));
  });
  try {
    const start = await nextLauncherMessage('start');
    self = start.self;
    const config = parseSessionConfig(start.config);
    const result = await runParty(self, config, {
      exchangeAddresses: async (port, cert) => {
        const peers = nextLauncherMessage('peers');
        await sendToLauncher({ type: 'listening', port, cert });
        return (await peers).peers;
      },
      progress: (event) => void sendToLauncher({ type: 'progress', event }),
      signal: controller.signal,
    }, program);
    await sendToLauncher({ type: 'result', result });
    process.exit(0);
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`[${label()}] error: ${message}\n`);
    await sendToLauncher({ type: 'error', message });
    process.exit(exitCode());
  }
}

/** Entry of a hand-started party. A signal aborts the run (see abortOnSignals); other errors are the caller's to report. */
export async function partyMainManual(self: PartyId, configPath: string, program: HolderProgram, outPath?: string, keyPath?: string): Promise<PartyResult> {
  const config = readSessionConfig(configPath);
  if (!config.peers) throw new Error(`session config ${configPath} has no 'peers': hand-started parties need fixed addresses`);
  const peers = config.peers;
  const identity = config.transport === 'tls' ? manualIdentity(self, configPath, peers, keyPath) : undefined;
  const { controller, exitCode, finished } = abortOnSignals(() => `P${self}`);
  let result: PartyResult;
  try {
    result = await runParty(self, config, {
      exchangeAddresses: async () => peers,
      ...(identity ? { identity } : {}),
      progress: (event) => process.stderr.write(`[P${self}] ${event.message}\n`),
      signal: controller.signal,
    }, program);
  } catch (err) {
    // A signal was already reported ("[P1] received SIGTERM: aborting"); exit with its status,
    // not the CLI's generic 1. Other errors go to the caller.
    if (controller.signal.aborted) process.exit(exitCode());
    throw err;
  } finally {
    finished();
  }
  const json = JSON.stringify(result, null, 2);
  if (outPath) writeFileAtomic(outPath, json);
  else process.stdout.write(json + '\n');
  return result;
}

/** A hand-started party's TLS identity: its key file and its certificate as pinned in the session config. */
function manualIdentity(self: PartyId, configPath: string, peers: readonly PeerAddress[], keyPath: string | undefined): PartyIdentity {
  if (keyPath === undefined) throw new Error(`session config ${configPath} is a TLS session: give P${self}'s private key with --key (P${self}.key.pem from mpcnet keygen)`);
  const certPem = peers[self]?.cert;
  if (certPem === undefined) throw new Error(`session config ${configPath} has no certificate for P${self}`);
  const identity = { keyPem: readPemFile(keyPath, `P${self}'s key`), certPem };
  checkIdentity(identity, `--key ${keyPath} with P${self}'s certificate in ${configPath}`);
  return identity;
}
