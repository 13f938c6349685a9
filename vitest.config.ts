import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Each MPC test file may start a whole session of real party processes
// (P0, P1, P2 and the dealer, each a separate node process from dist/), and
// the CLI tests start `node dist/src/cli/main.js` and wait for it. On a
// 2-core CI machine those processes compete with one another and with the
// test workers, so the wall time of a test is several times its time on an
// idle machine.
const cores = availableParallelism();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run at once, naming the file, when dist/ (what the party and
    // CLI processes run) is older than the sources; see the file.
    globalSetup: ['test/setup/fresh-build.ts'],
    // vitest's defaults (5 s per test, 10 s per hook) are sized for in-process
    // unit tests: the plain CLI test timed out at 5 s on a busy 2-core machine.
    // Tests that start real processes still pass their own, larger, timeout.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One test file at a time on 2 cores (vitest's own default there is
    // cores - 1 = 1, kept explicit here): a single file's party processes
    // already keep both cores busy, and a second file running beside them
    // would only stretch each test's wall time towards its timeout without
    // finishing the suite sooner. Larger machines get cores - 1 workers, at
    // most 4, since each worker may itself start up to four processes.
    // `vitest run --maxWorkers N` overrides this.
    maxWorkers: Math.max(1, Math.min(4, cores - 1)),
  },
});
