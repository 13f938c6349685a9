/**
 * The per-call runtime of Context (src/mpc/context.ts), in process over a
 * real loopback mesh (test/helpers/local-session.ts): call paths, the
 * per-section profile under overlapping calls, channel release, the 3-party
 * requirement, and the X25519 pairwise seeds behind the per-call PRG streams.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mul } from '../protocols/beaver.js';
import { exchange, reveal, shareInput } from '../protocols/sharing.js';
import { Context, sectionSeconds, type Mode, type ProfileEntry } from '../src/mpc/context.js';
import { ELEMENTWISE_CHUNK } from '../src/mpc/correlations.js';
import { agreeSeeds } from '../src/mpc/seeds.js';
import { createLocalMesh } from '../src/net/index.js';
import { localSession, type LocalSession } from './helpers/local-session.js';

async function withSession<T>(mode: Exclude<Mode, 'plain'>, body: (s: LocalSession) => Promise<T>): Promise<T> {
  const s = await localSession('local', mode);
  try {
    return await body(s);
  } finally {
    await s.close();
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Deterministic inputs in [-1, 1). */
function inputs(n: number, salt: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + salt) * 0.999);
}

const hex = (a: BigUint64Array): string[] => Array.from(a, (v) => v.toString(16));

describe('call paths', () => {
  it('are unique and the same on every party for nested and concurrent calls, whatever the timing', async () => {
    // Logical calls, each identified on the wire by its index in this list:
    // a message received on a call's channel must carry that call's own index.
    const names = ['outer', 'left', 'right', 'left/inner', 'right/inner', 'ping0', 'ping1', 'ping2', 'ping3', 'ping4'];
    const code = (name: string) => BigInt(names.indexOf(name));
    const results = await withSession('3pc', (s) =>
      s.all(async (ctx) => {
        const seen: Record<string, string> = {};
        const crossed: string[] = [];
        /** One message each way on c's channel (holders; P2 follows without messages). */
        const ping = async (c: Context, name: string) => {
          seen[name] = c.path;
          if (c.isHelper) return;
          const theirs = await exchange(c, new BigUint64Array([code(name)]));
          if (theirs[0] !== code(name)) crossed.push(`${name} got ${names[Number(theirs[0])] ?? theirs[0]}`);
        };
        // The nested calls are made at different times on each party: P0
        // delays the left branch before its inner call, P1 the right one, so
        // a counter shared across parents would number them differently.
        const slow = ctx.id === 0 ? 'left' : ctx.id === 1 ? 'right' : '';
        await ctx.call('outer', async (o) => {
          await Promise.all([
            ping(o, 'outer'),
            ...(['left', 'right'] as const).map((side) =>
              o.call(side, async (c) => {
                await ping(c, side);
                if (side === slow) await pause(30);
                await c.call('inner', (d) => ping(d, `${side}/inner`));
              }),
            ),
          ]);
        });
        await Promise.all([0, 1, 2, 3, 4].map((i) => ctx.call('ping', (c) => ping(c, `ping${i}`))));
        return { seen, crossed };
      }),
    );
    const [p0, p1, p2] = results;
    expect(p0.seen).toEqual({
      'outer': 'outer#0',
      'left': 'outer#0/left#0',
      'right': 'outer#0/right#1',
      'left/inner': 'outer#0/left#0/inner#0',
      'right/inner': 'outer#0/right#1/inner#0',
      'ping0': 'ping#1',
      'ping1': 'ping#2',
      'ping2': 'ping#3',
      'ping3': 'ping#4',
      'ping4': 'ping#5',
    });
    expect(p1.seen).toEqual(p0.seen);
    expect(p2.seen).toEqual(p0.seen);
    expect(new Set(Object.values(p0.seen)).size).toBe(names.length);
    for (const r of results) expect(r.crossed).toEqual([]);
  });
});

