/**
 * `mpcnet keygen`: a party's TLS identity for runs across machines. Each
 * host makes its own key (which never leaves it) and certificate; the three
 * certificates go into the session config (`mpcnet session --certs`), which
 * pins them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { generateIdentity } from '../net/identity.js';

interface Args {
  id: number;
  dir: string;
  days: number;
}

/** Write P{id}.key.pem (owner-only) and P{id}.cert.pem into dir; returns their paths. */
export async function writeIdentityFiles(id: number, dir: string, days = 365): Promise<{ key: string; cert: string }> {
  const identity = await generateIdentity(id, days);
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `P${id}.key.pem`);
  const cert = join(dir, `P${id}.cert.pem`);
  writeFileSync(key, identity.keyPem, { mode: 0o600 });
  writeFileSync(cert, identity.certPem);
  return { key, cert };
}

export const keygenCommand: CommandModule<object, Args> = {
  command: 'keygen',
  describe: "Make one party's TLS key and certificate (run it on that party's host; only the certificate is shared)",
  builder: (y: Argv) =>
    y
      .option('id', { type: 'number', choices: [0, 1, 2], demandOption: true, describe: 'party id' })
      .option('dir', { type: 'string', default: '.', describe: 'directory for P<id>.key.pem and P<id>.cert.pem' })
      .option('days', { type: 'number', default: 365, describe: 'certificate validity in days' }) as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    if (!Number.isInteger(argv.days) || argv.days < 1) throw new Error(`--days must be a positive integer, got ${argv.days}`);
    const { key, cert } = await writeIdentityFiles(argv.id, argv.dir, argv.days);
    process.stdout.write(`wrote ${key} (private: keep it on this host) and ${cert} (give it to whoever writes the session config)\n`);
  },
};
