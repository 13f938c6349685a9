/**
 * Fuzzing the party's receive path and handshake (issue 11, item 2), with
 * fast-check properties:
 *
 *  a. the pure decoders (decodeHeader, decodeHello, decodeChallenge,
 *     decodeAuth, decodeOk, alignedPayload) get junk bytes, msgpack of
 *     arbitrary values, byte-mutated and field-mutated valid messages,
 *     extension types and oversized or deeply nested input: each either
 *     decodes to a well-formed value or throws a FrameError with a one-line
 *     message, quickly, and never leaves msgpackr state behind;
 *  b. a real listening MeshNode, before authentication, over real sockets:
 *     ws clients sending junk binary and text messages, type-confused hellos,
 *     hellos with extra fields, close frames with hostile reasons; raw TCP
 *     clients writing WebSocket frames by hand (truncated, bad opcodes, huge
 *     declared lengths, unmasked, fragmented control frames, ...). Every
 *     connection is refused with a reason (onRejected), nothing a peer sends
 *     reaches the log or a reason unescaped, memory stays bounded, and an
 *     honest pair still connects afterwards;
 *  b'. a dialing MeshNode facing a listener that answers with junk, a bad
 *     challenge, junk where 'ok' belongs or a close frame with a hostile
 *     reason: connect() fails naming the peer and the exact problem;
 *  c. authenticated links (the raw client does the real handshake with the
 *     session key) that then send malformed headers and payloads or break the
 *     WebSocket framing: the link fails with a MeshError of kind 'malformed'
 *     naming the peer.
 *
 * Set FUZZ_VERBOSE=1 for every figure.
 *
 * vitest fails the file on any unhandled exception or rejection, so "the
 * node never dies of an unhandled exception" is checked throughout.
 *
 * Figures (frames per target, reasons by kind, memory, time) are printed at
 * the end of the file. Seeds are fixed (FUZZ_SEED overrides) so that a run
 * is reproducible; fast-check prints the counterexample and its seed/path.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import WebSocket, { WebSocketServer } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  FrameError,
  MAX_TAG_LENGTH,
  alignedPayload,
  decodeHeader,
  encodeByeHeader,
  encodeMsgHeader,
  packValue,
  peerQuoted,
  peerText,
  type Header,
  type MsgHeader,
} from '../src/net/frames.js';
import {
  HANDSHAKE_VERSION,
  MAX_HANDSHAKE_BYTES,
  MAX_SESSION_ID_LENGTH,
  decodeAuth,
  decodeChallenge,
  decodeHello,
  decodeOk,
  encodeHandshake,
  handshakeMac,
  newNonce,
} from '../src/net/handshake.js';
import { MeshError, MeshNode, type Mesh, type Rejection } from '../src/net/index.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_111);
const SESSION = 'fuzz-session';
/** A control character, line or paragraph separator: none may reach a log line or an error message. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/**
 * Also bidi controls, BOM and lone surrogates: frames.ts' peerText escapes
 * these too, so no message or log line built from peer text may hold them.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ------------------------------------------------------------------ figures

/** Counts by key, for the figures printed at the end. */
class Tally {
  private readonly m = new Map<string, number>();
  total = 0;
  add(key: string, n = 1): void {
    this.m.set(key, (this.m.get(key) ?? 0) + n);
    this.total += n;
  }
  top(n: number): string[] {
    return [...this.m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${String(v).padStart(7)}  ${k}`);
  }
}

/** An error message reduced to its kind: numbers and quoted peer text replaced. */
function kindOf(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"…?/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/127\.0\.0\.1:\d+/g, 'ADDR')
    .replace(/-?\d+/g, 'N')
    .slice(0, 110);
}

const figures = {
  decoderFrames: new Tally(),
  decoderErrors: new Tally(),
  decoderAccepted: new Tally(),
  socketFrames: new Tally(),
  rejections: new Tally(),
  /** Printed with FUZZ_VERBOSE=1: which case got which reason. */
  rejectionsByCase: new Tally(),
  dialFrames: new Tally(),
  dialErrors: new Tally(),
  postAuthFrames: new Tally(),
  postAuthErrors: new Tally(),
  memory: [] as string[],
  times: [] as string[],
};

afterAll(() => {
  // FUZZ_VERBOSE=1: every kind, and which case got which refusal
  const verbose = Boolean(process.env.FUZZ_VERBOSE);
  const n = (k: number): number => (verbose ? 500 : k);
  const lines = [
    `net fuzz figures (seed ${SEED})`,
    `a. decoders: ${figures.decoderFrames.total} frames (each through 5 decoders + alignedPayload)`,
    ...figures.decoderFrames.top(n(8)).map((l) => `   ${l}`),
    '   accepted as well-formed:',
    ...figures.decoderAccepted.top(n(8)).map((l) => `   ${l}`),
    '   FrameErrors by kind:',
    ...figures.decoderErrors.top(n(8)).map((l) => `   ${l}`),
    `b. pre-authentication sockets: ${figures.socketFrames.total} frames`,
    ...figures.socketFrames.top(n(8)).map((l) => `   ${l}`),
    `   rejections by reason (${figures.rejections.total}):`,
    ...figures.rejections.top(n(8)).map((l) => `   ${l}`),
    ...(verbose ? ['   by case:', ...figures.rejectionsByCase.top(n(8)).map((l) => `   ${l}`)] : []),
    `b'. dialer side: ${figures.dialFrames.total} hostile listeners`,
    ...figures.dialFrames.top(n(8)).map((l) => `   ${l}`),
    '   connect() errors by kind:',
    ...figures.dialErrors.top(n(8)).map((l) => `   ${l}`),
    `c. authenticated links: ${figures.postAuthFrames.total} malformed sequences`,
    ...figures.postAuthFrames.top(n(8)).map((l) => `   ${l}`),
    '   fatal errors by kind:',
    ...figures.postAuthErrors.top(n(8)).map((l) => `   ${l}`),
    ...figures.memory,
    ...figures.times,
  ];
  console.log(lines.join('\n'));
});

// ------------------------------------------------------------------ msgpack byte builders

const packr = new Packr({ useRecords: false, structuredClone: false });
/** Decodes maps as Map: keys as sent (not coerced to strings), for the independent well-formedness checks. */
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, structuredClone: false });

function mp(v: unknown): Buffer {
  return packValue(v);
}

function u8(...bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

function be(n: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64BE(BigInt(n));
  else b.writeUIntBE(n, 0, bytes);
  return b;
}

/** A msgpack map from raw key and value encodings (so keys may repeat or be of any type). */
function mapBytes(entries: Array<[Uint8Array, Uint8Array]>, form: 'fix' | '16' | '32' = 'fix', countDelta = 0): Buffer {
  const n = Math.max(0, entries.length + countDelta);
  let head: Buffer;
  if (form === 'fix' && n < 16) head = u8(0x80 | n);
  else if (form === '32') head = Buffer.concat([u8(0xdf), be(n, 4)]);
  else head = Buffer.concat([u8(0xde), be(n & 0xffff, 2)]);
  return Buffer.concat([head, ...entries.flat()]);
}

/** A msgpack extension value (fixext when the length allows, else ext 8/16/32). */
function extBytes(type: number, body: Uint8Array): Buffer {
  const t = type & 0xff;
  const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
  const f = fixed[body.length];
  if (f !== undefined) return Buffer.concat([u8(f, t), body]);
  if (body.length < 256) return Buffer.concat([u8(0xc7, body.length, t), body]);
  if (body.length < 65536) return Buffer.concat([u8(0xc8), be(body.length, 2), u8(t), body]);
  return Buffer.concat([u8(0xc9), be(body.length, 4), u8(t), body]);
}

// ------------------------------------------------------------------ arbitraries

const nastyPiece = fc.constantFrom(
  '\n',
  '\r\n',
  '\u001b[2K\r',
  '\u0000',
  '\u0007',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u2028',
  '\u2029',
  '\u202e',
  '\u2066',
  '\ufeff',
  '\ud800',
  '\udfff',
  '"',
  "'",
  '\\',
  '\n[P9] fatal: forged line',
);
/** Strings a hostile peer would pick: any code unit, plus line breaks, escapes and bidi controls. */
const nastyString = fc.string({
  unit: fc.oneof({ arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 3 }, { arbitrary: nastyPiece, weight: 1 }),
  maxLength: 24,
});

const specialNumber = fc.constantFrom(
  -1,
  -0,
  0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 64,
  -(2 ** 53) - 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
);

function packOrNil(v: unknown): Buffer {
  try {
    return packr.pack(v);
  } catch {
    return u8(0xc0);
  }
}

/** Markers that announce more than follows, or are not msgpack at all. */
const brokenValue = fc.constantFrom(
  u8(0xc1), // never used
  u8(0xd9), // str 8 without its length
  u8(0xd9, 0x20, 0x61), // str 8 of 32 bytes, 1 given
  Buffer.concat([u8(0xdb), be(0xffffffff, 4)]), // str 32 of 4 GiB
  Buffer.concat([u8(0xc6), be(0xffffffff, 4)]), // bin 32 of 4 GiB
  Buffer.concat([u8(0xdd), be(0xffffffff, 4)]), // array 32 of 4G entries
  Buffer.concat([u8(0xdf), be(0xffffffff, 4)]), // map 32 of 4G entries
  u8(0xc7, 0xff, 0x05), // ext 8 announcing 255 bytes
  u8(0xd4, 0x72, 0x00), // record definition
  u8(0xd4, 0x72, 0x00, 0x91, 0xa1, 0x6b, 0x40), // record definition and use
  u8(0xcf), // uint 64 without its bytes
  u8(0xcb, 0x7f, 0xf8), // float 64, cut
);

/** Msgpack encodings of values of every type but the expected one. */
const weirdValue: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .anything({ maxDepth: 2, maxKeys: 4, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withBoxedValues: true, withNullPrototype: true })
    .map(packOrNil),
  nastyString.map(mp),
  specialNumber.map(mp),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map((b) => {
    const out = Buffer.alloc(9);
    if (b < 0n) {
      out[0] = 0xd3;
      out.writeBigInt64BE(b, 1);
    } else {
      out[0] = 0xcf;
      out.writeBigUInt64BE(b, 1);
    }
    return out;
  }),
  fc.uint8Array({ maxLength: 40 }).map(mp),
  fc.tuple(fc.integer({ min: -128, max: 127 }), fc.uint8Array({ maxLength: 24 })).map(([t, body]) => extBytes(t, body)),
  brokenValue,
);

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const smallInt = fc.oneof(fc.integer({ min: -2, max: 4 }), specialNumber);

