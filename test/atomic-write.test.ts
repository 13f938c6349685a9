/** src/common/atomic-write.ts: whole files or nothing, no temporary left behind. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../src/common/atomic-write.js';

describe('atomic writes', () => {
  it('replace a file whole and leave no temporary', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-atomic-'));
    const file = path.join(dir, 'report.json');
    writeFileSync(file, 'old');
    writeJsonAtomic(file, { a: 1 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ a: 1 });
    writeFileAtomic(path.join(dir, 'key.pem'), 'secret', 0o600);
    expect(readdirSync(dir).sort()).toEqual(['key.pem', 'report.json']);
  });

  it('fail without touching the target when the write cannot happen', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpcnet-atomic-'));
    const file = path.join(dir, 'missing-dir', 'x.md');
    expect(() => writeFileAtomic(file, 'text')).toThrow(/ENOENT/);
    expect(existsSync(path.dirname(file))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
