/**
 * `--plain-ws`, shared by every command that starts parties: sessions run
 * over TLS with per-party certificates unless this says otherwise, and a
 * plain run says so in its output.
 */
import type { Argv } from 'yargs';
import type { SessionConfig } from '../mpc/session.js';

export interface TransportArgs {
  plainWs?: boolean;
}

export function withTransportOption<T>(y: Argv<T>): Argv<T & TransportArgs> {
  return y.option('plain-ws', {
    type: 'boolean', default: false,
    describe: 'unencrypted ws instead of TLS with per-party certificates: for loopback benchmarks only (the output says so)',
  }) as unknown as Argv<T & TransportArgs>;
}

export function transportOf(a: TransportArgs): SessionConfig['transport'] {
  return a.plainWs === true ? 'plain' : 'tls';
}

/** The line a run prints about its channels. */
export function transportNote(t: SessionConfig['transport']): string {
  return t === 'tls' ? 'transport: TLS 1.3 (wss), each party its own key, certificates pinned' : 'transport: plain ws, UNENCRYPTED (--plain-ws: loopback benchmarks only)';
}