type Entries = Array<[string, unknown]>;
interface Shaped {
  kind: 'hello' | 'challenge' | 'auth' | 'ok' | 'msg' | 'bye';
  entries: Entries;
}

const validTag = fc.string({ minLength: 1, maxLength: 40 });
const meta = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined });

/** Messages as sent by an honest party (the handshake with plausible ids, headers of any size). */
const validShaped: fc.Arbitrary<Shaped> = fc.oneof(
  fc
    .record({ sid: fc.constantFrom(SESSION, 'other', ''), from: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 3 }), nonce: bytes32 })
    .map((h): Shaped => ({ kind: 'hello', entries: [['k', 'hello'], ['v', HANDSHAKE_VERSION], ['sid', h.sid], ['from', h.from], ['to', h.to], ['nonce', h.nonce]] })),
  fc
    .record({ from: fc.integer({ min: 0, max: 3 }), nonce: bytes32, mac: bytes32 })
    .map((c): Shaped => ({ kind: 'challenge', entries: [['k', 'challenge'], ['from', c.from], ['nonce', c.nonce], ['mac', c.mac]] })),
  bytes32.map((mac): Shaped => ({ kind: 'auth', entries: [['k', 'auth'], ['mac', mac]] })),
  fc.constant<Shaped>({ kind: 'ok', entries: [['k', 'ok']] }),
  fc
    .record({
      t: validTag,
      s: fc.nat({ max: 1000 }),
      n: fc.option(fc.nat({ max: 1 << 20 }), { nil: null }),
      c: fc.constantFrom('online', 'dealer'),
      d: fc.nat({ max: 2 ** 31 }),
      m: meta,
    })
    .map((h): Shaped => {
      const entries: Entries = [['k', 'msg'], ['t', h.t], ['s', h.s], ['n', h.n], ['c', h.c], ['d', h.d]];
      if (h.m !== undefined) entries.push(['m', h.m]);
      return { kind: 'msg', entries };
    }),
  fc.constant<Shaped>({ kind: 'bye', entries: [['k', 'bye']] }),
);

function shapedBytes(s: Shaped): Buffer {
  return mapBytes(s.entries.map(([k, v]) => [mp(k), mp(v)]));
}

interface Frame {
  label: string;
  bytes: Uint8Array;
}

/** Byte-level damage to a valid encoding: cut, flipped, inserted, deleted, appended. */
const byteMutation = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ op: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
type ByteMutation = typeof byteMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateBytes(src: Uint8Array, muts: ByteMutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    if (m.op === 'append') {
      b = Buffer.concat([b, m.bytes]);
      continue;
    }
    const at = Math.min(b.length, Math.floor(m.at * (b.length + 1)));
    if (m.op === 'truncate') b = b.subarray(0, at);
    else if (m.op === 'flip' && at < b.length) b[at] = b[at]! ^ m.xor;
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
  }
  return b;
}

const extraKey = fc.oneof(
  nastyString,
  fc.constantFrom('__proto__', '__proto_', 'constructor', 'toString', 'K', 'k ', 'extra', 'sid', 'm', 'v', 'from', 'mac', 'nonce', 'n', ''),
);

/** Field-level damage: a field of the wrong type, dropped, added, repeated, a non-string key, a wrong count. */
const fieldMutation = fc.oneof(
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: weirdValue }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), key: extraKey, value: fc.oneof(weirdValue, fc.jsonValue({ maxDepth: 1 }).map(mp)) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), value: weirdValue }),
  fc.record({ op: fc.constant('rawkey' as const), key: fc.oneof(weirdValue, fc.constantFrom(mp(1), mp(-1), mp(null), mp(true), mp(Buffer.from('k')), mp(['k']))), value: weirdValue }),
);
type FieldMutation = typeof fieldMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateFields(s: Shaped, muts: FieldMutation[], form: 'fix' | '16' | '32', countDelta: number): Buffer {
  let entries: Array<[Uint8Array, Uint8Array]> = s.entries.map(([k, v]) => [mp(k), mp(v)]);
  for (const m of muts) {
    const i = entries.length === 0 ? 0 : ('at' in m ? m.at : 0) % entries.length;
    if (m.op === 'retype' && entries.length > 0) entries[i] = [entries[i]![0], m.value];
    else if (m.op === 'drop' && entries.length > 0) entries = entries.filter((_, j) => j !== i);
    else if (m.op === 'add') entries.push([mp(m.key), m.value]);
    else if (m.op === 'repeat' && entries.length > 0) entries.push([entries[i]![0], m.value]);
    else if (m.op === 'rawkey') entries.push([m.key, m.value]);
  }
  return mapBytes(entries, form, countDelta);
}

/** Malformed, truncated, oversized and type-confused frames, labelled by how they were made. */
const junkFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 96 }).map((bytes) => ({ label: 'random bytes', bytes })) },
  {
    weight: 2,
    arbitrary: fc
      .anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withBoxedValues: true, withNullPrototype: true, withSparseArray: true })
      .map((v) => ({ label: 'msgpack of any value', bytes: packOrNil(v) })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(validShaped, fc.array(byteMutation, { minLength: 1, maxLength: 3 }))
      .map(([s, muts]) => ({ label: `${s.kind}, bytes damaged`, bytes: mutateBytes(shapedBytes(s), muts) })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(validShaped, fc.array(fieldMutation, { minLength: 1, maxLength: 3 }), fc.constantFrom('fix' as const, '16' as const, '32' as const), fc.constantFrom(0, 0, 0, -1, 1))
      .map(([s, muts, form, delta]) => ({ label: `${s.kind}, fields confused`, bytes: mutateFields(s, muts, form, delta) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: -128, max: 127 }), fc.uint8Array({ maxLength: 40 }), fc.boolean())
      .map(([t, body, inMap]) => ({ label: 'extension value', bytes: inMap ? mapBytes([[mp('k'), extBytes(t, body)]]) : extBytes(t, body) })),
  },
);

/** Big or deep input (fewer runs: each is up to a few hundred KiB). */
const oversizedFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.integer({ min: MAX_TAG_LENGTH + 1, max: 70_000 }).map((len) => ({
    label: 'tag too long',
    bytes: encodeMsgHeader({ k: 'msg', t: 'x'.repeat(len), s: 0, n: null, c: 'online', d: 0 }),
  })),
  fc.integer({ min: MAX_SESSION_ID_LENGTH + 1, max: 70_000 }).map((len) => ({
    label: 'sid too long',
    bytes: encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: 's'.repeat(len), from: 1, to: 0, nonce: newNonce() }),
  })),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => ({
    label: 'deeply nested meta',
    bytes: mapBytes([
      ...([['k', 'msg'], ['t', 'x'], ['s', 0], ['n', null], ['c', 'online'], ['d', 0]] as const).map(([k, v]): [Uint8Array, Uint8Array] => [mp(k), mp(v)]),
      [mp('m'), Buffer.concat([Buffer.alloc(depth, 0x91), u8(0xc0)])],
    ]),
  })),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => ({ label: 'deeply nested maps', bytes: Buffer.concat([Buffer.alloc(depth, 0x81), mp('k'), u8(0xc0)]) })),
  fc.integer({ min: 16, max: 20_000 }).map((keys) => ({
    label: 'map with many keys',
    bytes: mapBytes(Array.from({ length: keys }, (_, i): [Uint8Array, Uint8Array] => [mp(`f${i}`), mp(i)]), '16'),
  })),
  fc.integer({ min: 0, max: 4096 }).map((len) => ({ label: 'huge declared length', bytes: Buffer.concat([u8(0xc6), be(0xfffffff0, 4), Buffer.alloc(len)]) })),
  fc.integer({ min: 1, max: 300_000 }).map((len) => ({
    label: 'big meta',
    bytes: encodeMsgHeader({ k: 'msg', t: 'x', s: 0, n: null, c: 'online', d: 0, m: new Uint8Array(len) }),
  })),
);

