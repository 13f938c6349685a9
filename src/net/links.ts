/**
 * Per-peer state of an authenticated link: the socket, per-tag inboxes
 * (sequence check, queued messages, waiting recv()s), send sequence
 * numbers, traffic counters and outstanding-send tracking for flush().
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { MsgHeader } from './frames.js';
import type { MeshError } from './sockets.js';
import type { Message, PartyId, PeerAddress, TrafficClass, TrafficCounters } from './types.js';

export interface Envelope {
  msg: Message;
  depth: number;
  cls: TrafficClass;
  /** Header + payload + WebSocket framing bytes of this message on the wire. */
  frameBytes: number;
}

export interface Waiter {
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  /** Absent for idle waits (no timeout). */
  timer: NodeJS.Timeout | undefined;
}

export interface Inbox {
  /** Seq the next incoming message with this tag must carry. */
  nextSeq: number;
  /** Arrived, not yet received. */
  queue: Envelope[];
  /** recv() calls waiting, in call order. */
  waiters: Waiter[];
}

export type LinkState = 'pending' | 'open' | 'bye' | 'failed';

export function zeroCounters(): TrafficCounters {
  return {
    payloadBytesSent: 0,
    payloadBytesReceived: 0,
    frameBytesSent: 0,
    frameBytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
  };
}

export class PeerLink {
  ws: WebSocket | null = null;
  /** The TCP (or TLS) socket under ws (corked around the frames of one message). */
  tcp: Socket | null = null;
  state: LinkState = 'pending';
  error: MeshError | null = null;
  readonly sendSeq = new Map<string, number>();
  readonly inbox = new Map<string, Inbox>();
  /** Header whose payload frame is expected next. */
  pendingHeader: MsgHeader | null = null;
  pendingHeaderBytes = 0;
  /** ws.send calls whose callback has not fired yet. */
  outstanding = 0;
  drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  counters: Record<TrafficClass, TrafficCounters> = { online: zeroCounters(), dealer: zeroCounters() };
  /** Last reason a dial attempt failed (for the connect timeout message). */
  dialNote = '';
  address: PeerAddress | null = null;
  /** SHA-256 fingerprint of the peer's pinned certificate (TLS sessions). */
  fingerprint: string | null = null;
  readonly onSent: (err?: Error | null) => void;

  constructor(
    readonly id: PartyId,
    /** True when this party dials the peer: our frames to it are masked, its frames to us are not. */
    readonly weDial: boolean,
  ) {
    this.onSent = () => {
      this.outstanding--;
      if (this.outstanding === 0 && this.drainWaiters.length > 0) {
        const ws = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of ws) w.resolve();
      }
    };
  }

  getInbox(tag: string): Inbox {
    let box = this.inbox.get(tag);
    if (!box) {
      box = { nextSeq: 0, queue: [], waiters: [] };
      this.inbox.set(tag, box);
    }
    return box;
  }
}