describe('profile', () => {
  it('counts calls, bytes and rounds per section for two muls in flight together', async () => {
    // Two sizes, the second over several exchange chunks, so the chunks of
    // the two calls interleave on the socket and cross-attribution would show.
    const sizes = [1000, 2 * ELEMENTWISE_CHUNK + 3] as const;
    const [r0, r1] = await withSession('2pc', (s) =>
      s.both(async (ctx) => {
        const ops = sizes.map((n, k) =>
          [0, 1].map((j) => shareInput(ctx, 0, ctx.id === 0 ? inputs(n, 2 * k + j) : null, [n])),
        );
        const mesh0 = ctx.mesh.rounds;
        const clock0 = ctx.rounds;
        const [za, zb] = await Promise.all([
          ctx.section('A', (c) => mul(c, ops[0]![0]!, ops[0]![1]!)),
          ctx.section('B', (c) => mul(c, ops[1]![0]!, ops[1]![1]!)),
        ]);
        const meshAdvance = ctx.mesh.rounds - mesh0;
        const clockAdvance = ctx.rounds - clock0;
        const profile = ctx.profile();
        const values = [await reveal(ctx, za), await reveal(ctx, zb)];
        return { profile, meshAdvance, clockAdvance, values };
      }),
    );
    for (const r of [r0, r1]) {
      // PROTOCOLS.md 2: 16 bytes per product per party each way, one round per call.
      expect(r.profile['A']).toMatchObject({ calls: 1, bytesSent: 16 * sizes[0], bytesReceived: 16 * sizes[0], rounds: 1 });
      expect(r.profile['B']).toMatchObject({ calls: 1, bytesSent: 16 * sizes[1], bytesReceived: 16 * sizes[1], rounds: 1 });
      expect(r.profile['mul']).toMatchObject({ calls: 2, bytesSent: 16 * (sizes[0] + sizes[1]), bytesReceived: 16 * (sizes[0] + sizes[1]), rounds: 2 });
      // Together they take the longer one's rounds, not the sum.
      expect(r.meshAdvance).toBe(1);
      expect(r.clockAdvance).toBe(1);
    }
    sizes.forEach((n, k) => {
      const x = inputs(n, 2 * k);
      const y = inputs(n, 2 * k + 1);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(r0.values[k]![i]! - x[i]! * y[i]!));
      expect(worst, `product ${k}: max |mpc - float64|`).toBeLessThan(1e-4);
      expect(Array.from(r1.values[k]!)).toEqual(Array.from(r0.values[k]!));
    });
  });
});

describe('channel release', () => {
  it('throws an error naming the tag when a call ends with a message unread', async () => {
    await withSession('2pc', async (s) => {
      const [h0, h1] = s.holders;
      // P0 sends two messages on 'leaky#0', then one on 'after#1'.
      const sender = (async () => {
        await h0.call('leaky', async (c) => {
          c.send(1, new BigUint64Array([1n]));
          c.send(1, new BigUint64Array([2n]));
        });
        await h0.call('after', async (c) => c.send(1, null));
      })();
      // P1 reads one of them, and ends the call only once 'after#1' has
      // arrived: messages keep their order on the socket, so by then the
      // second 'leaky#0' message sits in the inbox.
      let arrived: () => void = () => {};
      const gate = new Promise<void>((resolve) => (arrived = resolve));
      const leaky = h1.call('leaky', async (c) => {
        await c.recv(0);
        await gate;
      }).then(() => 'released without an error', (e: unknown) => (e as Error).message);
      const after = h1.call('after', async (c) => {
        await c.recv(0);
        arrived();
      });
      await sender;
      await after;
      expect(await leaky).toMatch(/channel 'leaky#0' with P0 released with 1 unread message/);
    });
  });

  it('leaves no open channel behind after calls that finished', async () => {
    await withSession('2pc', async (s) => {
      const before = s.holders.map((h) => h.mesh.openTags);
      await s.both((ctx) => Promise.all([0, 1, 2].map(() => ctx.call('ping', async (c) => void (await exchange(c, new BigUint64Array(4)))))));
      // Each holder has read everything the other sent in these calls.
      expect(s.holders.map((h) => h.mesh.openTags)).toEqual(before);
    });
  });
});

