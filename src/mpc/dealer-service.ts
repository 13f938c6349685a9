/**
 * P2's dealer loop: answer P0's correlation requests in order until P0 says
 * 'end'. The dealer never sees inputs, only shapes and labels; everything it
 * sends is dealer-class traffic (offline phase), counted apart from the
 * online phase. In 3pc it runs beside P2's helper work (its own tags).
 */
import type { Mesh } from '../net/types.js';
import { add } from '../ring/index.js';
import { dealerCorrection, maskStream, MAX_LABEL_LENGTH, parseCorrelationSpec, type MaskRef } from './correlations.js';
import { correlationStream, CORR_REQUEST_TAG, CORR_RESPONSE_TAG } from './dealer-client.js';
import type { SeedBook } from './seeds.js';

export interface DealerSummary {
  correlations: number;
}

/**
 * Masks the holders drew in earlier calls (protocols/masked.ts), rebuilt
 * from both holders' streams. A mask is usually used by a few products in a
 * row (x by x, x^2 by x, the coefficients by x), so the last few are kept.
 */
export class MaskCache {
  private readonly recent = new Map<string, BigUint64Array>();
  private elements = 0;

  constructor(private readonly seeds: SeedBook, private readonly maxElements = 1 << 24) {}

  get(ref: MaskRef): BigUint64Array {
    const key = `${ref.n}:${ref.label}`;
    const hit = this.recent.get(key);
    if (hit) {
      this.recent.delete(key); // most recent last
      this.recent.set(key, hit);
      return hit;
    }
    const stream = maskStream(ref.label);
    const a = add(this.seeds.stream(0, stream).ring(ref.n), this.seeds.stream(1, stream).ring(ref.n));
    this.recent.set(key, a);
    this.elements += a.length;
    for (const [k, v] of this.recent) {
      if (this.elements <= this.maxElements || k === key) break;
      this.recent.delete(k);
      this.elements -= v.length;
    }
    return a;
  }
}

export async function serveDealer(mesh: Mesh, seeds: SeedBook): Promise<DealerSummary> {
  let correlations = 0;
  const masks = new MaskCache(seeds);
  for (;;) {
    // Idle wait: P0 may compute for a long time between requests; a dead P0 still ends it.
    const msg = await mesh.recv(0, CORR_REQUEST_TAG, { idle: true });
    const meta = msg.meta as { kind?: unknown; spec?: unknown; label?: unknown } | null;
    if (meta && meta.kind === 'end') return { correlations };
    const label = meta?.label;
    if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL_LENGTH) {
      throw new Error(`correlation request from P0: label must be a string of 1..${MAX_LABEL_LENGTH} characters`);
    }
    const spec = parseCorrelationSpec(meta?.spec);
    const stream = correlationStream(label);
    const c0 = dealerCorrection(spec, seeds.stream(0, stream), seeds.stream(1, stream), (ref) => masks.get(ref));
    mesh.send(0, CORR_RESPONSE_TAG, c0, { cls: 'dealer' });
    correlations++;
  }
}