// ------------------------------------------------------------------ decoder checks

/** Fails the property with a message (cheaper than expect() in the hot loop). */
function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

const HEADER_MAX_PAYLOAD = 1 << 20;
const FIELDS: Record<string, readonly string[]> = {
  hello: ['k', 'v', 'sid', 'from', 'to', 'nonce'],
  challenge: ['k', 'from', 'nonce', 'mac'],
  auth: ['k', 'mac'],
  ok: ['k'],
  msg: ['k', 't', 's', 'n', 'c', 'd', 'm'],
  bye: ['k'],
};

/** The keys of the top-level map as sent, independently of the decoders: each a string, each once, none unknown. */
function checkRawFields(bytes: Uint8Array, kind: string, required: readonly string[]): void {
  const raw: unknown = mapUnpackr.unpack(bytes);
  check(raw instanceof Map, `${kind} accepted but is not a msgpack map`);
  const keys = [...raw.keys()];
  check(keys.every((k) => typeof k === 'string' && FIELDS[kind]!.includes(k)), `${kind} accepted with fields ${JSON.stringify(keys)}`);
  for (const k of required) check(raw.has(k), `${kind} accepted without ${k}`);
  const b = bytes[0]!;
  const announced = b >= 0x80 && b <= 0x8f ? b & 0x0f : b === 0xde ? (bytes[1]! << 8) | bytes[2]! : Buffer.from(bytes).readUInt32BE(1);
  check(announced === keys.length, `${kind} accepted with a repeated field`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const is32 = (v: unknown): boolean => v instanceof Uint8Array && v.byteLength === 32;

function checkHeader(h: Header, bytes: Uint8Array): void {
  if (h.k === 'bye') {
    checkRawFields(bytes, 'bye', ['k']);
    return;
  }
  checkRawFields(bytes, 'msg', ['k', 't', 's', 'c', 'd']);
  check(typeof h.t === 'string' && h.t.length >= 1 && h.t.length <= MAX_TAG_LENGTH, 'header accepted with a bad tag');
  check(isInt(h.s) && h.s >= 0, 'header accepted with a bad seq');
  check(h.n === null || (isInt(h.n) && h.n >= 0 && h.n <= HEADER_MAX_PAYLOAD), 'header accepted with a bad length');
  check(h.c === 'online' || h.c === 'dealer', 'header accepted with a bad class');
  check(isInt(h.d) && h.d >= 0 && h.d <= 2 ** 31, 'header accepted with a bad depth');
}

type Decoder = [name: string, decode: (b: Uint8Array) => unknown, wellFormed: (v: unknown, b: Uint8Array) => void];
const DECODERS: Decoder[] = [
  ['header', (b) => decodeHeader(b, HEADER_MAX_PAYLOAD), (v, b) => checkHeader(v as Header, b)],
  [
    'hello',
    decodeHello,
    (v, b) => {
      checkRawFields(b, 'hello', FIELDS.hello!);
      const h = v as ReturnType<typeof decodeHello>;
      check(h.v === HANDSHAKE_VERSION && typeof h.sid === 'string' && h.sid.length <= MAX_SESSION_ID_LENGTH, 'hello accepted with a bad v or sid');
      check(isInt(h.from) && isInt(h.to) && is32(h.nonce), 'hello accepted with a bad id or nonce');
    },
  ],
  [
    'challenge',
    decodeChallenge,
    (v, b) => {
      checkRawFields(b, 'challenge', FIELDS.challenge!);
      const c = v as ReturnType<typeof decodeChallenge>;
      check(isInt(c.from) && is32(c.nonce) && is32(c.mac), 'challenge accepted with a bad field');
    },
  ],
  ['auth', decodeAuth, (v, b) => (checkRawFields(b, 'auth', FIELDS.auth!), check(is32((v as ReturnType<typeof decodeAuth>).mac), 'auth accepted with a bad mac'))],
  ['ok', decodeOk, (_v, b) => checkRawFields(b, 'ok', FIELDS.ok!)],
];

/** One honest header and hello, decoded after every junk frame: junk must not leave msgpackr state behind. */
const HONEST_HEADER = encodeMsgHeader({ k: 'msg', t: 'relu#3/drelu#0', s: 7, n: 64, c: 'online', d: 12, m: { shape: [2, 4], nested: { a: [1, 'b'] } } });
const HONEST_HEADER_VALUE = decodeHeader(HONEST_HEADER, HEADER_MAX_PAYLOAD);
const HONEST_HELLO_NONCE = newNonce();
const HONEST_HELLO = encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: SESSION, from: 2, to: 1, nonce: HONEST_HELLO_NONCE });

/** Longest a single decode may take before it counts as a hang (generous for a loaded 2-core machine). */
const DECODE_MS_LIMIT = 1_000;

