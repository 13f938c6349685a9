/**
 * vitest globalSetup: refuses to run the tests against a stale build.
 *
 * The tests import the TypeScript sources directly, but the party processes
 * and the CLI they start run the compiled JavaScript under dist/. If dist/ is
 * older than the sources, a test can pass or fail for code that is no longer
 * there. So before any test file runs, every compiled source (.ts under src/,
 * protocols/, parties/, bench/) must have its .js under dist/ at least as new
 * as itself, and the wasm ring kernels (built by scripts/build-wasm.mjs from
 * src/ring/assembly/) must be at least as new as their AssemblyScript
 * sources. Otherwise the run stops at once with the files named.
 *
 * Modification times, not contents: `tsc` rewrites every output on each
 * build, and scripts/build-wasm.mjs refreshes its outputs' times when it
 * finds them up to date with newer-looking sources.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories compiled by tsconfig.json (rootDir ".", outDir "dist"). */
export const COMPILED_DIRS = ['src', 'protocols', 'parties', 'bench'] as const;
/** AssemblyScript sources: built into the wasm kernels, not by tsc. */
export const ASSEMBLY_DIR = 'src/ring/assembly';
/** What scripts/build-wasm.mjs writes from ASSEMBLY_DIR. */
export const WASM_OUTPUTS = ['build/ring-kernels.wasm', 'src/ring/wasm/kernels.wasm.generated.ts'] as const;

export interface StaleOutput {
  /** The source, relative to the root (forward slashes). */
  source: string;
  /** The output that should be at least as new, relative to the root. */
  output: string;
  /** 'missing': no output; 'older': the source was modified after it. */
  reason: 'missing' | 'older';
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (root: string, p: string): string => path.relative(root, p).split(path.sep).join('/');

function compare(root: string, source: string, output: string, stale: StaleOutput[]): void {
  const s = path.join(root, source);
  const o = path.join(root, output);
  if (!existsSync(o)) stale.push({ source, output, reason: 'missing' });
  else if (statSync(s).mtimeMs > statSync(o).mtimeMs) stale.push({ source, output, reason: 'older' });
}

/** Every build output under `root` that is missing or older than its source (empty: the build is fresh). */
export function staleBuildOutputs(root: string): StaleOutput[] {
  const stale: StaleOutput[] = [];
  const assembly = path.join(root, ASSEMBLY_DIR);
  for (const dir of COMPILED_DIRS) {
    for (const file of tsFiles(path.join(root, dir)).sort()) {
      if (file.startsWith(assembly + path.sep)) continue;
      const source = rel(root, file);
      compare(root, source, `dist/${source.slice(0, -'.ts'.length)}.js`, stale);
    }
  }
  for (const file of tsFiles(assembly).sort()) {
    for (const output of WASM_OUTPUTS) compare(root, rel(root, file), output, stale);
  }
  return stale;
}

function headline(s: StaleOutput): string {
  const target = s.output.startsWith('dist/') ? 'dist/' : s.output;
  return s.reason === 'older' ? `${target} is older than ${s.source}` : `${s.output} is missing (built from ${s.source})`;
}

/** The failure message for a non-empty staleBuildOutputs() result. */
export function staleBuildMessage(stale: readonly StaleOutput[], shown = 10): string {
  const first = stale[0]!;
  const more = stale.length > 1 ? ` (and ${stale.length - 1} more)` : '';
  const lines = stale.slice(0, shown).map((s) => s.reason === 'missing'
    ? `  ${s.source}: ${s.output} is missing`
    : `  ${s.source} is newer than ${s.output}`);
  if (stale.length > shown) lines.push(`  ... ${stale.length - shown} more`);
  return [
    `stale build: ${headline(first)}${more}: run \`npm run build\` (npm test builds first)`,
    ...lines,
    'The party processes and the CLI the tests start run the built files, not the sources.',
  ].join('\n');
}

/** Throws an Error naming the stale outputs under `root`, if any. */
export function assertFreshBuild(root: string): void {
  const stale = staleBuildOutputs(root);
  if (stale.length > 0) throw new Error(staleBuildMessage(stale));
}

export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  assertFreshBuild(PACKAGE_ROOT);
}
