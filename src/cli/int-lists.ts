/**
 * Integer options given as a value, a range or a comma list of either:
 * "8", "6..16", "7..14,16". `--lx` ranges take every even value (the
 * ends are kept even if odd, so the lx check refuses them with its own
 * message); other ranges take every value. Sorted, without repeats.
 */
export function parseIntList(text: string, option: string, step: 'all' | 'even' = 'all'): number[] {
  const out = new Set<number>();
  const int = (s: string): number => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(v)) throw new RangeError(`--${option}: '${s.trim()}' is not an integer (give a value, a range like 6..16, or a comma list)`);
    return v;
  };
  for (const part of String(text).split(',')) {
    const range = part.split('..');
    if (range.length === 1) out.add(int(part));
    else if (range.length === 2) {
      const [lo, hi] = [int(range[0]!), int(range[1]!)];
      if (lo > hi) throw new RangeError(`--${option}: range ${lo}..${hi} is empty (write the smaller end first)`);
      out.add(lo).add(hi);
      if (step === 'all') for (let v = lo + 1; v < hi; v++) out.add(v);
      else for (let v = lo + (lo % 2 === 0 ? 2 : 1); v < hi; v += 2) out.add(v);
    } else throw new RangeError(`--${option}: '${part}' is not a value or a range a..b`);
  }
  return [...out].sort((a, b) => a - b);
}
