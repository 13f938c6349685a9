/**
 * Session configuration handed to each party process: ids and addresses,
 * a fresh session key, the fixed-point setting, timeouts and the job.
 * Hand-started parties read it from a JSON file, so it is validated field
 * by field with errors that name the field.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PeerAddress } from '../net/types.js';
import { checkSessionFracBits, DEFAULT_FRAC_BITS } from '../ring/fixed.js';
import type { TruncationMode } from './context.js';
import type { OfflinePlanRef } from './offline-plan.js';

/** Process count is always 3: P0, P1 and P2 (dealer in 2pc, helper + dealer in 3pc). */
export const PROCESS_COUNT = 3;

/** The start window: how long a party waits for every peer to connect. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/** How long a party waits for any one message before it gives up on the peer. */
export const DEFAULT_RECV_TIMEOUT_MS = 120_000;
/** Truncation of a session that names none. */
export const DEFAULT_TRUNCATION: TruncationMode = 'local';

export interface SessionConfig {
  sessionId: string;
  /** 32-byte session key, hex. */
  sessionKeyHex: string;
  mode: '2pc' | '3pc';
  /**
   * 'tls': wss, each party with its own key, every party's certificate
   * pinned (peers[].cert for hand-started parties; launched parties make
   * theirs and the launcher passes the certificates on). 'plain': ws,
   * unencrypted, for loopback benchmarks only (--plain-ws).
   */
  transport: 'tls' | 'plain';
  fracBits: number;
  truncation: TruncationMode;
  /** Listen host of every party when addresses are assigned by the launcher. */
  host: string;
  /** Fixed addresses (hand-started parties); absent when the launcher assigns ports. */
  peers?: PeerAddress[];
  connectTimeoutMs: number;
  recvTimeoutMs: number;
  /** What P0 and P1 run; opaque to this module, checked by the job runner. */
  job: unknown;
  /**
   * Opt-in: the holders take every correlation from their offline plan
   * files (mpcnet dealer --plan) and P2 deals nothing (src/mpc/offline-plan.ts);
   * in 3pc it still helps online.
   */
  offlinePlan?: OfflinePlanRef;
  /**
   * 2pc only, opt-in: a recording run. P0 writes every correlation request
   * (label and spec, no data) to this file, for mpcnet dealer --plan --from-record.
   */
  recordPlan?: string;
}

export interface SessionOptions {
  mode: '2pc' | '3pc';
  /** Default 'tls'. */
  transport?: 'tls' | 'plain';
  fracBits?: number;
  truncation?: TruncationMode;
  host?: string;
  peers?: PeerAddress[];
  connectTimeoutMs?: number;
  recvTimeoutMs?: number;
  job: unknown;
  offlinePlan?: OfflinePlanRef;
  recordPlan?: string;
}

export function newSession(opts: SessionOptions): SessionConfig {
  const config: SessionConfig = {
    sessionId: randomUUID(),
    sessionKeyHex: randomBytes(32).toString('hex'),
    mode: opts.mode,
    transport: opts.transport ?? 'tls',
    fracBits: opts.fracBits ?? DEFAULT_FRAC_BITS,
    truncation: opts.truncation ?? DEFAULT_TRUNCATION,
    host: opts.host ?? '127.0.0.1',
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    recvTimeoutMs: opts.recvTimeoutMs ?? DEFAULT_RECV_TIMEOUT_MS,
    job: opts.job,
  };
  if (opts.peers) config.peers = opts.peers;
  if (opts.offlinePlan) config.offlinePlan = opts.offlinePlan;
  if (opts.recordPlan) config.recordPlan = opts.recordPlan;
  return parseSessionConfig(config);
}

