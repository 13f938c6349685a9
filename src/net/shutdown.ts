/**
 * Ending a node's links, the two ways: orderly (close(): a bye to every
 * peer still there, then, once sent frames have drained, a normal close of
 * each socket) and abort (a close frame that carries the cause, then the
 * socket is destroyed at once, so peers see a disconnect and, in a cascade,
 * learn the root cause). Either way every recv() still waiting rejects. The
 * node (mesh.ts) decides the order; these are the per-link steps.
 */
import WebSocket from 'ws';
import { encodeByeHeader } from './frames.js';
import type { PeerLink } from './links.js';
import { CLOSE_ABORTED, MeshError, closeSocket } from './sockets.js';
import type { PartyId } from './types.js';

type Links = ReadonlyArray<PeerLink | null>;

/** Tell every peer still connected that this party ends its session (counted in flush(), not in the stats). */
export function sayBye(links: Links): void {
  const bye = encodeByeHeader();
  for (const link of links) {
    if (link && link.ws && (link.state === 'open' || link.state === 'bye') && link.ws.readyState === WebSocket.OPEN) {
      link.outstanding++;
      link.ws.send(bye, { binary: true }, link.onSent);
    }
  }
}

/** Close every socket normally, each bounded by CLOSE_GRACE_MS. */
export function closeLinks(links: Links): Promise<void[]> {
  const closing: Promise<void>[] = [];
  for (const link of links) {
    if (link?.ws) closing.push(closeSocket(link.ws));
  }
  return Promise.all(closing);
}

/** Best effort close frame with `reason` (already cut to a close reason), then destroy every socket. */
export function dropLinks(links: Links, reason: string): void {
  for (const link of links) {
    const ws = link?.ws;
    if (!ws) continue;
    try {
      if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_ABORTED, reason);
    } catch {
      /* the socket goes anyway */
    }
    ws.terminate();
  }
}

/** Reject every recv() waiting on any link: the node was closed or aborted under it. */
export function rejectWaiting(links: Links, self: PartyId, how: 'closed' | 'aborted'): void {
  for (const link of links) {
    if (!link) continue;
    link.rejectWaiters((tag) => new MeshError(`P${self}: mesh ${how} while waiting for '${tag}' from P${link.id}`, link.id, 'closed'));
  }
}
