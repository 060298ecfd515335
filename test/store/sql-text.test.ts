import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

const STORE = join(process.cwd(), 'src', 'store');

/** Every source file whose SQL SQLite runs: the shared statements and SQLite's own (PostgreSQL's are its alone). */
async function sqliteSources(dir = STORE): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'postgres') out.push(...(await sqliteSources(path)));
    } else if (entry.name.endsWith('.ts')) {
      out.push(path);
    }
  }
  return out;
}

describe('SQL text', () => {
  it('binds no LIMIT to a bare parameter (SQLite would compile the statement afresh at every run)', async () => {
    const files = await sqliteSources();
    assert.ok(files.some((f) => f.endsWith('delivery-sql.ts')), 'the shared delivery statements are among the files read');
    const bare: string[] = [];
    let cast = 0;
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const [i, line] of text.split('\n').entries()) {
        if (/\bLIMIT\s+\?/i.test(line)) bare.push(`${relative(process.cwd(), file)}:${i + 1}: ${line.trim()}`);
        cast += (line.match(/\bLIMIT CAST\(\? AS INTEGER\)/g) ?? []).length;
      }
    }
    assert.deepEqual(bare, []);
    // The claims, the publish group's subscription count and the paged lists all take their limit as a parameter.
    assert.ok(cast >= 15, `bound limits found: ${cast}`);
  });
});
