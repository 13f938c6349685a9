/**
 * Shared by the net fuzz tests (issue 11, item 2): test/net-fuzz-decoders,
 * -preauth, -dialer and -links.test.ts. Holds the fixed seed, the checks for
 * unescaped peer text, the figures each file tallies and prints at its end
 * (FUZZ_VERBOSE=1 for every figure), the msgpack byte builders, the
 * fast-check arbitraries of junk, damaged and type-confused frames, and a
 * WebSocket client written by hand over a TCP socket.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { DEFAULT_MAX_PAYLOAD_BYTES, packValue } from '../../src/net/frames.js';
import { HANDSHAKE_VERSION, decodeChallenge, decodeOk, encodeHandshake, handshakeMac, newNonce } from '../../src/net/handshake.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20_251_111);
export const SESSION = 'fuzz-session';
/** A control character, line or paragraph separator: none may reach a log line or an error message. */
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/**
 * Also bidi controls, BOM and lone surrogates: frames.ts' peerText escapes
 * these too, so no message or log line built from peer text may hold them.
 */
// eslint-disable-next-line no-control-regex
export const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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
export function kindOf(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"…?/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/127\.0\.0\.1:\d+/g, 'ADDR')
    .replace(/-?\d+/g, 'N')
    .slice(0, 110);
}

export const figures = {
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


/** One of the four net fuzz test files, each printing its own figures. */
export type FuzzPart = 'decoders' | 'preauth' | 'dialer' | 'links';

/** Prints the figures of one part (call from that file's afterAll). */
export function printFigures(part: FuzzPart): void {
  // FUZZ_VERBOSE=1: every kind, and which case got which refusal
  const verbose = Boolean(process.env.FUZZ_VERBOSE);
  const n = (k: number): number => (verbose ? 500 : k);
  const sections: Record<FuzzPart, () => string[]> = {
    decoders: () => [
      `a. decoders: ${figures.decoderFrames.total} frames (each through 5 decoders + alignedPayload)`,
      ...figures.decoderFrames.top(n(8)).map((l) => `   ${l}`),
      '   accepted as well-formed:',
      ...figures.decoderAccepted.top(n(8)).map((l) => `   ${l}`),
      '   FrameErrors by kind:',
      ...figures.decoderErrors.top(n(8)).map((l) => `   ${l}`),
    ],
    preauth: () => [
      `b. pre-authentication sockets: ${figures.socketFrames.total} frames`,
      ...figures.socketFrames.top(n(8)).map((l) => `   ${l}`),
      `   rejections by reason (${figures.rejections.total}):`,
      ...figures.rejections.top(n(8)).map((l) => `   ${l}`),
      ...(verbose ? ['   by case:', ...figures.rejectionsByCase.top(n(8)).map((l) => `   ${l}`)] : []),
    ],
    dialer: () => [
      `b'. dialer side: ${figures.dialFrames.total} hostile listeners`,
      ...figures.dialFrames.top(n(8)).map((l) => `   ${l}`),
      '   connect() errors by kind:',
      ...figures.dialErrors.top(n(8)).map((l) => `   ${l}`),
    ],
    links: () => [
      `c. authenticated links: ${figures.postAuthFrames.total} malformed sequences`,
      ...figures.postAuthFrames.top(n(8)).map((l) => `   ${l}`),
      '   fatal errors by kind:',
      ...figures.postAuthErrors.top(n(8)).map((l) => `   ${l}`),
    ],
  };
  const lines = [`net fuzz figures (seed ${SEED})`, ...sections[part](), ...figures.memory, ...figures.times];
  console.log(lines.join('\n'));
}

// ------------------------------------------------------------------ msgpack byte builders

const packr = new Packr({ useRecords: false, structuredClone: false });

export function mp(v: unknown): Buffer {
  return packValue(v);
}

export function u8(...bytes: number[]): Buffer {
  return Buffer.from(bytes);
}

export function be(n: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  if (bytes === 8) b.writeBigUInt64BE(BigInt(n));
  else b.writeUIntBE(n, 0, bytes);
  return b;
}

/** A msgpack map from raw key and value encodings (so keys may repeat or be of any type). */
export function mapBytes(entries: Array<[Uint8Array, Uint8Array]>, form: 'fix' | '16' | '32' = 'fix', countDelta = 0): Buffer {
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
export const nastyString = fc.string({
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
export const weirdValue: fc.Arbitrary<Uint8Array> = fc.oneof(
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

type Entries = Array<[string, unknown]>;
export interface Shaped {
  kind: 'hello' | 'challenge' | 'auth' | 'ok' | 'msg' | 'bye';
  entries: Entries;
}

export const validTag = fc.string({ minLength: 1, maxLength: 40 });
const meta = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined });

/** Messages as sent by an honest party (the handshake with plausible ids, headers of any size). */
export const validShaped: fc.Arbitrary<Shaped> = fc.oneof(
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

export function shapedBytes(s: Shaped): Buffer {
  return mapBytes(s.entries.map(([k, v]) => [mp(k), mp(v)]));
}

export interface Frame {
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

export const extraKey = fc.oneof(
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
export const junkFrame: fc.Arbitrary<Frame> = fc.oneof(
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

/** Fails the property with a message (cheaper than expect() in the hot loop). */
export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

// ------------------------------------------------------------------ raw WebSocket client

export interface FrameSpec {
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
export function encodeFrame(f: FrameSpec): Buffer {
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
export class RawClient {
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

export function closeFrame(code: number, reason: Uint8Array): FrameSpec {
  return { opcode: 8, payload: Buffer.concat([be(code, 2), reason]) };
}

/** Junk binary payloads for hand-made frames. */
export const binaryPayload = fc.oneof(junkFrame.map((f) => f.bytes), fc.uint8Array({ maxLength: 64 }));

/** Frames that break the WebSocket framing itself. */
export const badFraming: fc.Arbitrary<{ label: string; frame: FrameSpec }> = fc.oneof(
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


/** Bytes shown in a counterexample: the length and the first 24 bytes. */
export function hexBrief(b: Uint8Array): string {
  const head = Buffer.from(b.subarray(0, 24)).toString('hex');
  return `${b.byteLength}B:${head}${b.byteLength > 24 ? '…' : ''}`;
}

/** fast-check prints this instead of the whole case (some hold tens of KiB). */
export function printable<T extends object>(o: T, text: () => string): T {
  Object.defineProperty(o, fc.toStringMethod, { value: text, enumerable: false });
  return o;
}

export function briefFrame(f: FrameSpec): string {
  const flags = [f.fin === false ? 'fin=0' : '', f.rsv ? `rsv=${f.rsv}` : '', f.masked === false ? 'unmasked' : '', f.declared !== undefined ? `declared=${f.declared}` : '', f.cut !== undefined ? `cut=${f.cut}` : '']
    .filter(Boolean)
    .join(' ');
  return `op${f.opcode}${flags ? ` ${flags}` : ''} ${hexBrief(f.payload)}`;
}

/** Longest a refused connection may take to be reported (the handshake timeout plus slack for a loaded machine). */
export const REFUSAL_DEADLINE_MS = 8_000;