describe('requireHelper', () => {
  it('throws in 2pc, telling to run with 3 parties', async () => {
    await withSession('2pc', async (s) => {
      for (const ctx of [...s.holders, s.helper]) {
        expect(() => ctx.requireHelper('drelu')).toThrow(/drelu needs P2 online: run with 3 parties \(--parties 3\)/);
        await expect(ctx.call('relu', async (c) => c.requireHelper('drelu'))).rejects.toThrow(/run with 3 parties/);
      }
    });
  });

  it('passes in 3pc and in the plaintext context', async () => {
    await withSession('3pc', async (s) => {
      for (const ctx of [...s.holders, s.helper]) {
        expect(() => ctx.requireHelper('drelu')).not.toThrow();
        await ctx.call('relu', async (c) => c.requireHelper('drelu'));
      }
    });
    expect(() => Context.plain().requireHelper('drelu')).not.toThrow();
  });
});

describe('pairwise seeds (X25519)', () => {
  /** Draws of two calls on every party: the holders' common stream and each pair's stream with P2. */
  const drawTwoCalls = (s: LocalSession) =>
    s.all(async (ctx) => {
      const draw = () =>
        ctx.call('draw', async (c) => ({
          common: c.isHelper ? [] : hex(c.common.ring(4)),
          withP2: c.isHelper ? [] : hex(c.prg(2).ring(4)),
          fromP2: c.isHelper ? [hex(c.prg(0).ring(4)), hex(c.prg(1).ring(4))] : [],
        }));
      return [await draw(), await draw()] as const;
    });

  it('give P0 and P1 the same stream for the same call and different streams for different calls', async () => {
    const [p0, p1, p2] = await withSession('3pc', drawTwoCalls);
    for (const k of [0, 1] as const) {
      expect(p1[k].common, `call ${k}: P1's common stream`).toEqual(p0[k].common);
      expect(p2[k].fromP2[0], `call ${k}: P2's stream with P0`).toEqual(p0[k].withP2);
      expect(p2[k].fromP2[1], `call ${k}: P2's stream with P1`).toEqual(p1[k].withP2);
      // Three different pair seeds.
      expect(p0[k].withP2).not.toEqual(p0[k].common);
      expect(p1[k].withP2).not.toEqual(p0[k].withP2);
    }
    // Same pair, different calls: different streams.
    expect(p0[1].common).not.toEqual(p0[0].common);
    expect(p0[1].withP2).not.toEqual(p0[0].withP2);
    // A new session agrees on new keys: the same call path draws differently.
    const [q0, q1] = await withSession('3pc', drawTwoCalls);
    expect(q1[0].common).toEqual(q0[0].common);
    expect(q0[0].common).not.toEqual(p0[0].common);
  });

  it('come from fresh key pairs: two sessions with the same id and key agree on different seeds', async () => {
    // The seed is HKDF(X25519 secret, session id, pair): with the session id
    // and key fixed, only the ephemeral key pairs can make the sessions differ.
    const sessionId = 'fixed-session';
    const sessionKey = new Uint8Array(32).fill(1);
    const draws: string[][][] = [];
    for (let run = 0; run < 2; run++) {
      const local = await createLocalMesh(2, { sessionId, sessionKey });
      try {
        const [a, b] = await Promise.all(local.nodes.map((n) => agreeSeeds(n, sessionId)));
        draws.push([hex(a!.stream(1, 'label').ring(4)), hex(b!.stream(0, 'label').ring(4))]);
      } finally {
        await local.close();
      }
    }
    expect(draws[0]![1], 'P1 and P0 in session 1').toEqual(draws[0]![0]);
    expect(draws[1]![1], 'P1 and P0 in session 2').toEqual(draws[1]![0]);
    expect(draws[1]![0], 'session 2 vs session 1').not.toEqual(draws[0]![0]);
  });

  describe('reject a bad public key from a peer, naming it', () => {
    /** P0 runs the key exchange while P1 sends `payload` in place of its key. */
    async function exchangeWithJunk(payload: Uint8Array | null): Promise<unknown> {
      const local = await createLocalMesh(2);
      try {
        const [p0, p1] = local.nodes;
        p1!.send(0, 'session.x25519', payload, { cls: 'dealer', copy: true });
        return await agreeSeeds(p0!, local.sessionId);
      } finally {
        await local.close();
      }
    }

    it('of the wrong length', async () => {
      await expect(exchangeWithJunk(new Uint8Array(5))).rejects.toThrow(/P1 sent a key-exchange public key of 5 bytes, expected 44/);
      await expect(exchangeWithJunk(null)).rejects.toThrow(/P1 sent a key-exchange public key of 0 bytes/);
    });

    it('that is not an X25519 key', async () => {
      // An Ed25519 public key has the same DER length (44 bytes) as an X25519 one.
      const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
      expect(ed25519.byteLength).toBe(44);
      await expect(exchangeWithJunk(ed25519)).rejects.toThrow(/P1 sent a ed25519 key, expected x25519/);
      await expect(exchangeWithJunk(new Uint8Array(44))).rejects.toThrow(/P1 sent an invalid X25519 public key/);
    });

    it('that is a low-order point (no shared secret)', async () => {
      // A well-formed X25519 SPKI whose point is 0: the exchange would give the all-zero secret.
      const prefix = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(0, 12);
      const zeroPoint = Buffer.concat([prefix, Buffer.alloc(32)]);
      await expect(exchangeWithJunk(zeroPoint)).rejects.toThrow(/P1 sent an X25519 key that gives no shared secret/);
    });
  });
});