function throwAtDecoders(frame: Frame): void {
  figures.decoderFrames.add(frame.label);
  const bytes = frame.bytes;
  for (const [name, decode, wellFormed] of DECODERS) {
    const t0 = performance.now();
    let value: unknown;
    let error: unknown = null;
    try {
      value = decode(bytes);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - t0;
    check(ms < DECODE_MS_LIMIT, `${name} took ${ms.toFixed(0)} ms on ${bytes.byteLength} bytes`);
    if (error === null) {
      wellFormed(value, bytes);
      figures.decoderAccepted.add(`${name} <- ${frame.label}`);
      continue;
    }
    check(error instanceof FrameError, `${name} threw ${String(error)} (not a FrameError) on ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}`);
    const msg = error.message;
    check(msg.length > 0 && msg.length <= 200 && !UNSAFE.test(msg), `${name}: unclear or unescaped message ${JSON.stringify(msg)}`);
    check(error.problem === msg, `${name}: FrameError.problem differs from its message`);
    figures.decoderErrors.add(`${name}: ${kindOf(msg)}`);
  }
  // payload "decoding": any bytes at any offset come back 8-byte aligned and unchanged
  const off = bytes.byteLength % 11;
  const host = new Uint8Array(bytes.byteLength + off);
  host.set(bytes, off);
  const view = host.subarray(off);
  const aligned = alignedPayload(view);
  check(aligned.byteOffset % 8 === 0 && Buffer.from(aligned).equals(Buffer.from(bytes)), 'alignedPayload changed the bytes or is unaligned');
  check(off % 8 !== 0 || aligned.buffer === host.buffer, 'alignedPayload copied an aligned view');
  // nothing left behind in msgpackr's module state
  check(JSON.stringify(decodeHeader(HONEST_HEADER, HEADER_MAX_PAYLOAD)) === JSON.stringify(HONEST_HEADER_VALUE), 'an honest header decodes differently after junk');
  check(Buffer.from(decodeHello(HONEST_HELLO).nonce).equals(HONEST_HELLO_NONCE), 'an honest hello decodes differently after junk');
}

// ------------------------------------------------------------------ a. decoders

describe('net fuzz: decoders', () => {
  it('junk, damaged and type-confused frames: a well-formed value or a FrameError, never anything else', () => {
    const t0 = Date.now();
    fc.assert(
      fc.property(junkFrame, (f) => throwAtDecoders(f)),
      { numRuns: 12_000, seed: SEED },
    );
    figures.times.push(`a. junk frames: ${Date.now() - t0} ms`);
  });

  it('oversized and deeply nested frames are refused (or accepted well-formed) quickly', () => {
    const t0 = Date.now();
    fc.assert(
      fc.property(oversizedFrame, (f) => throwAtDecoders(f)),
      { numRuns: 150, seed: SEED },
    );
    figures.times.push(`a. oversized frames: ${Date.now() - t0} ms`);
  });

  it('what an honest party encodes decodes to the same value', () => {
    fc.assert(
      fc.property(validShaped, (s) => {
        const obj = Object.fromEntries(s.entries);
        if (s.kind === 'msg') {
          const h = obj as unknown as MsgHeader;
          // msgpack has no -0: meta comes back as JSON would carry it
          const want = h.m === undefined ? h : { ...h, m: JSON.parse(JSON.stringify(h.m)) as unknown };
          expect(decodeHeader(encodeMsgHeader(h), HEADER_MAX_PAYLOAD)).toEqual(want);
        } else if (s.kind === 'bye') {
          expect(decodeHeader(encodeByeHeader(), HEADER_MAX_PAYLOAD)).toEqual({ k: 'bye' });
        } else {
          const decode = { hello: decodeHello, challenge: decodeChallenge, auth: decodeAuth, ok: decodeOk }[s.kind];
          const back = decode(packValue(obj)) as unknown as Record<string, unknown>;
          for (const [k, v] of s.entries) {
            if (v instanceof Uint8Array) expect(Buffer.from(back[k] as Uint8Array).equals(Buffer.from(v))).toBe(true);
            else expect(back[k]).toEqual(v);
          }
        }
      }),
      { numRuns: 500, seed: SEED },
    );
  });

  it('a handshake message or header with an unknown extra field is refused, naming the field', () => {
    const known = new Set(['k', 'v', 'sid', 'from', 'to', 'nonce', 'mac', 't', 's', 'n', 'c', 'd', 'm']);
    fc.assert(
      fc.property(
        validShaped,
        extraKey.filter((k) => !known.has(k)),
        fc.jsonValue({ maxDepth: 1 }),
        (s, key, value) => {
          const bytes = mapBytes([...s.entries.map(([k, v]): [Uint8Array, Uint8Array] => [mp(k), mp(v)]), [mp(key), mp(value)]]);
          // the name as msgpack carries it (a lone surrogate does not survive UTF-8), as the decoder sees it
          const sent = new Unpackr({ useRecords: false }).unpack(mp(key)) as string;
          const shown = peerQuoted(sent === '__proto__' ? '__proto_' : sent);
          if (s.kind === 'msg' || s.kind === 'bye') {
            const field = s.kind === 'msg' ? 'header has unknown field' : 'bye header has unknown field';
            expect(() => decodeHeader(bytes, HEADER_MAX_PAYLOAD)).toThrow(new FrameError(`${field} ${shown}`));
          } else {
            const decode = { hello: decodeHello, challenge: decodeChallenge, auth: decodeAuth, ok: decodeOk }[s.kind];
            expect(() => decode(bytes)).toThrow(new FrameError(`malformed handshake: ${s.kind} has unexpected field ${shown}`));
          }
        },
      ),
      { numRuns: 500, seed: SEED },
    );
    // and a repeated field is refused (msgpackr alone would keep the last value)
    const twice = mapBytes([[mp('k'), mp('hello')], [mp('v'), mp(1)], [mp('sid'), mp(SESSION)], [mp('from'), mp(1)], [mp('to'), mp(0)], [mp('nonce'), mp(newNonce())], [mp('from'), mp(2)]]);
    expect(() => decodeHello(twice)).toThrow('malformed handshake: hello repeats a field name (7 entries, 6 distinct names)');
  });

  it('peerText escapes every control and line-breaking character, JSON-style, and truncates', () => {
    fc.assert(
      fc.property(fc.oneof(nastyString, fc.string({ unit: 'binary', maxLength: 200 })), fc.integer({ min: 0, max: 120 }), (s, max) => {
        const out = peerText(s, max);
        expect(UNSAFE.test(out)).toBe(false);
        // quoted form is exactly a JSON string literal of the text
        expect(JSON.parse(peerQuoted(s, Number.POSITIVE_INFINITY))).toBe(s);
        if (s.length > max) expect(out.endsWith('…')).toBe(true);
        else expect(JSON.parse(`"${out.replace(/"/g, '\\"')}"`)).toBe(s);
      }),
      { numRuns: 2_000, seed: SEED },
    );
    expect(peerText('plain text: P1 said bye')).toBe('plain text: P1 said bye');
    expect(peerText('a\nb\r\u001b[31m\u2028')).toBe('a\\nb\\r\\u001b[31m\\u2028');
    expect(peerText('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(peerQuoted('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
  });
});

// ------------------------------------------------------------------ raw WebSocket client

interface FrameSpec {
  opcode: number;
  payload: Uint8Array;
  fin?: boolean;
  rsv?: number;
  masked?: boolean;
  /** Announced payload length when it differs from payload.length. */
  declared?: bigint;
  /** Write only this many bytes of the encoded frame. */
  cut?: number;
}

/** Encode one client frame by hand (masked unless told otherwise). */
function encodeFrame(f: FrameSpec): Buffer {
  const len = f.declared ?? BigInt(f.payload.length);
  const b0 = ((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f);
  const mask = f.masked ?? true;
  let head: Buffer;
  if (len < 126n) head = u8(b0, (mask ? 0x80 : 0) | Number(len));
  else if (len <= 0xffffn) head = Buffer.concat([u8(b0, (mask ? 0x80 : 0) | 126), be(Number(len), 2)]);
  else {
    head = Buffer.concat([u8(b0, (mask ? 0x80 : 0) | 127), Buffer.alloc(8)]);
    head.writeBigUInt64BE(len & 0xffffffffffffffffn, 2);
  }
  let body = Buffer.from(f.payload);
  if (mask) {
    const key = randomBytes(4);
    body = Buffer.from(body.map((x, i) => x ^ key[i & 3]!));
    head = Buffer.concat([head, key]);
  }
  const all = Buffer.concat([head, body]);
  return f.cut === undefined ? all : all.subarray(0, f.cut);
}

/**
 * A WebSocket client written by hand over a TCP socket: the HTTP upgrade,
 * then frames exactly as given. Parses what the server sends back.
 */
class RawClient {
  readonly messages: Buffer[] = [];
  closeFrame: { code: number; reason: string } | null = null;
  ended = false;
  localPort = 0;
  private buf: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private wake: Array<() => void> = [];

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.notify();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  static async open(port: number, timeoutMs = 5_000): Promise<RawClient> {
    const sock = net.connect(port, '127.0.0.1');
    const c = new RawClient(sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    c.localPort = sock.localPort ?? 0;
    sock.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await c.until(() => c.upgraded || c.ended, timeoutMs, 'the HTTP upgrade');
    if (!c.upgraded) throw new Error('the server did not upgrade the connection');
    return c;
  }

  write(bytes: Uint8Array): void {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  send(f: FrameSpec): void {
    this.write(encodeFrame(f));
  }

  async next(timeoutMs = 5_000): Promise<Buffer> {
    await this.until(() => this.messages.length > 0 || this.ended || this.closeFrame !== null, timeoutMs, 'a message');
    const m = this.messages.shift();
    if (!m) throw new Error(`closed before a message came: ${JSON.stringify(this.closeFrame)}`);
    return m;
  }

  /** Resolves when cond() holds; rejects after timeoutMs naming what it waited for. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (cond()) {
        resolve();
        return;
      }
      const t = setTimeout(() => {
        this.wake = this.wake.filter((w) => w !== tick);
        reject(new Error(`raw client: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const tick = (): void => {
        if (!cond()) return;
        clearTimeout(t);
        this.wake = this.wake.filter((w) => w !== tick);
        resolve();
      };
      this.wake.push(tick);
    });
  }

  /** The real dialer handshake with the session key: the link is authenticated afterwards. */
  async handshake(sessionId: string, key: Uint8Array, from: number, to: number): Promise<void> {
    const nonce = newNonce();
    this.send({ opcode: 2, payload: encodeHandshake({ k: 'hello', v: HANDSHAKE_VERSION, sid: sessionId, from, to, nonce }) });
    const ch = decodeChallenge(await this.next());
    const t = { sessionId, clientId: from, serverId: to, clientNonce: nonce, serverNonce: ch.nonce };
    if (!handshakeMac(key, t, 'server->client').equals(Buffer.from(ch.mac))) throw new Error('server proved the wrong key');
    this.send({ opcode: 2, payload: encodeHandshake({ k: 'auth', mac: handshakeMac(key, t, 'client->server') }) });
    decodeOk(await this.next());
  }

  destroy(): void {
    this.sock.destroy();
  }

  private notify(): void {
    for (const w of [...this.wake]) w();
  }

  private parse(): void {
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(end + 4);
      if (!head.startsWith('HTTP/1.1 101')) {
        this.sock.destroy();
        return;
      }
      this.upgraded = true;
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const payload = this.buf.subarray(at, at + len);
      this.buf = this.buf.subarray(at + len);
      if (opcode === 2) this.messages.push(Buffer.from(payload));
      else if (opcode === 8) this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() };
    }
  }
}

function closeFrame(code: number, reason: Uint8Array): FrameSpec {
  return { opcode: 8, payload: Buffer.concat([be(code, 2), reason]) };
}

// ------------------------------------------------------------------ memory

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
}

function memNow(): Mem {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

async function settledMem(): Promise<Mem> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return memNow();
}

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Peak RSS and heap while `run` goes (sampled every 10 ms). */
async function withPeak<T>(run: () => Promise<T>): Promise<{ result: T; peak: Mem }> {
  const peak = memNow();
  const sample = (): void => {
    const m = memNow();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
  };
  const iv = setInterval(sample, 10);
  try {
    const result = await run();
    sample();
    return { result, peak };
  } finally {
    clearInterval(iv);
  }
}

// ------------------------------------------------------------------ b. before authentication

type Finish = 'end' | 'stall' | 'destroy';

interface RawCase {
  kind: 'raw';
  label: string;
  frames: FrameSpec[];
  /** Bytes written after the frames (stream noise). */
  tail?: Uint8Array;
  finish: Finish;
  /** The frame breaks the WebSocket framing (ws itself refuses it). */
  framing?: boolean;
}

interface WsCase {
  kind: 'ws';
  label: string;
  messages: Array<{ binary: Uint8Array } | { text: string }>;
  finish: 'wait' | 'terminate' | { code: number; reason: string };
  /** The reason the node must give (the first message is then decided by decodeHello alone). */
  expected?: string;
  /** Send the first message, wait for the node's challenge, then send the rest. */
  awaitChallenge?: boolean;
}

type SocketCase = RawCase | WsCase;

const finish = fc.constantFrom<Finish>('end', 'end', 'end', 'destroy', 'stall');
const binaryPayload = fc.oneof(junkFrame.map((f) => f.bytes), fc.uint8Array({ maxLength: 64 }));
const helloBytes = (over: Record<string, unknown> = {}): Buffer =>
  packValue({ k: 'hello', v: HANDSHAKE_VERSION, sid: SESSION, from: 1, to: 0, nonce: newNonce(), ...over });

/** Frames that break the WebSocket framing itself. */
const badFraming: fc.Arbitrary<{ label: string; frame: FrameSpec }> = fc.oneof(
  fc.tuple(fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15), binaryPayload).map(([opcode, payload]) => ({ label: 'reserved opcode', frame: { opcode, payload } })),
  fc.tuple(fc.integer({ min: 1, max: 7 }), binaryPayload).map(([rsv, payload]) => ({ label: 'RSV bits set', frame: { opcode: 2, rsv, payload } })),
  binaryPayload.map((payload) => ({ label: 'unmasked client frame', frame: { opcode: 2, masked: false, payload } })),
  fc.tuple(fc.constantFrom(8, 9, 10), fc.integer({ min: 126, max: 300 })).map(([opcode, n]) => ({ label: 'control frame over 125 bytes', frame: { opcode, payload: Buffer.alloc(n, 0x61) } })),
  fc.constantFrom(8, 9, 10).map((opcode) => ({ label: 'fragmented control frame', frame: { opcode, fin: false, payload: u8(0x03, 0xe8) } })),
  binaryPayload.map((payload) => ({ label: 'continuation without a start', frame: { opcode: 0, payload } })),
  fc.constant({ label: 'close frame of 1 byte', frame: { opcode: 8, payload: u8(0x03) } }),
  fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((code) => ({ label: 'close frame with an invalid code', frame: closeFrame(code, Buffer.from('x')) })),
  fc.constantFrom(2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n).map((declared) => ({ label: 'declared length over 2^53', frame: { opcode: 2, declared, payload: Buffer.alloc(8) } })),
  fc.constantFrom(BigInt(DEFAULT_MAX_PAYLOAD_BYTES) + 1n, 2n ** 32n, 2n ** 40n).map((declared) => ({ label: 'declared length over maxPayload', frame: { opcode: 2, declared, payload: Buffer.alloc(8) } })),
);

/** Raw-frame cases before authentication. */
const rawCase: fc.Arbitrary<RawCase> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(badFraming, finish).map(([b, f]): RawCase => ({ kind: 'raw', label: b.label, frames: [b.frame], finish: f, framing: true })) },
  {
    // a frame announcing far more than it sends: the node must stop reading at a few KiB
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(126n, 65_535n, 65_536n, 1n << 20n, 1n << 30n, 2n ** 31n), fc.integer({ min: 0, max: 24 * 1024 }), finish)
      .map(([declared, sent, f]): RawCase => ({ kind: 'raw', label: 'huge declared length, streamed in part', frames: [{ opcode: 2, declared, payload: randomBytes(Math.min(sent, Number(declared))) }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom<Finish>('end', 'destroy', 'stall'))
      .map(([at, f]): RawCase => {
        const whole = encodeFrame({ opcode: 2, payload: helloBytes() });
        return { kind: 'raw', label: 'truncated hello frame', frames: [{ opcode: 2, payload: helloBytes(), cut: Math.floor(at * (whole.length - 1)) }], finish: f };
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.boolean(), finish)
      .map(([split, finishIt, f]): RawCase => {
        const hello = helloBytes({ from: 9 });
        const s = Math.min(split, hello.length - 1);
        const frames: FrameSpec[] = [{ opcode: 2, fin: false, payload: hello.subarray(0, s) }];
        if (finishIt) frames.push({ opcode: 0, payload: hello.subarray(s) });
        return { kind: 'raw', label: finishIt ? 'fragmented hello' : 'unfinished fragmented hello', frames, finish: f };
      }),
  },
  { weight: 2, arbitrary: fc.tuple(binaryPayload, finish).map(([p, f]): RawCase => ({ kind: 'raw', label: 'junk binary frame', frames: [{ opcode: 2, payload: p }], finish: f })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uint8Array({ maxLength: 64 }), finish).map(([p, f]): RawCase => ({ kind: 'raw', label: 'text frame, invalid UTF-8 allowed', frames: [{ opcode: 1, payload: p }], finish: f })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 200 }), finish)
      .map(([tail, f]): RawCase => ({ kind: 'raw', label: 'random stream bytes', frames: [], tail, finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(1000, 1001, 1008, 1011, 3000, 4000, 4999), nastyString)
      .map(([code, reason]): RawCase => {
        let r = Buffer.from(reason);
        if (r.length > 123) r = r.subarray(0, 123);
        return { kind: 'raw', label: `close frame (${code}) with a hostile reason`, frames: [closeFrame(code, r)], finish: 'end' };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 3 }), finish)
      .map(([n, f]): RawCase => ({ kind: 'raw', label: 'pings, then nothing', frames: Array.from({ length: n }, () => ({ opcode: 9, payload: u8(1, 2) })), finish: f })),
  },
);

/** Hello messages with one field of the wrong type (values a confused or hostile dialer might send). */
const confusedHello = fc
  .tuple(fc.constantFrom('v', 'sid', 'from', 'to', 'nonce', 'k'), weirdValue)
  .map(([field, value]) => {
    const entries: Array<[Uint8Array, Uint8Array]> = [
      [mp('k'), mp('hello')],
      [mp('v'), mp(HANDSHAKE_VERSION)],
      [mp('sid'), mp(SESSION)],
      [mp('from'), mp(1)],
      [mp('to'), mp(0)],
      [mp('nonce'), mp(newNonce())],
    ];
    const i = entries.findIndex(([k]) => Buffer.from(k).equals(mp(field)));
    entries[i] = [entries[i]![0], value];
    return mapBytes(entries);
  });

const wsFinish = fc.oneof(
  { weight: 4, arbitrary: fc.constant<'wait'>('wait') },
  { weight: 1, arbitrary: fc.constant<'terminate'>('terminate') },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(1000, 1001, 1008, 1008, 3000, 4000, 4999), nastyString)
      .map(([code, reason]) => ({ code, reason: Buffer.byteLength(reason) <= 123 ? reason : reason.slice(0, 30) }))
      .filter((c) => Buffer.byteLength(c.reason) <= 123),
  },
);

