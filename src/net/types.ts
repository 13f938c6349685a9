/**
 * Public types of the party mesh: one authenticated WebSocket per pair of
 * parties, frames = msgpackr header + optional raw binary payload.
 */
import type { PartyIdentity } from './identity.js';

/** Party index: 0 and 1 hold additive shares, 2 is the helper / dealer. */
export type PartyId = number;

/**
 * Traffic class. 'online' counts towards the online phase and its round
 * clock; 'dealer' is correlated randomness (offline phase) and is reported
 * separately.
 */
export type TrafficClass = 'online' | 'dealer';

export interface PeerAddress {
  id: PartyId;
  host: string;
  port: number;
  /** The party's certificate (PEM), pinned by TLS sessions; every party's is needed there. */
  cert?: string;
}

export interface MeshOptions {
  self: PartyId;
  /** Number of parties in the mesh (2 or 3); ids are 0..partyCount-1. */
  partyCount: number;
  sessionId: string;
  /** Shared secret of the session (32 bytes); proves membership in the handshake. */
  sessionKey: Uint8Array;
  /**
   * This party's TLS identity: with it the mesh runs over wss, each party
   * proving its id with its own key against the certificates pinned in the
   * peer list (connect()). Without it, plain ws: unencrypted, for loopback
   * benchmarks only.
   */
  tls?: PartyIdentity;
  /** Listen address; port 0 picks a free port. */
  host?: string;
  port?: number;
  /** Time allowed to connect to / be connected by every peer. Default 20 000 ms. */
  connectTimeoutMs?: number;
  /** Longest wait in recv() before a peer counts as silent. Default 120 000 ms. */
  recvTimeoutMs?: number;
  /** Largest accepted payload of one frame. Default 1 GiB. */
  maxPayloadBytes?: number;
  /** Largest accepted header frame (tag + meta, msgpack-encoded). Default 1 MiB. */
  maxHeaderBytes?: number;
  /** Time an incoming or outgoing connection has to finish the key handshake. Default 5 000 ms. */
  handshakeTimeoutMs?: number;
  /**
   * Where rejected connections and fatal errors are reported, one line each.
   * Default: a line on stderr, e.g. `[P0] rejected connection from 127.0.0.1:53211: bad session key`.
   */
  log?: (line: string) => void;
}

/** A connection attempt the mesh refused (it never disturbs the running mesh). */
export interface Rejection {
  /** Remote address as `host:port`. */
  remote: string;
  /** Human-readable reason, e.g. 'bad session key'. */
  reason: string;
  /** Party id the remote claimed, when it got that far. */
  claimedId?: PartyId;
  /** 'accept': an incoming connection was refused; 'dial': a peer we dialed failed authentication. */
  side: 'accept' | 'dial';
}

/** A received message. payload is 8-byte aligned (safe for BigUint64Array views). */
export interface Message {
  tag: string;
  seq: number;
  meta: unknown;
  payload: Uint8Array | null;
  /** Round-clock depth the sender gave it (online class; 0 for dealer class). */
  depth: number;
}

/**
 * Sent counters move when send() queues a message; received counters move
 * when recv() hands a message over (the moment the round clock moves), not
 * when it arrives. So the difference of two stats() taken by one party around
 * a protocol step counts exactly that step's messages, even if a peer is
 * already sending the next step's.
 */
export interface TrafficCounters {
  payloadBytesSent: number;
  payloadBytesReceived: number;
  /** Header + payload + WebSocket framing bytes. */
  frameBytesSent: number;
  frameBytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

export interface PeerStats {
  peer: PartyId;
  online: TrafficCounters;
  dealer: TrafficCounters;
}

export interface MeshStats {
  self: PartyId;
  /** Online round clock (Lamport depth of online messages), see Mesh.rounds. */
  rounds: number;
  peers: PeerStats[];
}

export interface SendOptions {
  meta?: unknown;
  cls?: TrafficClass;
  /**
   * Copy the payload before queuing it, so the caller may overwrite its array
   * at once. Default false: the bytes go to the socket straight from the
   * caller's memory (see Mesh.send).
   */
  copy?: boolean;
  /**
   * Round clock value the payload depends on (default: the current clock).
   * A protocol that streams one round's data in chunks while it receives
   * the peer's chunks passes the clock from before the exchange, so later
   * chunks are not counted as later rounds. Must not exceed the clock.
   */
  basis?: number;
}

export interface Mesh {
  readonly self: PartyId;
  readonly partyCount: number;
  /**
   * Queue a message to a peer. Messages with the same (peer, tag) are
   * numbered 0, 1, 2, ... and must be received in that order. The payload
   * is sent without copying: do not modify it afterwards (at least until
   * flush() resolves), or pass { copy: true }. Throws if the peer is gone.
   */
  send(to: PartyId, tag: string, payload: ArrayBufferView | null, opts?: SendOptions): void;
  /**
   * Next message with this tag from this peer; rejects on timeout, peer loss
   * or a malformed frame. `idle: true` waits without the timeout: for a
   * service loop (the dealer) that legitimately waits while others compute;
   * a dead peer still ends the wait.
   */
  recv(from: PartyId, tag: string, opts?: { idle?: boolean }): Promise<Message>;
  /**
   * Forget a finished channel: its send counter and inbox for this peer.
   * Protocol calls use a fresh tag each, so without this the maps grow by
   * one entry per call. Throws if messages with the tag are still unread
   * or a recv is still waiting (a protocol bug).
   */
  release(peer: PartyId, tag: string): void;
  /** Tags with an inbox or a send counter, over all peers (to check that calls release theirs). */
  readonly openTags: number;
  /**
   * Online round clock: every online message carries depth = (sender's clock
   * + 1); receiving one sets clock = max(clock, depth). The clock's advance
   * over a protocol is the number of communication rounds on its critical path
   * as seen by this party.
   */
  readonly rounds: number;
  stats(): MeshStats;
  /** Zero all counters (the round clock keeps its value; read differences). */
  resetStats(): void;
  /** Resolves when every peer's send queue has been flushed to the socket. */
  flush(): Promise<void>;
  /** Orderly shutdown: tell peers we are done, then close. Later peer closes are not errors. */
  close(): Promise<void>;
  /**
   * Abrupt shutdown after a failure: drop every connection without a 'bye',
   * so peers see a disconnect (a fatal error naming this party), not a clean end.
   * Pending recv() calls reject. Safe to call more than once, or after close().
   * The reason (default: this party's first fatal error, if any) travels in a
   * best-effort close frame, so peers' errors can name the root cause.
   */
  abort(reason?: string): void;
  /**
   * Fatal errors that arrive while no recv() is waiting (peer died, malformed
   * frame): the run must end. The party process exits non-zero on this.
   */
  onFatal(listener: (err: Error) => void): void;
}
