import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export type Backend = 'sqlite' | 'postgres';

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * tsc does not copy .sql files, so compiled code (dist/src/store/) reads them
 * from the package's src/ tree, which package.json ships alongside dist/.
 */
function migrationsDir(backend: Backend): string {
  const candidates = [
    new URL(`./${backend}/migrations/`, import.meta.url),
    new URL(`../../../src/store/${backend}/migrations/`, import.meta.url),
  ];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(dir)) return dir;
  }
  throw new Error(`Herald ${backend} migrations not found; looked in: ${candidates.map((u) => fileURLToPath(u)).join(', ')}`);
}

const cache = new Map<Backend, readonly Migration[]>();

/** The backend's numbered migrations, ascending by version. */
export function loadMigrations(backend: Backend): readonly Migration[] {
  const hit = cache.get(backend);
  if (hit !== undefined) return hit;
  const dir = migrationsDir(backend);
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = FILE_RE.exec(file);
    if (m === null) continue;
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new Error(`Duplicate ${backend} migration version ${version}`);
    out.push({ version, name: m[2] ?? '', sql: readFileSync(join(dir, file), 'utf8') });
  }
  out.sort((a, b) => a.version - b.version);
  const frozen = Object.freeze(out);
  cache.set(backend, frozen);
  return frozen;
}
