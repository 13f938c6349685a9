/**
 * P2's dealer loop: answer P0's correlation requests in order until P0 says
 * 'end'. The dealer never sees inputs, only shapes; everything it sends is
 * dealer-class traffic (offline phase), counted apart from the online phase.
 */
import type { Mesh } from '../net/types.js';
import type { Prg } from '../ring/prg.js';
import { dealerCorrection, parseCorrelationSpec } from './correlations.js';
import { CORR_REQUEST_TAG, CORR_RESPONSE_TAG } from './dealer-client.js';

export interface DealerSummary {
  correlations: number;
}

export async function serveDealer(mesh: Mesh, prg0: Prg, prg1: Prg): Promise<DealerSummary> {
  let correlations = 0;
  for (;;) {
    const msg = await mesh.recv(0, CORR_REQUEST_TAG);
    const meta = msg.meta as { kind?: unknown } | null;
    if (meta && meta.kind === 'end') return { correlations };
    const spec = parseCorrelationSpec(meta);
    const c0 = dealerCorrection(spec, prg0, prg1);
    mesh.send(0, CORR_RESPONSE_TAG, c0, { cls: 'dealer' });
    correlations++;
  }
}