describe('sectionSeconds', () => {
  const entry = (seconds: number): ProfileEntry => ({ calls: 1, seconds, bytesSent: 0, bytesReceived: 0, rounds: 2 });
  it('is the slowest holder\'s time: P2 reaches a section early on placeholders and waits there', () => {
    expect(sectionSeconds([{ id: 0, entry: entry(0.22) }, { id: 1, entry: entry(0.2) }, { id: 2, entry: entry(9.0) }])).toBe(0.22);
    expect(sectionSeconds([{ id: 0, entry: undefined }, { id: 1, entry: entry(0.5) }])).toBe(0.5);
    expect(sectionSeconds([{ id: 2, entry: entry(3) }])).toBe(0);
  });

  it('with spans, counts each call from the last holder\'s entry to the last holder\'s exit', () => {
    // P0 runs ahead into the section and waits there for P1: 1.0 s on P0, 0.1 s on P1, per call.
    const p0: ProfileEntry = { ...entry(2.0), calls: 2, spans: [1000, 2000, 5000, 6000] };
    const p1: ProfileEntry = { ...entry(0.2), calls: 2, spans: [1900, 2000, 5950, 6050] };
    expect(sectionSeconds([{ id: 0, entry: p0 }, { id: 1, entry: p1 }])).toBeCloseTo(0.1 + 0.1, 9);
    // Spans that do not pair up (a call missing on one holder): the slowest holder's total.
    expect(sectionSeconds([{ id: 0, entry: p0 }, { id: 1, entry: { ...p1, calls: 1, spans: [1900, 2000] } }])).toBe(2.0);
  });

  it('real sections keep one span per call; protocol calls keep none', async () => {
    const ctx = Context.plain();
    await ctx.section('layer', async (c) => c.call('inner', async () => 1));
    await ctx.section('layer', async () => 2);
    const prof = ctx.profile();
    expect(prof['layer']!.spans).toHaveLength(4);
    expect(prof['layer']!.spans![1]!).toBeGreaterThanOrEqual(prof['layer']!.spans![0]!);
    expect(prof['inner']!.spans).toBeUndefined();
  });
});
