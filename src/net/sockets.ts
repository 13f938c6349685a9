/**
 * Small socket helpers shared by the mesh's accept, dial and link code:
 * close codes, bounded closes, address formatting, and MeshError.
 */
import WebSocket from 'ws';
import { FrameError } from './frames.js';
import type { PartyId } from './types.js';

/** Close codes: 1008 = policy violation (permanent), 1013 = try again later. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_LATER = 1013;
export const CLOSE_NORMAL = 1000;
/** Application close code: the sending party aborted (the reason says why). */
export const CLOSE_ABORTED = 4000;
/** Grace period for a close handshake before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2_000;

export type MeshErrorKind = 'timeout' | 'malformed' | 'disconnected' | 'closed' | 'connect';

/** Every error the mesh produces; `peer` is the party it is about, when there is one. */
export class MeshError extends Error {
  constructor(
    message: string,
    readonly peer: PartyId | null,
    readonly kind: MeshErrorKind,
  ) {
    super(message);
    this.name = 'MeshError';
  }
}

export function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? '?';
  return h.includes(':') ? `[${h}]:${port ?? '?'}` : `${h}:${port ?? '?'}`;
}

/** ws close reasons are limited to 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  let r = text;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

export function problemOf(e: unknown): string {
  if (e instanceof FrameError) return e.problem;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}

export function asBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * ws masks client frames with a random key by default, which means copying
 * every outgoing payload (it must not scribble over the caller's array). An
 * all-zero key is valid WebSocket and makes ws send the caller's bytes as they
 * are; the mask only ever protected browser-era HTTP intermediaries and never
 * hid anything (the key travels in the frame). Confidentiality is TLS's job.
 */
export function zeroMask(mask: Buffer): void {
  mask[0] = 0;
  mask[1] = 0;
  mask[2] = 0;
  mask[3] = 0;
}

/** Send a close frame with the reason, and destroy the socket after `graceMs` whatever the peer does. */
export function closeWith(ws: WebSocket, code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
  try {
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, closeReason(reason));
  } catch {
    ws.terminate();
  }
  setTimeout(() => ws.terminate(), graceMs).unref();
}

/** An orderly close bounded by CLOSE_GRACE_MS. */
export function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) {
      resolve();
      return;
    }
    const t = setTimeout(() => {
      ws.terminate();
      resolve();
    }, CLOSE_GRACE_MS);
    ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_NORMAL, 'bye');
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    } catch {
      ws.terminate();
    }
  });
}

/** Wait for p, but at most ms. */
export function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