function field<T>(obj: Record<string, unknown>, name: string, check: (v: unknown) => v is T, expect: string): T {
  const v = obj[name];
  if (!check(v)) throw new TypeError(`session config: '${name}' must be ${expect}, got ${JSON.stringify(v)}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isInt = (lo: number, hi: number) => (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const isOneOf = <T extends string>(...values: T[]) => (v: unknown): v is T => typeof v === 'string' && (values as string[]).includes(v);

function parsePeers(raw: unknown): PeerAddress[] {
  if (!Array.isArray(raw) || raw.length !== PROCESS_COUNT) {
    throw new TypeError(`session config: 'peers' must list ${PROCESS_COUNT} parties, got ${JSON.stringify(raw)}`);
  }
  return raw.map((p: unknown, i) => {
    if (typeof p !== 'object' || p === null) throw new TypeError(`session config: peers[${i}] is not an object`);
    const o = p as Record<string, unknown>;
    const id = field(o, 'id', isInt(0, PROCESS_COUNT - 1), `a party id 0..${PROCESS_COUNT - 1}`);
    if (id !== i) throw new TypeError(`session config: peers[${i}] has id ${id}; list parties in id order`);
    const address: PeerAddress = { id, host: field(o, 'host', isString, 'a host name'), port: field(o, 'port', isInt(1, 65535), 'a port 1..65535') };
    if (o['cert'] !== undefined) address.cert = field(o, 'cert', (v): v is string => typeof v === 'string' && v.includes('-----BEGIN CERTIFICATE-----'), 'a PEM certificate');
    return address;
  });
}

export function parseSessionConfig(raw: unknown): SessionConfig {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('session config: not a JSON object');
  const o = raw as Record<string, unknown>;
  const config: SessionConfig = {
    sessionId: field(o, 'sessionId', isString, 'a non-empty string'),
    sessionKeyHex: field(o, 'sessionKeyHex', (v): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v), '64 hex digits (32 bytes)'),
    mode: field(o, 'mode', isOneOf('2pc', '3pc'), "'2pc' or '3pc'"),
    transport: field(o, 'transport', isOneOf('tls', 'plain'), "'tls' or 'plain'"),
    fracBits: checkSessionFracBits(field(o, 'fracBits', isInt(0, 62), 'an integer'), "session config: 'fracBits'"),
    truncation: field(o, 'truncation', isOneOf('local', 'dealer'), "'local' or 'dealer'"),
    host: field(o, 'host', isString, 'a host name'),
    connectTimeoutMs: field(o, 'connectTimeoutMs', isInt(100, 3_600_000), 'milliseconds 100..3600000'),
    recvTimeoutMs: field(o, 'recvTimeoutMs', isInt(100, 86_400_000), 'milliseconds 100..86400000'),
    job: o['job'],
  };
  if (o['peers'] !== undefined) config.peers = parsePeers(o['peers']);
  if (o['offlinePlan'] !== undefined) {
    const p = o['offlinePlan'];
    if (typeof p !== 'object' || p === null) throw new TypeError("session config: 'offlinePlan' must be an object {dir, planId}");
    const r = p as Record<string, unknown>;
    config.offlinePlan = { dir: field(r, 'dir', isString, 'a folder path'), planId: field(r, 'planId', isString, 'a plan id') };
  }
  if (o['recordPlan'] !== undefined) {
    config.recordPlan = field(o, 'recordPlan', isString, 'a file path');
    if (config.mode !== '2pc') throw new TypeError("session config: 'recordPlan' is for 2-party sessions ('2pc') only");
    if (config.offlinePlan) throw new TypeError("session config: 'recordPlan' and 'offlinePlan' exclude each other");
  }
  if (config.transport === 'tls' && config.peers) {
    const missing = config.peers.filter((p) => p.cert === undefined).map((p) => `P${p.id}`);
    if (missing.length > 0) throw new TypeError(`session config: a 'tls' session pins every party's certificate: peers ${missing.join(', ')} have no 'cert' (mpcnet keygen, then mpcnet session --certs)`);
  }
  return config;
}

export function readSessionConfig(path: string): SessionConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read session config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`session config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseSessionConfig(raw);
}
