/**
 * An in-process mesh over real loopback sockets: every party is a MeshNode in
 * this process. For tests and quick experiments; real runs use one process
 * per party.
 */
import { randomBytes } from 'node:crypto';
import type { PartyIdentity } from './identity.js';
import { MeshNode } from './mesh.js';
import type { MeshOptions, PeerAddress } from './types.js';

export interface LocalMesh {
  nodes: MeshNode[];
  peers: PeerAddress[];
  sessionId: string;
  sessionKey: Uint8Array;
  /** Close every node (orderly). */
  close(): Promise<void>;
}

export type LocalMeshOptions = Partial<Omit<MeshOptions, 'self' | 'partyCount' | 'tls'>> & {
  /** Per-party log; default: drop lines (tests look at onRejected / onFatal instead). */
  logFor?: (id: number) => (line: string) => void;
  /** One TLS identity per party: the mesh runs over wss with the certificates pinned. Default plain ws. */
  identities?: PartyIdentity[];
};

export async function createLocalMesh(partyCount: number, opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const sessionId = opts.sessionId ?? `local-${randomBytes(6).toString('hex')}`;
  const sessionKey = opts.sessionKey ?? randomBytes(32);
  const { logFor, identities, ...rest } = opts;
  const nodes: MeshNode[] = [];
  try {
    for (let self = 0; self < partyCount; self++) {
      nodes.push(
        await MeshNode.listen({
          ...rest,
          self,
          partyCount,
          sessionId,
          sessionKey,
          port: 0,
          ...(identities ? { tls: identities[self]! } : {}),
          log: logFor ? logFor(self) : opts.log ?? (() => {}),
        }),
      );
    }
    const peers = nodes.map((n) => ({ id: n.self, host: n.host, port: n.port, ...(identities ? { cert: identities[n.self]!.certPem } : {}) }));
    await Promise.all(nodes.map((n) => n.connect(peers)));
    return {
      nodes,
      peers,
      sessionId,
      sessionKey,
      close: async () => {
        await Promise.all(nodes.map((n) => n.close()));
      },
    };
  } catch (e) {
    for (const n of nodes) n.abort();
    throw e;
  }
}
