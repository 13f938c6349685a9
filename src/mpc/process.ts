/**
 * Glue between a party process and whoever started it.
 * - Forked by the launcher (IPC channel present): the launcher sends
 *   { type: 'start', self, config }, we answer { type: 'listening', port },
 *   get { type: 'peers', peers }, stream { type: 'progress' } and finish with
 *   { type: 'result' } or { type: 'error' }.
 * - Started by hand (`mpcnet party --id N --config session.json`): the
 *   addresses come from the config file and the result is printed as JSON.
 */
import { writeFileSync } from 'node:fs';
import type { PartyId, PeerAddress } from '../net/types.js';
import type { ProgressEvent } from './context.js';
import { runParty, type HolderProgram, type PartyResult } from './runtime.js';
import { parseSessionConfig, readSessionConfig, type SessionConfig } from './session.js';

export type LauncherMessage =
  | { type: 'start'; self: PartyId; config: SessionConfig }
  | { type: 'peers'; peers: PeerAddress[] };

export type PartyMessage =
  | { type: 'listening'; port: number }
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'result'; result: PartyResult }
  | { type: 'error'; message: string };

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
    const onDisconnect = (): void => reject(new Error(`launcher went away before sending '${type}'`));
    process.on('message', onMessage);
    process.once('disconnect', onDisconnect);
  });
}

/** Entry of a forked party process. Exits the process when done. */
export async function partyMainIpc(program: HolderProgram): Promise<never> {
  let self: PartyId = -1;
  try {
    const start = await nextLauncherMessage('start');
    self = start.self;
    const config = parseSessionConfig(start.config);
    const result = await runParty(self, config, {
      exchangeAddresses: async (port) => {
        const peers = nextLauncherMessage('peers');
        await sendToLauncher({ type: 'listening', port });
        return (await peers).peers;
      },
      progress: (event) => void sendToLauncher({ type: 'progress', event }),
    }, program);
    await sendToLauncher({ type: 'result', result });
    process.exit(0);
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`[P${self < 0 ? '?' : self}] error: ${message}\n`);
    await sendToLauncher({ type: 'error', message });
    process.exit(1);
  }
}

/** Entry of a hand-started party. */
export async function partyMainManual(self: PartyId, configPath: string, program: HolderProgram, outPath?: string): Promise<PartyResult> {
  const config = readSessionConfig(configPath);
  if (!config.peers) throw new Error(`session config ${configPath} has no 'peers': hand-started parties need fixed addresses`);
  const peers = config.peers;
  const result = await runParty(self, config, {
    exchangeAddresses: async () => peers,
    progress: (event) => process.stderr.write(`[P${self}] ${event.message}\n`),
  }, program);
  const json = JSON.stringify(result, null, 2);
  if (outPath) writeFileSync(outPath, json);
  else process.stdout.write(json + '\n');
  return result;
}