function expectedFromHello(first: Uint8Array): string | undefined {
  try {
    decodeHello(first);
    return undefined; // decodes: the node's own checks decide
  } catch (e) {
    return e instanceof FrameError ? e.message : undefined;
  }
}

/** What the node must say to this frame in the place of the auth message. */
function expectedFromAuth(bytes: Uint8Array): string | undefined {
  try {
    decodeAuth(bytes);
    return 'bad session key'; // a well-formed auth: the MAC cannot be right
  } catch (e) {
    return e instanceof FrameError ? e.message : undefined;
  }
}

/** ws-client cases before authentication: whole messages, as the ws package frames them. */
const wsCase: fc.Arbitrary<WsCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.array(junkFrame, { minLength: 1, maxLength: 3 }), wsFinish)
      .map(([frames, f]): WsCase => ({ kind: 'ws', label: `ws: ${frames[0]!.label}`, messages: frames.map((x) => ({ binary: x.bytes })), finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(confusedHello, wsFinish).map(([b, f]): WsCase => ({ kind: 'ws', label: 'ws: hello with a field of the wrong type', messages: [{ binary: b }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(extraKey.filter((k) => !['k', 'v', 'sid', 'from', 'to', 'nonce'].includes(k)), fc.jsonValue({ maxDepth: 1 }), wsFinish)
      .map(([key, value, f]): WsCase => ({ kind: 'ws', label: 'ws: hello with an extra field', messages: [{ binary: helloBytes({ [key]: value }) }], finish: f })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(junkFrame, { minLength: 1, maxLength: 2 }), wsFinish)
      .map(([frames, f]): WsCase => {
        // the junk goes where the auth belongs, once the challenge has come
        const c: WsCase = { kind: 'ws', label: 'ws: good hello, then junk', messages: [{ binary: helloBytes() }, ...frames.map((x) => ({ binary: x.bytes }))], finish: f, awaitChallenge: true };
        const auth = frames[0]!.bytes;
        if (frames.length === 1 && f !== 'terminate' && auth.byteLength + 14 + 90 <= MAX_HANDSHAKE_BYTES) c.expected = expectedFromAuth(auth);
        return c;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(nastyString, wsFinish).map(([text, f]): WsCase => ({ kind: 'ws', label: 'ws: text message', messages: [{ text }], finish: f })),
  },
).map((c) => {
  const first = c.messages[0];
  // Not when the client terminates at once: its unsent bytes may be dropped with the socket.
  if (first && 'binary' in first && !c.awaitChallenge && c.finish !== 'terminate' && first.binary.byteLength + 14 <= MAX_HANDSHAKE_BYTES) {
    const expected = expectedFromHello(first.binary);
    if (expected !== undefined) return { ...c, expected };
  }
  return c;
});

/** Bytes shown in a counterexample: the length and the first 24 bytes. */
function hexBrief(b: Uint8Array): string {
  const head = Buffer.from(b.subarray(0, 24)).toString('hex');
  return `${b.byteLength}B:${head}${b.byteLength > 24 ? '…' : ''}`;
}

/** fast-check prints this instead of the whole case (some hold tens of KiB). */
function printable<T extends object>(o: T, text: () => string): T {
  Object.defineProperty(o, fc.toStringMethod, { value: text, enumerable: false });
  return o;
}

function briefFrame(f: FrameSpec): string {
  const flags = [f.fin === false ? 'fin=0' : '', f.rsv ? `rsv=${f.rsv}` : '', f.masked === false ? 'unmasked' : '', f.declared !== undefined ? `declared=${f.declared}` : '', f.cut !== undefined ? `cut=${f.cut}` : '']
    .filter(Boolean)
    .join(' ');
  return `op${f.opcode}${flags ? ` ${flags}` : ''} ${hexBrief(f.payload)}`;
}

function briefCase(c: SocketCase): string {
  if (c.kind === 'raw') return `raw '${c.label}' [${c.frames.map(briefFrame).join(', ')}]${c.tail ? ` tail ${hexBrief(c.tail)}` : ''} finish=${c.finish}`;
  const msgs = c.messages.map((m) => ('binary' in m ? `bin ${hexBrief(m.binary)}` : `text ${JSON.stringify(m.text)}`)).join(', ');
  const fin = typeof c.finish === 'string' ? c.finish : `close ${c.finish.code} ${JSON.stringify(c.finish.reason)}`;
  return `ws '${c.label}' [${msgs}] finish=${fin}${c.expected !== undefined ? ` expect ${JSON.stringify(c.expected)}` : ''}`;
}

const socketCase: fc.Arbitrary<SocketCase> = fc
  .oneof({ weight: 1, arbitrary: rawCase }, { weight: 1, arbitrary: wsCase })
  .map((c) => printable(c, () => briefCase(c)));

/**
 * The node under attack, with what it reported. Rejections are matched to
 * connections by the client's port; a port is registered while its
 * connection runs (the kernel reuses ports), and a rejection for a port
 * nobody holds (a duplicate, or one for an unknown connection) is kept in
 * `unclaimed`, which must stay empty.
 */
interface Target {
  node: MeshNode;
  key: Uint8Array;
  logs: string[];
  fatal: Error[];
  live: Map<number, Rejection[]>;
  waiters: Map<number, () => void>;
  unclaimed: Rejection[];
}

function claimPort(t: Target, port: number): void {
  check(port > 0 && !t.live.has(port), `client port ${port} is in use twice`);
  t.live.set(port, []);
}

/** The connection on `port` is over: it must have been refused exactly once. */
function releasePort(t: Target, port: number, label: string): void {
  const list = t.live.get(port) ?? [];
  t.live.delete(port);
  check(list.length === 1, `${label}: refused ${list.length} times: ${JSON.stringify(list.map((r) => r.reason))}`);
}

/** Longest a refused connection may take to be reported (the handshake timeout plus slack for a loaded machine). */
const REFUSAL_DEADLINE_MS = 8_000;
const FUZZ_HANDSHAKE_TIMEOUT_MS = 250;

function waitRejection(t: Target, port: number): Promise<Rejection> {
  return new Promise((resolve, reject) => {
    const got = (): boolean => {
      const r = t.live.get(port)?.[0];
      if (!r) return false;
      clearTimeout(timer);
      t.waiters.delete(port);
      resolve(r);
      return true;
    };
    const timer = setTimeout(() => {
      t.waiters.delete(port);
      reject(new Error(`no rejection reported for 127.0.0.1:${port} within ${REFUSAL_DEADLINE_MS} ms`));
    }, REFUSAL_DEADLINE_MS);
    if (!got()) t.waiters.set(port, () => void got());
  });
}

function countFrames(c: SocketCase): void {
  if (c.kind === 'raw') figures.socketFrames.add(c.label, Math.max(1, c.frames.length));
  else figures.socketFrames.add(c.label, c.messages.length);
}

function checkReason(r: Rejection, c: SocketCase): void {
  check(typeof r.reason === 'string' && r.reason.length > 0, `${c.label}: empty rejection reason`);
  check(r.side === 'accept', `${c.label}: rejection side ${r.side}`);
  check(!UNSAFE.test(r.reason), `${c.label}: unescaped peer text in the rejection reason ${JSON.stringify(r.reason)}`);
  // A framing error before authentication is refused naming it (ws's own parser error).
  if (c.kind === 'raw' && c.framing && c.finish !== 'destroy')
    check(/WebSocket frame|Max payload size exceeded/.test(r.reason), `${c.label}: refused with ${JSON.stringify(r.reason)}`);
  if (c.kind === 'ws' && c.expected !== undefined) {
    check(r.reason === c.expected, `${c.label}: refused with ${JSON.stringify(r.reason)}, expected ${JSON.stringify(c.expected)}`);
  }
  figures.rejections.add(kindOf(r.reason));
  figures.rejectionsByCase.add(`${c.label} -> ${kindOf(r.reason)}`);
}

async function runRawCase(t: Target, c: RawCase): Promise<void> {
  const client = await RawClient.open(t.node.port);
  claimPort(t, client.localPort);
  try {
    for (const f of c.frames) client.send(f);
    if (c.tail) client.write(c.tail);
    if (c.finish === 'end') client.sock.end();
    else if (c.finish === 'destroy') client.sock.destroy();
    const r = await waitRejection(t, client.localPort);
    checkReason(r, c);
    if (c.finish === 'stall') {
      // the node, not the client, must end a stalled connection
      await client.until(() => client.ended || client.closeFrame !== null, REFUSAL_DEADLINE_MS, 'close after refusal');
    }
  } finally {
    client.destroy();
    releasePort(t, client.localPort, c.label);
  }
}

async function runWsCase(t: Target, c: WsCase): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${t.node.port}/`, { perMessageDeflate: false, handshakeTimeout: REFUSAL_DEADLINE_MS });
  ws.on('error', () => {});
  let port = 0;
  ws.once('upgrade', (res) => {
    port = res.socket.localPort ?? 0;
    claimPort(t, port);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => reject(new Error('closed before open')));
    });
    for (const [i, m] of c.messages.entries()) {
      if ('binary' in m) ws.send(m.binary, { binary: true });
      else ws.send(m.text, { binary: false });
      if (i === 0 && c.awaitChallenge) {
        const challenge = await new Promise<Buffer | null>((resolve) => {
          ws.once('message', (d) => resolve(d as Buffer));
          ws.once('close', () => resolve(null));
        });
        check(challenge !== null, `${c.label}: closed instead of a challenge`);
        decodeChallenge(challenge);
      }
    }
    if (c.finish === 'terminate') ws.terminate();
    else if (c.finish !== 'wait') ws.close(c.finish.code, c.finish.reason);
    const r = await waitRejection(t, port);
    checkReason(r, c);
    if (c.finish === 'wait') await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${c.label}: not closed after refusal`)), REFUSAL_DEADLINE_MS))]);
  } finally {
    ws.terminate();
    if (port !== 0) releasePort(t, port, c.label);
  }
}

