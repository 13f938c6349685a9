/**
 * Environment for party processes. The protocols allocate and drop tensors
 * of tens of MB many times per step (a 128-image batch of the seed CNN is
 * 3.2M ring elements, 25.6 MB). By default glibc serves each from a fresh
 * mmap and unmaps it on free, so every allocation page-faults its memory in
 * again: measured 1.8M minor faults and a third of the CPU in the kernel for
 * two training steps. Keeping large chunks in the heap (mmap threshold at
 * glibc's maximum, 32 MB, and no trimming) lets them be reused: faults stop
 * growing after the first step and a training step is ~30% faster
 * (`bench/train-profile.ts`). Values the user already set are kept; other
 * C libraries ignore these variables.
 */
const MALLOC_TUNING: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(4 * 1024 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(256 * 1024 * 1024),
};

/** The environment a launched party starts with: ours plus the allocator settings above. */
export function partyProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [k, v] of Object.entries(MALLOC_TUNING)) if (env[k] === undefined) env[k] = v;
  return env;
}

