/** `mpcnet session`: write a session config for hand-started parties. */
import { writeFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { newSession, PROCESS_COUNT } from '../mpc/session.js';
import { arithSession, withArithJobOptions, type ArithJobArgs } from './arith-job.js';

interface Args extends ArithJobArgs {
  out: string;
  hosts: string;
  ports: string;
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
    withArithJobOptions(y, { op: 'mul', size: 1000 })
      .option('out', { type: 'string', demandOption: true, describe: 'config file to write (contains the session key: copy it only to the parties)' })
      .option('hosts', { type: 'string', default: '127.0.0.1', describe: 'P0,P1,P2 hosts (or one for all)' })
      .option('ports', { type: 'string', demandOption: true, describe: 'P0,P1,P2 ports' }) as unknown as Argv<Args>,
  // async: yargs hands a rejected handler's error to main.ts' .fail (one line,
  // exit 1); a synchronous throw would escape parseAsync as a stack trace.
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const hosts = list('hosts', argv.hosts);
    const ports = list('ports', argv.ports).map((p) => Number(p));
    const config = newSession({ ...arithSession(argv), peers: hosts.map((host, id) => ({ id, host, port: ports[id]! })) });
    writeFileSync(argv.out, JSON.stringify(config, null, 2), { mode: 0o600 });
    process.stdout.write(`wrote ${argv.out}; start each party with: mpcnet party --id N --config ${argv.out}\n`);
  },
};
