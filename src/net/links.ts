/**
 * Per-peer state of an authenticated link: the socket, per-tag inboxes
 * (sequence check, queued messages, waiting recv()s), send sequence
 * numbers, traffic counters and outstanding-send tracking for flush(),
 * and what failing a link does to its waiters.
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

  /** Reject every recv() waiting on this link, each with the error errFor gives for its tag. */
  rejectWaiters(errFor: (tag: string) => Error): void {
    for (const [tag, box] of this.inbox) {
      const waiters = box.waiters;
      box.waiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(errFor(tag));
      }
    }
  }

  /**
   * Mark the link dead: drop a half-received message (and, for a peer that
   * broke the rules, what it queued), reject every waiting recv() and flush().
   */
  fail(err: MeshError, dropQueued: boolean): void {
    this.state = 'failed';
    this.error = err;
    this.pendingHeader = null;
    if (dropQueued) for (const box of this.inbox.values()) box.queue.length = 0;
    this.rejectWaiters(() => err);
    const drains = this.drainWaiters;
    this.drainWaiters = [];
    for (const d of drains) d.reject(err);
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
