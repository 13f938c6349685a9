/**
 * Traffic snapshots of one party (summed over its peers), and their
 * differences: how protocols report the cost of exactly one section.
 */
import type { Mesh, MeshStats, TrafficClass, TrafficCounters } from '../net/types.js';

export interface TrafficSnapshot {
  /** Online payload bytes. */
  bytesSent: number;
  bytesReceived: number;
  frameBytesSent: number;
  frameBytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Online round clock. */
  rounds: number;
  /** Dealer-class payload bytes. */
  dealerBytesSent: number;
  dealerBytesReceived: number;
}

function sum(stats: MeshStats, cls: TrafficClass, key: keyof TrafficCounters): number {
  return stats.peers.reduce((acc, p) => acc + p[cls][key], 0);
}

export function snapshotOf(stats: MeshStats): TrafficSnapshot {
  return {
    bytesSent: sum(stats, 'online', 'payloadBytesSent'),
    bytesReceived: sum(stats, 'online', 'payloadBytesReceived'),
    frameBytesSent: sum(stats, 'online', 'frameBytesSent'),
    frameBytesReceived: sum(stats, 'online', 'frameBytesReceived'),
    messagesSent: sum(stats, 'online', 'messagesSent'),
    messagesReceived: sum(stats, 'online', 'messagesReceived'),
    rounds: stats.rounds,
    dealerBytesSent: sum(stats, 'dealer', 'payloadBytesSent'),
    dealerBytesReceived: sum(stats, 'dealer', 'payloadBytesReceived'),
  };
}

export function snapshot(mesh: Mesh): TrafficSnapshot {
  return snapshotOf(mesh.stats());
}

export function trafficSince(before: TrafficSnapshot, after: TrafficSnapshot): TrafficSnapshot {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof TrafficSnapshot)[]) out[k] = after[k] - before[k];
  return out;
}
