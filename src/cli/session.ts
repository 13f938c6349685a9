/** `mpcnet session`: write a session config for hand-started parties. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RECV_TIMEOUT_MS, newSession, PROCESS_COUNT } from '../mpc/session.js';
import { certFingerprint, readPemFile } from '../net/identity.js';
import { arithSession, withArithJobOptions, type ArithJobArgs } from './arith-job.js';
import { offlinePlanFor } from './offline-option.js';
import { resolveInferJob, withInferJobOptions, type InferJobArgs } from './infer.js';
import type { SessionOptions } from '../mpc/session.js';
import { writeIdentityFiles } from './keygen.js';
import { transportNote, transportOf } from './transport-option.js';

interface Args extends ArithJobArgs, Omit<InferJobArgs, 'model'> {
  /** Secure inference of this model instead of the arith job. */
  model?: string;
  out: string;
  hosts: string;
  ports: string;
  startWindow: number;
  recvTimeout: number;
  certs?: string;
  keyDir?: string;
  offline?: string;
}

/** Seconds from the command line to whole milliseconds within the config's limits (session.ts checks them again). */
function seconds(flag: string, value: number, maxSeconds: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0.1 || value > maxSeconds) {
    throw new Error(`--${flag} must be a number of seconds from 0.1 to ${maxSeconds}, got ${Number.isNaN(value) ? 'not a number' : String(value)}`);
  }
  return Math.round(value * 1000);
}

function list(what: string, raw: string): string[] {
  const items = raw.split(',').map((s) => s.trim());
  if (items.length === 1) return Array.from({ length: PROCESS_COUNT }, () => items[0]!);
  if (items.length !== PROCESS_COUNT) throw new Error(`--${what} needs 1 or ${PROCESS_COUNT} comma-separated values, got ${items.length}`);
  return items;
}

export const sessionCommand: CommandModule<object, Args> = {
  command: 'session',
  describe: 'Write a session config (fresh id and key, fixed addresses) for `mpcnet party` on each machine',
  builder: (y: Argv) =>
    withInferJobOptions(withArithJobOptions(y, { op: 'mul', size: 1000 }), false)
      .option('out', { type: 'string', demandOption: true, describe: 'config file to write (contains the session key: copy it only to the parties)' })
      .option('hosts', { type: 'string', default: '127.0.0.1', describe: 'P0,P1,P2 hosts (or one for all)' })
      .option('ports', { type: 'string', demandOption: true, describe: 'P0,P1,P2 ports' })
      .option('start-window', {
        type: 'number', default: DEFAULT_CONNECT_TIMEOUT_MS / 1000,
        describe: 'seconds each party waits for all the others to connect: start all three within this window',
      })
      .option('certs', { type: 'string', describe: 'P0,P1,P2 certificate files (each made on its host by mpcnet keygen); without it, three fresh key pairs are written to --key-dir' })
      .option('key-dir', { type: 'string', describe: 'where to write P<k>.key.pem when --certs is not given (default: next to --out); copy each key only to its party' })
      .option('offline', { type: 'string', describe: 'the holders take their correlations from the offline plan in this folder (mpcnet dealer --plan; the same path on each holder\'s host)' })
      .option('recv-timeout', {
        type: 'number', default: DEFAULT_RECV_TIMEOUT_MS / 1000,
        describe: 'seconds a party waits for any one message before it gives up on the peer (a stopped or silent party)',
      }) as unknown as Argv<Args>,
  // async: yargs hands a rejected handler's error to main.ts' .fail (one line,
  // exit 1); a synchronous throw would escape parseAsync as a stack trace.
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const hosts = list('hosts', argv.hosts);
    const ports = list('ports', argv.ports).map((p) => Number(p));
    const connectTimeoutMs = seconds('start-window', argv.startWindow, 3600);
    const recvTimeoutMs = seconds('recv-timeout', argv.recvTimeout, 86_400);
    const session = argv.model !== undefined ? await inferSession({ ...argv, model: argv.model }) : arithSession(argv);
    if (argv.offline !== undefined) session.offlinePlan = offlinePlanFor(argv.offline, session).ref;
    const certs = session.transport === 'plain' ? null : await sessionCerts(argv);
    const peers = hosts.map((host, id) => ({ id, host, port: ports[id]!, ...(certs ? { cert: certs.pems[id]! } : {}) }));
    const config = newSession({ ...session, connectTimeoutMs, recvTimeoutMs, peers });
    writeFileSync(argv.out, JSON.stringify(config, null, 2), { mode: 0o600 });
    const key = certs ? ` --key ${certs.keyHint}` : '';
    process.stdout.write(`wrote ${argv.out} (${transportNote(config.transport)})${certs?.written ? `; wrote ${certs.written}: copy each key only to its party's host` : ''}\n`
      + `start each party with: mpcnet party --id N --config ${argv.out}${key} (all three within ${connectTimeoutMs / 1000} s)\n`);
  },
};

/**
 * --model: the job is `mpcnet infer` of that model with these options (the
 * --op/--size arith job is then not used), built and checked as infer
 * builds it. The model's path must be the same on every host (P0 reads its
 * weights, P1 and P2 its architecture), and P1's --out file holds the
 * predictions.
 */
async function inferSession(argv: Args & { model: string }): Promise<SessionOptions> {
  const { job, mode } = await resolveInferJob({ ...argv, emulate: false });
  if (mode === 'plain') throw new Error('unreachable: a session is for 2 or 3 parties');
  return { mode, transport: transportOf(argv), fracBits: argv.fracBits, job };
}

/** The three certificates to pin: given (--certs, one per host from mpcnet keygen) or made here with their keys. */
async function sessionCerts(argv: Args): Promise<{ pems: string[]; keyHint: string; written?: string }> {
  if (argv.certs !== undefined) {
    const files = argv.certs.split(',').map((f) => f.trim());
    if (files.length !== PROCESS_COUNT) throw new Error(`--certs needs ${PROCESS_COUNT} comma-separated files (P0,P1,P2), got ${files.length}`);
    const pems = files.map((f, id) => readPemFile(f, `P${id}'s certificate`));
    const seen = new Map<string, number>();
    pems.forEach((pem, id) => {
      const fp = certFingerprint(pem, `--certs ${files[id]}`);
      if (seen.has(fp)) throw new Error(`--certs: P${seen.get(fp)} and P${id} have the same certificate (${files[id]})`);
      seen.set(fp, id);
    });
    return { pems, keyHint: 'P<N>.key.pem' };
  }
  const dir = argv.keyDir ?? dirname(argv.out);
  const made = [];
  for (let id = 0; id < PROCESS_COUNT; id++) made.push(await writeIdentityFiles(id, dir));
  return { pems: made.map((m) => readPemFile(m.cert, 'certificate')), keyHint: join(dir, 'P<N>.key.pem'), written: made.map((m) => m.key).join(', ') };
}
