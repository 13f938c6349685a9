/**
 * P2's dealer loop: answer P0's correlation requests in order until P0 says
 * 'end'. The dealer never sees inputs, only shapes and labels; everything it
 * sends is dealer-class traffic (offline phase), counted apart from the
 * online phase. In 3pc it runs beside P2's helper work (its own tags).
 */
import type { Mesh } from '../net/types.js';
import { dealerCorrection, parseCorrelationSpec } from './correlations.js';
import { correlationStream, CORR_REQUEST_TAG, CORR_RESPONSE_TAG, MAX_LABEL_LENGTH } from './dealer-client.js';
import type { SeedBook } from './seeds.js';

export interface DealerSummary {
  correlations: number;
}

export async function serveDealer(mesh: Mesh, seeds: SeedBook): Promise<DealerSummary> {
  let correlations = 0;
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
    const c0 = dealerCorrection(spec, seeds.stream(0, stream), seeds.stream(1, stream));
    mesh.send(0, CORR_RESPONSE_TAG, c0, { cls: 'dealer' });
    correlations++;
  }
}
