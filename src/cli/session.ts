/** `mpcnet session`: write a session config for hand-started parties. */
import { writeFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { BENCH_OPS, type ArithOp } from '../jobs/index.js';
import type { TruncationMode } from '../mpc/context.js';
import { newSession, PROCESS_COUNT } from '../mpc/session.js';

interface Args {
  out: string;
  hosts: string;
  ports: string;
  parties: number;
  op: ArithOp;
  size: number;
  reps: number;
  trunc: TruncationMode;
  fracBits: number;
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
    y
      .option('out', { type: 'string', demandOption: true, describe: 'config file to write (contains the session key: copy it only to the parties)' })
      .option('hosts', { type: 'string', default: '127.0.0.1', describe: 'P0,P1,P2 hosts (or one for all)' })
      .option('ports', { type: 'string', demandOption: true, describe: 'P0,P1,P2 ports' })
      .option('parties', { type: 'number', choices: [2, 3], default: 2 })
      .option('op', { type: 'string', choices: BENCH_OPS, default: 'mul' as ArithOp, describe: 'job: bench arith op' })
      .option('size', { type: 'number', default: 1000 })
      .option('reps', { type: 'number', default: 3 })
      .option('trunc', { type: 'string', choices: ['local', 'dealer'] as const, default: 'local' as const })
      .option('frac-bits', { type: 'number', default: 16 }) as unknown as Argv<Args>,
  handler: (argv: ArgumentsCamelCase<Args>) => {
    const hosts = list('hosts', argv.hosts);
    const ports = list('ports', argv.ports).map((p) => Number(p));
    const config = newSession({
      mode: argv.parties === 3 ? '3pc' : '2pc',
      fracBits: argv.fracBits,
      truncation: argv.trunc,
      peers: hosts.map((host, id) => ({ id, host, port: ports[id]! })),
      job: { kind: 'bench-arith', op: argv.op, size: argv.size, reps: argv.reps, seed: 1 },
    });
    writeFileSync(argv.out, JSON.stringify(config, null, 2), { mode: 0o600 });
    process.stdout.write(`wrote ${argv.out}; start each party with: mpcnet party --id N --config ${argv.out}\n`);
  },
};
