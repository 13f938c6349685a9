/** The stale-build check run before the tests (test/setup/fresh-build.ts), on a made-up tree. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertFreshBuild, staleBuildMessage, staleBuildOutputs } from './setup/fresh-build.js';

const T0 = new Date('2024-01-01T00:00:00Z').getTime() / 1000;

/** Writes `file` under `root` with modification time T0 + `at` seconds. */
function put(root: string, file: string, at: number): void {
  const p = path.join(root, file);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '');
  utimesSync(p, T0 + at, T0 + at);
}

/** A built tree: sources at T0, outputs 10 s later. */
function freshTree(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'mpcnet-fresh-'));
  for (const f of ['src/a.ts', 'src/sub/b.ts', 'protocols/p.ts', 'parties/q.ts', 'bench/k.ts', 'src/ring/wasm/kernels.ts']) {
    put(root, f, 0);
    put(root, `dist/${f.replace(/\.ts$/, '.js')}`, 10);
  }
  put(root, 'src/types.d.ts', 20); // declarations are not compiled
  put(root, 'src/ring/assembly/kernels.ts', 0); // AssemblyScript: no dist/ .js
  put(root, 'build/ring-kernels.wasm', 10);
  put(root, 'src/ring/wasm/kernels.wasm.generated.ts', 10);
  put(root, 'dist/src/ring/wasm/kernels.wasm.generated.js', 20);
  return root;
}

describe('fresh-build check', () => {
  it('accepts a tree whose outputs are all at least as new as their sources', () => {
    const root = freshTree();
    try {
      expect(staleBuildOutputs(root)).toEqual([]);
      expect(() => assertFreshBuild(root)).not.toThrow();
      // Same time is fresh (a fast build can stamp both within one tick).
      put(root, 'src/a.ts', 10);
      expect(staleBuildOutputs(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('names each .ts newer than its .js, and each missing .js', () => {
    const root = freshTree();
    try {
      put(root, 'src/sub/b.ts', 11);
      rmSync(path.join(root, 'dist/protocols/p.js'));
      expect(staleBuildOutputs(root)).toEqual([
        { source: 'src/sub/b.ts', output: 'dist/src/sub/b.js', reason: 'older' },
        { source: 'protocols/p.ts', output: 'dist/protocols/p.js', reason: 'missing' },
      ]);
      expect(() => assertFreshBuild(root)).toThrow(
        'stale build: dist/ is older than src/sub/b.ts (and 1 more): run `npm run build` (npm test builds first)\n'
        + '  src/sub/b.ts is newer than dist/src/sub/b.js\n  protocols/p.ts: dist/protocols/p.js is missing\n',
      );
      rmSync(path.join(root, 'dist/src/sub/b.js'));
      expect(() => assertFreshBuild(root)).toThrow(/^stale build: dist\/src\/sub\/b\.js is missing \(built from src\/sub\/b\.ts\) \(and 1 more\): run `npm run build`/);
      rmSync(path.join(root, 'dist'), { recursive: true });
      expect(staleBuildOutputs(root).map((s) => s.reason)).toEqual(Array(7).fill('missing'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says dist/ is older than the edited source, and lists at most ten', () => {
    const root = freshTree();
    try {
      put(root, 'bench/k.ts', 30);
      expect(() => assertFreshBuild(root)).toThrow(
        'stale build: dist/ is older than bench/k.ts: run `npm run build` (npm test builds first)\n  bench/k.ts is newer than dist/bench/k.js\n',
      );
      const many = Array.from({ length: 12 }, (_, i) => ({ source: `src/f${i}.ts`, output: `dist/src/f${i}.js`, reason: 'older' as const }));
      const lines = staleBuildMessage(many).split('\n');
      expect(lines[0]).toBe('stale build: dist/ is older than src/f0.ts (and 11 more): run `npm run build` (npm test builds first)');
      expect(lines).toContain('  ... 2 more');
      expect(lines.filter((l) => l.includes(' is newer than '))).toHaveLength(10);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('checks the wasm kernels against their AssemblyScript sources', () => {
    const root = freshTree();
    try {
      put(root, 'src/ring/assembly/kernels.ts', 15);
      expect(staleBuildOutputs(root)).toEqual([
        { source: 'src/ring/assembly/kernels.ts', output: 'build/ring-kernels.wasm', reason: 'older' },
        { source: 'src/ring/assembly/kernels.ts', output: 'src/ring/wasm/kernels.wasm.generated.ts', reason: 'older' },
      ]);
      expect(() => assertFreshBuild(root)).toThrow(/^stale build: build\/ring-kernels\.wasm is older than src\/ring\/assembly\/kernels\.ts \(and 1 more\): run `npm run build`/);
      // Rebuilt wasm and generated module, but tsc not run since: the generated module's .js is stale.
      put(root, 'build/ring-kernels.wasm', 40);
      put(root, 'src/ring/wasm/kernels.wasm.generated.ts', 40);
      expect(staleBuildOutputs(root)).toEqual([
        { source: 'src/ring/wasm/kernels.wasm.generated.ts', output: 'dist/src/ring/wasm/kernels.wasm.generated.js', reason: 'older' },
      ]);
      rmSync(path.join(root, 'build'), { recursive: true });
      expect(staleBuildOutputs(root)).toContainEqual({ source: 'src/ring/assembly/kernels.ts', output: 'build/ring-kernels.wasm', reason: 'missing' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