async function runSocketCase(t: Target, c: SocketCase): Promise<void> {
  countFrames(c);
  if (c.kind === 'raw') await runRawCase(t, c);
  else await runWsCase(t, c);
}

describe('net fuzz: before authentication, over real sockets', () => {
  it(
    'every junk connection is refused with a reason, memory stays bounded, and an honest pair connects afterwards',
    async () => {
      const t0 = Date.now();
      const key = randomBytes(32);
      const logs: string[] = [];
      const node = await MeshNode.listen({ self: 0, partyCount: 2, sessionId: SESSION, sessionKey: key, handshakeTimeoutMs: FUZZ_HANDSHAKE_TIMEOUT_MS, log: (l) => logs.push(l) });
      const t: Target = { node, key, logs, fatal: [], live: new Map(), waiters: new Map(), unclaimed: [] };
      node.onFatal((e) => t.fatal.push(e));
      node.onRejected((r) => {
        const port = Number(r.remote.slice(r.remote.lastIndexOf(':') + 1));
        const list = t.live.get(port);
        if (list) list.push(r);
        else t.unclaimed.push(r);
        t.waiters.get(port)?.();
      });
      let p1: MeshNode | null = null;
      try {
        // Concurrent connections per run: below the node's 16 handshake slots, so
        // that no connection is evicted and every one is refused for what it sent.
        const BATCH = 10;
        const RUNS = 100;
        const before = await settledMem();
        let half: Mem | null = null;
        let run = 0;
        const { peak } = await withPeak(async () => {
          await fc.assert(
            fc.asyncProperty(fc.array(socketCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
              await Promise.all(cases.map((c) => runSocketCase(t, c)));
              if (++run === RUNS / 2) half = await settledMem();
            }),
            { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
          );
        });
        // refused sockets are destroyed within their grace period; then nothing may be held
        await new Promise((r) => setTimeout(r, 1_000));
        const after = await settledMem();
        const mid = half ?? after;
        figures.memory.push(
          `b. memory (${figures.socketFrames.total} frames over ${RUNS * BATCH} connections): ` +
            `before rss ${MiB(before.rss)} heap ${MiB(before.heapUsed)}; peak rss ${MiB(peak.rss)} heap ${MiB(peak.heapUsed)} external ${MiB(peak.external)}; ` +
            `after GC rss ${MiB(after.rss)} heap ${MiB(after.heapUsed)} (heap at half way ${MiB(mid.heapUsed)})`,
        );
        // Bounds: the heap after GC may not grow by more than 16 MiB over the
        // whole run nor by more than 8 MiB over its second half (nothing kept
        // per connection), and the peak RSS may exceed the start by at most
        // 256 MiB (the node stops reading an unauthenticated connection at
        // 4 KiB, so the peak is mostly this process's own clients). Measured
        // (1,000 connections, ~1,360 frames, 2 shared cores, 4 seeds): heap
        // after GC +2.4..2.8 MiB (+0.1..0.6 MiB over the second half), peak
        // heap ~36 MiB before GC, peak RSS +4..6 MiB.
        expect(after.heapUsed - before.heapUsed).toBeLessThan(16 * 2 ** 20);
        expect(after.heapUsed - mid.heapUsed).toBeLessThan(8 * 2 ** 20);
        expect(peak.rss - before.rss).toBeLessThan(256 * 2 ** 20);

        // nothing reported twice, nothing fatal, nothing unescaped in the log
        expect(t.unclaimed).toEqual([]);
        expect(t.live.size).toBe(0);
        expect(t.fatal).toEqual([]);
        expect(logs.filter((l) => CONTROL.test(l))).toEqual([]);
        expect(logs.every((l) => l.startsWith('[P0] rejected connection from 127.0.0.1:'))).toBe(true);

        // the node still works: an honest P1 connects and they talk both ways
        p1 = await MeshNode.listen({ self: 1, partyCount: 2, sessionId: SESSION, sessionKey: key, log: () => {} });
        const peers = [
          { id: 0, host: '127.0.0.1', port: node.port },
          { id: 1, host: '127.0.0.1', port: p1.port },
        ];
        const [m0, m1] = (await Promise.all([node.connect(peers), p1.connect(peers)])) as [Mesh, Mesh];
        m1.send(0, 'after-fuzz', Uint8Array.of(1, 2, 3));
        const got = await m0.recv(1, 'after-fuzz');
        m0.send(1, 'reply', got.payload);
        expect(Array.from((await m1.recv(0, 'reply')).payload!)).toEqual([1, 2, 3]);
        expect(t.fatal).toEqual([]);
        figures.times.push(`b. sockets before authentication: ${Date.now() - t0} ms`);
      } finally {
        await Promise.all([node.close(), p1?.close()]);
      }
    },
    120_000,
  );

  it(
    'a frame announcing 1 GiB before authentication is cut off at a few KiB, not buffered',
    async () => {
      const node = await MeshNode.listen({ self: 0, partyCount: 2, sessionId: SESSION, sessionKey: randomBytes(32), log: () => {} });
      const rejected: Rejection[] = [];
      node.onRejected((r) => rejected.push(r));
      try {
        const client = await RawClient.open(node.port);
        const before = await settledMem();
        const { result: written, peak } = await withPeak(async () => {
          client.send({ opcode: 2, declared: 1n << 30n, payload: new Uint8Array(0) });
          const chunk = Buffer.alloc(1 << 20);
          let n = 0;
          // stream up to 256 MiB, as fast as the socket takes it, until the node cuts us off
          while (!client.ended && n < 256 << 20) {
            const ok = client.sock.write(chunk);
            n += chunk.length;
            if (!ok) {
              await new Promise<void>((resolve) => {
                const go = (): void => {
                  client.sock.off('drain', go);
                  client.sock.off('close', go);
                  resolve();
                };
                client.sock.once('drain', go);
                client.sock.once('close', go);
              });
            }
          }
          await client.until(() => client.ended, 5_000, 'the node to drop the connection');
          return n;
        });
        client.destroy();
        figures.memory.push(`b. 1 GiB frame before authentication: ${MiB(written)} written before the node dropped the socket; rss +${MiB(peak.rss - before.rss)} at peak`);
        expect(rejected.map((r) => r.reason)).toEqual([`more than ${MAX_HANDSHAKE_BYTES} bytes before completing the handshake`]);
        // What the kernel's socket buffers hold, not what the node buffered.
        // Measured: 4.0 MiB written, RSS +0 MiB. With mesh.ts as of a982c41
        // (refused sockets read on for a 2 s close grace): all 256 MiB
        // written, RSS +258 MiB, for one connection.
        expect(written).toBeLessThan(64 << 20);
        expect(peak.rss - before.rss).toBeLessThan(128 * 2 ** 20);
      } finally {
        await node.close();
      }
    },
    30_000,
  );
});

// ------------------------------------------------------------------ b'. the dialer's side

/** What a listener that is not a party (or a broken one) answers a dialing party. */
interface DialCase {
  label: string;
  reply: 'challenge' | 'ok' | 'text' | 'close';
  bytes: Uint8Array;
  text: string;
}

const dialCase: fc.Arbitrary<DialCase> = fc
  .record({
    reply: fc.constantFrom<DialCase['reply']>('challenge', 'challenge', 'ok', 'ok', 'text', 'close'),
    frame: fc.oneof(junkFrame, validShaped.map((v): Frame => ({ label: v.kind, bytes: shapedBytes(v) }))),
    text: nastyString,
  })
  .filter((c) => c.reply !== 'ok' || expectedFrom(decodeOk, c.frame.bytes) !== undefined)
  .map((c) => {
    let text = c.text;
    while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
    const d: DialCase = { label: c.reply === 'challenge' || c.reply === 'ok' ? `${c.reply}: ${c.frame.label}` : c.reply, reply: c.reply, bytes: c.frame.bytes, text };
    return printable(d, () => `dial '${d.label}' ${d.reply === 'text' || d.reply === 'close' ? JSON.stringify(d.text) : hexBrief(d.bytes)}`);
  });

/** The FrameError message a decoder gives, or undefined when it accepts the bytes. */
function expectedFrom(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): string | undefined {
  try {
    decode(bytes);
    return undefined;
  } catch (e) {
    return e instanceof FrameError ? e.message : `not a FrameError: ${String(e)}`;
  }
}

async function runDialCase(c: DialCase): Promise<void> {
  figures.dialFrames.add(c.label);
  const key = randomBytes(32);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as net.AddressInfo).port;
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => {});
    ws.once('message', (d) => {
      const hello = decodeHello(d as Buffer);
      if (c.reply === 'challenge') ws.send(c.bytes);
      else if (c.reply === 'text') ws.send(c.text, { binary: false });
      else if (c.reply === 'close') ws.close(1008, c.text);
      else {
        // a listener with the key: a correct challenge, then junk where 'ok' belongs
        const serverNonce = newNonce();
        const t = { sessionId: SESSION, clientId: hello.from, serverId: 0, clientNonce: hello.nonce, serverNonce };
        ws.send(encodeHandshake({ k: 'challenge', from: 0, nonce: serverNonce, mac: handshakeMac(key, t, 'server->client') }));
        ws.once('message', () => ws.send(c.bytes));
      }
    });
  });
  const logs: string[] = [];
  const p1 = await MeshNode.listen({ self: 1, partyCount: 2, sessionId: SESSION, sessionKey: key, connectTimeoutMs: REFUSAL_DEADLINE_MS, log: (l) => logs.push(l) });
  const rejections: Rejection[] = [];
  p1.onRejected((r) => rejections.push(r));
  try {
    const err = await p1.connect([{ id: 0, host: '127.0.0.1', port }]).then(
      () => null,
      (e: unknown) => e,
    );
    check(err instanceof MeshError && err.kind === 'connect' && err.peer === 0, `${c.label}: connect() ended with ${String(err)}`);
    check(!UNSAFE.test(err.message), `${c.label}: unescaped peer text in ${JSON.stringify(err.message)}`);
    const where = `P1 cannot connect: P0 at 127.0.0.1:${port}`;
    if (c.reply === 'close') {
      check(err.message.startsWith(`${where} refused the connection: `), `${c.label}: ${JSON.stringify(err.message)}`);
    } else {
      let problem: string;
      if (c.reply === 'text') problem = 'malformed handshake: text frame';
      else if (c.reply === 'ok') problem = expectedFrom(decodeOk, c.bytes)!;
      else {
        problem = expectedFrom(decodeChallenge, c.bytes) ?? '';
        if (problem === '') {
          const from = decodeChallenge(c.bytes).from;
          problem = from !== 0 ? `expected P0 there but found P${from}` : 'bad session key';
        }
      }
      check(err.message === `${where} failed authentication: ${problem}`, `${c.label}: ${JSON.stringify(err.message)}, expected the problem ${JSON.stringify(problem)}`);
      check(rejections.length === 1 && rejections[0]!.side === 'dial' && rejections[0]!.reason === problem, `${c.label}: rejections ${JSON.stringify(rejections)}`);
    }
    check(logs.every((l) => !UNSAFE.test(l)), `${c.label}: unescaped peer text in the log ${JSON.stringify(logs)}`);
    figures.dialErrors.add(kindOf(err.message));
  } finally {
    p1.abort();
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

describe("net fuzz: the dialer's side of the handshake", () => {
  it(
    'a listener answering with junk, a bad challenge, a junk ok or a hostile close: connect() fails naming the peer and the problem',
    async () => {
      const t0 = Date.now();
      const BATCH = 4;
      const RUNS = 100;
      await fc.assert(
        fc.asyncProperty(fc.array(dialCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
          await Promise.all(cases.map((c) => runDialCase(c)));
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
      );
      figures.times.push(`b'. dialer side (${BATCH * RUNS} listeners): ${Date.now() - t0} ms`);
    },
    120_000,
  );
});

// ------------------------------------------------------------------ c. after authentication

const POST_MAX_PAYLOAD = 1 << 16;
const POST_MAX_HEADER = 2048;

interface Attack {
  label: string;
  frames: FrameSpec[];
  /** The recv('x') waiting on the link ends with 'closed' (a bye) rather than the fatal error. */
  bye?: boolean;
}

const bin = (payload: Uint8Array): FrameSpec => ({ opcode: 2, payload });
const hdr = (h: Partial<MsgHeader> & Record<string, unknown>): Buffer => packValue({ k: 'msg', t: 'x', s: 0, n: null, c: 'online', d: 1, ...h });

function decodesAsHeader(b: Uint8Array): boolean {
  try {
    decodeHeader(b, POST_MAX_PAYLOAD);
    return true;
  } catch {
    return false;
  }
}

const attack: fc.Arbitrary<Attack> = fc.oneof(
  { weight: 4, arbitrary: junkFrame.filter((f) => !decodesAsHeader(f.bytes)).map((f): Attack => ({ label: `header: ${f.label}`, frames: [bin(f.bytes)] })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('t', 's', 'n', 'c', 'd', 'k'), weirdValue)
      .map(([field, value]) => mapBytes([['k', 'msg'], ['t', 'x'], ['s', 0], ['n', null], ['c', 'online'], ['d', 1]].map(([k, v]): [Uint8Array, Uint8Array] => [mp(k), k === field ? value : mp(v)])))
      .filter((b) => !decodesAsHeader(b))
      .map((b): Attack => ({ label: 'header with a field of the wrong type', frames: [bin(b)] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(extraKey.filter((k) => !['k', 't', 's', 'n', 'c', 'd', 'm'].includes(k)), fc.jsonValue({ maxDepth: 1 }))
      .map(([key, v]): Attack => ({ label: 'header with an unknown field', frames: [bin(hdr({ [key]: v }))] })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 5000 }))
      .filter(([n, got]) => n !== got)
      .map(([n, got]): Attack => ({ label: 'payload of the wrong length', frames: [bin(hdr({ n })), bin(Buffer.alloc(got))] })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }).map((n): Attack => ({ label: 'text frame as payload', frames: [bin(hdr({ n })), { opcode: 1, payload: Buffer.alloc(n, 0x61) }] })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: POST_MAX_PAYLOAD + 1, max: Number.MAX_SAFE_INTEGER }).map((n): Attack => ({ label: 'announced payload over maxPayloadBytes', frames: [bin(hdr({ n }))] })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.oneof(validTag, nastyString.filter((s) => s.length > 0)))
      .map(([s, t]): Attack => ({ label: 'seq gap', frames: [bin(hdr({ s, t }))] })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: POST_MAX_HEADER + 1, maxLength: 3 * POST_MAX_HEADER }).map((b): Attack => ({ label: 'stray frame over maxHeaderBytes', frames: [bin(b)] })) },
  { weight: 1, arbitrary: nastyString.map((s): Attack => ({ label: 'text frame', frames: [{ opcode: 1, payload: Buffer.from(s) }] })) },
  { weight: 1, arbitrary: junkFrame.map((f): Attack => ({ label: 'frame after bye', frames: [bin(encodeByeHeader()), bin(f.bytes)], bye: true })) },
  {
    weight: 2,
    arbitrary: badFraming
      .filter((b) => !(b.label === 'declared length over maxPayload' && b.frame.declared! <= BigInt(POST_MAX_PAYLOAD)))
      .map((b): Attack => ({ label: `ws framing: ${b.label}`, frames: [b.frame] })),
  },
  { weight: 1, arbitrary: fc.constant<Attack>({ label: 'ws framing: declared length over maxPayload', frames: [{ opcode: 2, declared: BigInt(POST_MAX_PAYLOAD) + 1n, payload: Buffer.alloc(4) }] }) },
);

const postCase = fc
  .record({ preamble: fc.integer({ min: 0, max: 2 }), attack })
  .map((c) => printable(c, () => `preamble ${c.preamble}, '${c.attack.label}' [${c.attack.frames.map(briefFrame).join(', ')}]`));


async function runPostAuthCase(c: { preamble: number; attack: Attack }): Promise<void> {
  const sessionKey = randomBytes(32);
  const node = await MeshNode.listen({
    self: 0,
    partyCount: 2,
    sessionId: SESSION,
    sessionKey,
    maxPayloadBytes: POST_MAX_PAYLOAD,
    maxHeaderBytes: POST_MAX_HEADER,
    log: () => {},
  });
  const fatal: Error[] = [];
  node.onFatal((e) => fatal.push(e));
  let client: RawClient | null = null;
  try {
    const connected = node.connect([{ id: 0, host: '127.0.0.1', port: node.port }]);
    client = await RawClient.open(node.port);
    await client.handshake(SESSION, sessionKey, 1, 0);
    const mesh = await connected;
    // a few honest messages first: the link is in use when the bad frame comes
    for (let i = 0; i < c.preamble; i++) {
      client.send(bin(hdr({ t: 'pre', s: i, n: 8 })));
      client.send(bin(Buffer.alloc(8, i)));
    }
    for (let i = 0; i < c.preamble; i++) expect((await mesh.recv(1, 'pre')).payload!.byteLength).toBe(8);
    const waiting = mesh.recv(1, 'x').then(
      () => null,
      (e: unknown) => e,
    );
    for (const f of c.attack.frames) client.send(f);
    const ended = await Promise.race([waiting, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), REFUSAL_DEADLINE_MS))]);
    const c0 = client;
    await c0.until(() => fatal.length > 0, REFUSAL_DEADLINE_MS, `a fatal error after '${c.attack.label}'`);
    const err = fatal[0]!;
    check(fatal.length === 1, `${c.attack.label}: ${fatal.length} fatal errors`);
    check(err instanceof MeshError && err.kind === 'malformed' && err.peer === 1, `${c.attack.label}: fatal ${err.name} ${(err as MeshError).kind}: ${err.message}`);
    check(err.message.startsWith('malformed frame from P1: '), `${c.attack.label}: message ${JSON.stringify(err.message)}`);
    check(!UNSAFE.test(err.message), `${c.attack.label}: unescaped peer text in ${JSON.stringify(err.message)}`);
    if (c.attack.bye) {
      check(ended instanceof MeshError && ended.kind === 'closed', `${c.attack.label}: the waiting recv ended with ${String(ended)}`);
    } else {
      check(ended === err, `${c.attack.label}: the waiting recv ended with ${String(ended)}, not the fatal error`);
    }
    // later receives from that peer fail at once with the same error
    await expect(mesh.recv(1, 'later')).rejects.toBe(err);
    await c0.until(() => c0.ended || c0.closeFrame !== null, REFUSAL_DEADLINE_MS, 'the node to close the link');
    figures.postAuthErrors.add(kindOf(err.message));
  } finally {
    client?.destroy();
    node.abort();
  }
}

describe('net fuzz: after authentication', () => {
  it(
    'a malformed header or payload from an authenticated peer fails that link as malformed, naming the peer',
    async () => {
      const t0 = Date.now();
      const PAIRS = 4;
      const RUNS = 100;
      await fc.assert(
        fc.asyncProperty(fc.array(postCase, { minLength: PAIRS, maxLength: PAIRS }), async (cases) => {
          for (const c of cases) figures.postAuthFrames.add(c.attack.label);
          await Promise.all(cases.map((c) => runPostAuthCase(c)));
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, timeout: 30_000 },
      );
      figures.times.push(`c. authenticated links (${PAIRS * RUNS} pairs): ${Date.now() - t0} ms`);
    },
    120_000,
  );
});
