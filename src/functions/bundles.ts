import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { create, extract, Parser, type ReadEntry } from 'tar';
import { InvalidParameterError } from '../core/errors.js';

/**
 * Function bundles: a .tar.gz of a function folder (func.yaml at its root,
 * node_modules included, .git left out), stored content-addressed so every
 * node can unpack and run any function.
 */

/** Upload cap; the API answers 413 above it. */
export const MAX_BUNDLE_BYTES = 50 * 1024 * 1024;
/** Unpacked cap: a small gzip can expand enormously. */
export const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;
export const MAX_BUNDLE_ENTRIES = 100_000;
const ROOT_MANIFESTS = new Set(['func.yaml', 'func.yml']);
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

export function digestOf(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

/** Packs dir (including node_modules, excluding .git) into a gzipped tarball with portable, fixed metadata. */
export async function packFunctionDir(dir: string): Promise<Buffer> {
  const stream = create(
    {
      gzip: true,
      cwd: dir,
      // No uid/gid/user names and a fixed mtime: the same folder packs to the same digest on any machine.
      portable: true,
      mtime: new Date(0),
      filter: (p) => !p.split('/').includes('.git'),
    },
    ['.'],
  );
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Archive-relative path with "./" and duplicate slashes removed; undefined when it escapes the root. */
function safeRelative(p: string): string | undefined {
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\') || p.includes('\0')) return undefined;
  const n = posix.normalize(p).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) return undefined;
  return n === '' ? '.' : n;
}

/** Why an entry is refused, or undefined when it stays inside the bundle. */
function entryProblem(entry: Pick<ReadEntry, 'path' | 'type' | 'linkpath'>): string | undefined {
  if (!ALLOWED_TYPES.has(entry.type)) return `${entry.path}: entries of type ${entry.type} are not allowed`;
  const rel = safeRelative(entry.path);
  if (rel === undefined) return `${entry.path}: path escapes the bundle`;
  if (entry.type === 'SymbolicLink') {
    const target = entry.linkpath ?? '';
    if (target.startsWith('/') || safeRelative(posix.join(posix.dirname(rel), target)) === undefined) {
      return `${entry.path}: symlink points outside the bundle`;
    }
  }
  if (entry.type === 'Link' && safeRelative(entry.linkpath ?? '') === undefined) return `${entry.path}: hard link points outside the bundle`;
  return undefined;
}

/**
 * Checks that bytes are a gzipped tarball whose entries all stay inside the
 * bundle, with a func.yaml at the root, within the size caps. Throws
 * InvalidParameterError (400) saying what is wrong.
 */
export async function inspectBundle(bytes: Buffer): Promise<{ entries: number; unpackedBytes: number }> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new InvalidParameterError('A function bundle must be a gzip-compressed tar archive (.tar.gz).');
  }
  let entries = 0;
  let unpackedBytes = 0;
  let manifest = false;
  let problem: string | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      entries++;
      unpackedBytes += entry.size;
      problem ??= entryProblem(entry);
      if (entries > MAX_BUNDLE_ENTRIES) problem ??= `more than ${MAX_BUNDLE_ENTRIES} entries`;
      if (unpackedBytes > MAX_UNPACKED_BYTES) problem ??= `more than ${MAX_UNPACKED_BYTES} bytes unpacked`;
      if (entry.type === 'File' && ROOT_MANIFESTS.has(safeRelative(entry.path) ?? '')) manifest = true;
      entry.resume();
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('error', reject);
      parser.on('end', () => resolve());
      parser.end(bytes);
    });
  } catch (err) {
    throw new InvalidParameterError(`The function bundle is not a valid .tar.gz: ${(err as Error).message}`);
  }
  if (problem !== undefined) throw new InvalidParameterError(`The function bundle is refused: ${problem}.`);
  if (entries === 0) throw new InvalidParameterError('The function bundle is not a valid .tar.gz: it holds no entries.');
  if (!manifest) throw new InvalidParameterError('The function bundle has no func.yaml at its root.');
  return { entries, unpackedBytes };
}

/**
 * Unpacks a bundle into destDir after inspecting it: no absolute paths, no ".."
 * escapes, no links pointing outside, no device files. File owners are never
 * restored, even when Herald runs as root.
 */
export async function extractBundle(bytes: Buffer, destDir: string): Promise<void> {
  await inspectBundle(bytes);
  await mkdir(destDir, { recursive: true });
  const unpack = extract({
    cwd: destDir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    // Readable by the sandbox's user whatever Herald's umask: bundles hold code, not secrets.
    umask: 0o022,
    // inspectBundle already refused these; filtering again costs nothing and guards the unpack itself.
    filter: (_p, entry) => !('type' in entry) || entryProblem(entry) === undefined,
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on('error', reject);
    unpack.on('close', () => resolve());
    unpack.end(bytes);
  });
}
