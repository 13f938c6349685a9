/**
 * Fuzzing the party's receive path and handshake (issue 11, item 2), part a:
 * the pure decoders, with fast-check properties.
 *
 * decodeHeader, decodeHello, decodeChallenge, decodeAuth, decodeOk and
 * alignedPayload get junk bytes, msgpack of arbitrary values, byte-mutated
 * and field-mutated valid messages, extension types and oversized or deeply
 * nested input: each either decodes to a well-formed value or throws a
 * FrameError with a one-line message, quickly, and never leaves msgpackr
 * state behind. These are the first code a peer's bytes reach, before and
 * after authentication, so nothing a peer sends may crash, hang or confuse
 * them. The other parts: net-fuzz-preauth (b), net-fuzz-dialer (b') and
 * net-fuzz-links (c); shared generators in helpers/fuzz.ts.
 *
 * Set FUZZ_VERBOSE=1 for every figure.
 *
 * vitest fails the file on any unhandled exception or rejection, so "the
 * decoders never throw anything but a FrameError" is checked throughout.
 *
 * Figures (frames per target, errors by kind, time) are printed at the end
 * of the file. Seeds are fixed (FUZZ_SEED overrides) so that a run is
 * reproducible; fast-check prints the counterexample and its seed/path.
 */
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import {
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
  MAX_SESSION_ID_LENGTH,
  decodeAuth,
  decodeChallenge,
  decodeHello,
  decodeOk,
  encodeHandshake,
  newNonce,
} from '../src/net/handshake.js';
import {
  SEED,
  SESSION,
  UNSAFE,
  be,
  check,
  extraKey,
  figures,
  junkFrame,
  kindOf,
  mapBytes,
  mp,
  nastyString,
  printFigures,
  u8,
  validShaped,
  type Frame,
} from './helpers/fuzz.js';

afterAll(() => printFigures('decoders'));

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

/** Decodes maps as Map: keys as sent (not coerced to strings), for the independent well-formedness checks. */
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, structuredClone: false });

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
