import { describe, expect, it } from 'vitest';
import { markdownTable, sci } from '../src/report/markdown.js';
import { lineChartSvg } from '../src/report/svg-plot.js';
import { minimaxReport } from '../src/cli/approx.js';
import { reluDegree3Fits } from '../src/approx/index.js';

describe('approx reports', () => {
  it('markdownTable aligns, escapes and checks row lengths', () => {
    const t = markdownTable(['alpha', 'degrees'], [[4, '5'], [14, '15, 27, 29 | x']]);
    expect(t.split('\n')).toEqual(['| alpha | degrees         |', '| ----: | --------------- |', '|     4 | 5               |', '|    14 | 15, 27, 29 \\| x |', '']);
    expect(() => markdownTable(['a', 'b'], [[1]])).toThrow(/row 0 has 1 cells/);
    expect(sci(0.000976)).toBe('9.760e-4');
  });

  it('lineChartSvg renders headless SVG with every series', async () => {
    const svg = await lineChartSvg({
      xTitle: 'x',
      yTitle: 'y',
      series: [
        { name: 'ReLU', points: [[-1, 0], [0, 0], [1, 1]], dashed: true },
        { name: 'fit', points: [[-1, 0.1], [1, 0.9]] },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('>ReLU<');
    expect(svg).toContain('>fit<');
    await expect(lineChartSvg({ xTitle: 'x', yTitle: 'y', series: [] })).rejects.toThrow(/no series/);
  });

  it('minimax --json has the promised shape', () => {
    const r = minimaxReport({ alpha: 8 });
    expect(r.alpha).toBe(8);
    expect(r.stages.map((s) => s.degree)).toEqual([7, 15]);
    for (const s of r.stages) {
      expect(s.coefficients).toHaveLength((s.degree + 1) / 2);
      expect(s.interval).toHaveLength(2);
      expect(s.error).toBeGreaterThan(0);
    }
    // the power-basis coefficients reproduce the Chebyshev stage
    const s1 = r.stages[0]!;
    const x = 0.37;
    const viaPower = s1.coefficients.reduce((acc, c, j) => acc + c * x ** (2 * j + 1), 0);
    let b1 = 0;
    let b2 = 0;
    const t = x / s1.chebyshevScale;
    for (let j = s1.chebyshevCoefficients.length - 1; j >= 0; j--) [b1, b2] = [s1.chebyshevCoefficients[j]! + 2 * (2 * t * t - 1) * b1 - b2, b1];
    expect(viaPower).toBeCloseTo(t * (b1 - b2), 12);
    expect(r.reluMaxError).toBeLessThanOrEqual(2 ** -8);
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ alpha: 8, reluMaxError: r.reluMaxError });
  });

  it('degree-3 ReLU fits for the figure: four distinct methods on [-1, 1]', () => {
    const fits = reluDegree3Fits();
    expect(fits.map((f) => f.method)).toEqual(['lstsq', 'taylor', 'chebyshev', 'lagrange']);
    for (const f of fits) {
      expect(f.degree).toBe(3);
      expect(f.error.max).toBeLessThan(0.2);
    }
  });
});
