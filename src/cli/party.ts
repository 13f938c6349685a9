/** `mpcnet party`: start one party by hand (for separate machines). */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { runJob } from '../jobs/index.js';
import { partyMainManual } from '../mpc/process.js';

interface Args {
  id: number;
  config: string;
  out?: string;
  key?: string;
}

export const partyCommand: CommandModule<object, Args> = {
  command: 'party',
  describe: 'Run one party of a session whose config file lists every address',
  builder: (y: Argv) =>
    y
      .option('id', { type: 'number', choices: [0, 1, 2], demandOption: true, describe: 'party id (2 = dealer/helper)' })
      .option('config', { type: 'string', demandOption: true, describe: 'session config JSON (same file for all parties)' })
      .option('out', { type: 'string', describe: 'write the result JSON here instead of stdout' })
      .option('key', { type: 'string', describe: "this party's private key (P<id>.key.pem from mpcnet keygen); TLS sessions need it" }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    await partyMainManual(argv.id, argv.config, runJob, argv.out, argv.key);
  },
};
