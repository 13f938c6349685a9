/**
 * The built CLI as a child process, for tests of whole commands: exit code,
 * stdout and stderr, whether it succeeded or not (170 s limit, under the
 * tests' own timeouts).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/mpc/launcher.js';

const run = promisify(execFile);
export const CLI = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env`: added to ours (e.g. MPCNET_FAULT, which the launched parties inherit). */
export async function mpcnet(args: string[], env?: Record<string, string>): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 170_000, maxBuffer: 1 << 24, ...(env ? { env: { ...process.env, ...env } } : {}) });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
