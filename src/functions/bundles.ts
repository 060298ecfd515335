import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { posix } from 'node:path';
import { create, extract, Parser, type ReadEntry } from 'tar';
import { InvalidParameterError, PayloadTooLargeError } from '../core/errors.js';

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
/**
 * Cap on the whole decompressed tar stream: the unpacked bytes plus, per entry, a header, padding to a block and a
 * pax header. Without it, zeros after the end-of-archive marker (which no entry counts) would expand unchecked.
 */
export const MAX_ARCHIVE_BYTES = MAX_UNPACKED_BYTES + MAX_BUNDLE_ENTRIES * 2048;
/** node-tar's own default limit when extractBundle unpacks: refusing at upload beats failing every invoke. */
const MAX_EXPANSION = 1000;
/** Zeros after the end-of-archive marker: GNU tar and bsdtar pad to 10 KiB records; node-tar buffers them all. */
export const MAX_TRAILING_BYTES = 64 * 1024;
/** Linux's MAXSYMLINKS: deeper chains fail with ELOOP at run time anyway. */
const MAX_LINK_DEPTH = 40;
const ROOT_MANIFESTS = new Set(['func.yaml', 'func.yml']);
const REGULAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const ALLOWED_TYPES = new Set([...REGULAR_TYPES, 'Directory', 'SymbolicLink', 'Link']);

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

/** Why an entry is refused, or undefined when it stays inside the bundle. Judges the entry alone, lexically. */
function entryProblem(entry: Pick<ReadEntry, 'path' | 'type' | 'linkpath'>): string | undefined {
  if (!ALLOWED_TYPES.has(entry.type)) return `${entry.path}: entries of type ${entry.type} are not allowed`;
  const rel = safeRelative(entry.path);
  if (rel === undefined) return `${entry.path}: path escapes the bundle`;
  // node-tar refuses ".." in entry paths and hard link targets even when they stay inside: refuse at upload, not at every invoke.
  if (entry.path.split('/').includes('..')) return `${entry.path}: path contains ".."`;
  if (entry.type === 'SymbolicLink') {
    const target = entry.linkpath ?? '';
    if (target.startsWith('/') || safeRelative(posix.join(posix.dirname(rel), target)) === undefined) {
      return `${entry.path}: symlink points outside the bundle`;
    }
  }
  if (entry.type === 'Link') {
    const target = entry.linkpath ?? '';
    if (safeRelative(target) === undefined || target.split('/').includes('..')) return `${entry.path}: hard link points outside the bundle`;
  }
  return undefined;
}

/**
 * One path of the unpacked bundle. A lexical check of each link alone is not enough: `d/up -> ..` stays inside,
 * yet `esc -> d/up/..` then resolves to the destination's parent although it normalizes to `d`. So
 * inspectBundle builds the tree and resolves every symlink through the others, as the kernel will.
 */
interface Node {
  parent: Node | undefined;
  children: Map<string, Node>;
  /** A tar entry type; "Directory" too for parents that only appear in other entries' paths. */
  type: string;
  /** Archive-relative, normalized. */
  path: string;
  linkpath?: string;
  /** A resolved symlink: its target node, null when it leaves the bundle (or loops), "pending" while resolving. */
  target?: Node | null | 'pending';
}

function node(parent: Node | undefined, type: string, path: string, linkpath?: string): Node {
  return { parent, children: new Map(), type, path, linkpath };
}

/**
 * Adds an entry to the tree; says why not when it would be written through a symlink or into a file (node-tar
 * refuses that at unpack), or when the path is already taken (a later entry could swap a checked file for a link).
 */
function place(root: Node, rel: string, entry: Pick<ReadEntry, 'path' | 'type' | 'linkpath'>): Node | string {
  if (rel === '.') return entry.type === 'Directory' ? root : `${entry.path}: only a directory can be the bundle root`;
  const names = rel.split('/');
  let dir = root;
  for (const [i, name] of names.entries()) {
    const existing = dir.children.get(name);
    if (i === names.length - 1) {
      if (existing === undefined) break;
      if (existing.type === 'Directory' && entry.type === 'Directory') return existing;
      return `${entry.path}: the bundle already has an entry at this path`;
    }
    if (existing !== undefined && existing.type !== 'Directory') {
      return `${entry.path}: lies inside ${names.slice(0, i + 1).join('/')}, which is a ${existing.type}, not a directory`;
    }
    dir = existing ?? dir.children.set(name, node(dir, 'Directory', names.slice(0, i + 1).join('/'))).get(name)!;
  }
  const added = node(dir, entry.type, rel, entry.linkpath);
  dir.children.set(names.at(-1)!, added);
  return added;
}

/** A hard link must name a file already unpacked: not a symlink (a relative target would move with the link), no dir. */
function hardLinkProblem(root: Node, entry: Pick<ReadEntry, 'path' | 'linkpath'>): string | undefined {
  let at: Node | undefined = root;
  const target = safeRelative(entry.linkpath ?? '') ?? '';
  for (const name of target === '.' ? [] : target.split('/')) at = at?.type === 'Directory' ? at.children.get(name) : undefined;
  if (at !== undefined && (REGULAR_TYPES.has(at.type) || at.type === 'Link')) return undefined;
  return `${entry.path}: hard link must name a regular file that comes earlier in the bundle`;
}

/**
 * Where a symlink ends up, following the bundle's other symlinks; null when any step leaves the root, or the
 * links loop or nest deeper than the kernel follows. Memoized, so the whole check is linear in the link texts.
 */
function resolveLink(link: Node, depth = 0): Node | null {
  if (link.target === 'pending' || depth > MAX_LINK_DEPTH) return null;
  if (link.target !== undefined) return link.target;
  link.target = 'pending';
  let at: Node | undefined = link.parent;
  // Names below `at` that the bundle does not hold: followed lexically, as if they were directories made later.
  let missing = 0;
  for (const name of (link.linkpath ?? '').split('/')) {
    if (at === undefined) break;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (missing > 0) missing--;
      else at = at.parent;
      continue;
    }
    const child = missing > 0 ? undefined : at.children.get(name);
    if (child === undefined) missing++;
    else if (child.type === 'SymbolicLink') at = resolveLink(child, depth + 1) ?? undefined;
    else at = child;
  }
  link.target = at ?? null;
  return link.target;
}

/** Why a symlink the tree holds is refused, or undefined when it resolves inside the bundle. */
function symlinkProblem(root: Node, link: Node): string | undefined {
  // node-tar refuses to create a link whose (lexically normalized) target passes through an existing symlink.
  const lexical = safeRelative(posix.join(posix.dirname(link.path), link.linkpath ?? '')) ?? '';
  let at: Node | undefined = root;
  for (const name of lexical === '.' ? [] : lexical.split('/')) {
    at = at?.children.get(name);
    if (at?.type === 'SymbolicLink') return `${link.path}: symlink target passes through another symlink (${at.path}), which the unpack refuses`;
  }
  if (resolveLink(link) === null) return `${link.path}: symlink points outside the bundle or loops`;
  return undefined;
}

function refused(problem: string): InvalidParameterError {
  return new InvalidParameterError(`The function bundle is refused: ${problem}.`);
}

/**
 * Checks that bytes are a gzipped tarball whose entries all stay inside the
 * bundle, with a func.yaml at the root, within the size caps. Throws
 * InvalidParameterError (400) saying what is wrong, PayloadTooLargeError (413) above MAX_BUNDLE_BYTES.
 */
export async function inspectBundle(bytes: Buffer): Promise<{ entries: number; unpackedBytes: number }> {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new PayloadTooLargeError(`A function bundle may be at most ${MAX_BUNDLE_BYTES / (1024 * 1024)} MB.`);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new InvalidParameterError('A function bundle must be a gzip-compressed tar archive (.tar.gz).');
  }
  let entries = 0;
  let unpackedBytes = 0;
  let manifest = false;
  let problem: string | undefined;
  const root = node(undefined, 'Directory', '.');
  const symlinks: Node[] = [];
  const parser = new Parser({
    strict: true,
    // It gets plain tar: the gunzip below counts every byte. A second compression layer (zstd, or gzip: refused
    // below) would expand uncounted here, and the unpack, which decompresses once, would not even read it as tar.
    zstd: false,
    onReadEntry: (entry) => {
      entries++;
      unpackedBytes += entry.size;
      const rel = safeRelative(entry.path);
      problem ??= entryProblem(entry);
      if (problem === undefined && rel !== undefined) {
        const placed = place(root, rel, entry);
        if (typeof placed === 'string') problem = placed;
        else if (entry.type === 'SymbolicLink') symlinks.push(placed);
        else if (entry.type === 'Link') problem = hardLinkProblem(root, entry);
      }
      if (entries > MAX_BUNDLE_ENTRIES) problem ??= `more than ${MAX_BUNDLE_ENTRIES} entries`;
      if (unpackedBytes > MAX_UNPACKED_BYTES) problem ??= `more than ${MAX_UNPACKED_BYTES} bytes unpacked`;
      if (REGULAR_TYPES.has(entry.type) && ROOT_MANIFESTS.has(rel ?? '')) manifest = true;
      entry.resume();
    },
  });
  // After the end-of-archive marker node-tar keeps every further byte, re-concatenating its buffer per chunk:
  // quadratic, so a few MB of trailing zeros pin a core for minutes. Tar writers pad to 10 KiB records at most.
  let ended = false;
  parser.on('eof', () => (ended = true));
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  let archiveBytes = 0;
  let trailingBytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      // Stops decompressing at the first problem: the rest of a bomb is never inflated.
      const stop = (why: string) => {
        problem ??= why;
        gunzip.destroy();
        resolve();
      };
      gunzip.on('data', (chunk: Buffer) => {
        if (archiveBytes === 0 && chunk[0] === 0x1f && chunk[1] === 0x8b) return stop('the tar archive is compressed twice');
        archiveBytes += chunk.length;
        if (archiveBytes > MAX_ARCHIVE_BYTES) return stop(`it unpacks to more than ${MAX_ARCHIVE_BYTES} bytes of tar data`);
        // node-tar's unpack refuses this ratio too (maxDecompressionRatio), so refuse it here at upload.
        if (archiveBytes > MAX_EXPANSION * bytes.length) return stop(`it expands more than ${MAX_EXPANSION} times`);
        if (ended) {
          trailingBytes += chunk.length;
          if (trailingBytes > MAX_TRAILING_BYTES) stop(`more than ${MAX_TRAILING_BYTES} bytes after the end of the tar archive`);
          return;
        }
        parser.write(chunk);
        if (problem !== undefined) stop(problem);
      });
      const fail = (err: Error) => {
        gunzip.destroy();
        reject(err);
      };
      gunzip.on('end', () => parser.end());
      gunzip.on('error', fail);
      parser.on('error', fail);
      parser.on('end', () => resolve());
      gunzip.end(bytes);
    });
  } catch (err) {
    if (problem === undefined) throw new InvalidParameterError(`The function bundle is not a valid .tar.gz: ${(err as Error).message}`);
  }
  if (problem !== undefined) throw refused(problem);
  for (const link of symlinks) {
    const why = symlinkProblem(root, link);
    if (why !== undefined) throw refused(why);
  }
  if (entries === 0) throw new InvalidParameterError('The function bundle is not a valid .tar.gz: it holds no entries.');
  if (!manifest) throw new InvalidParameterError('The function bundle has no func.yaml at its root.');
  return { entries, unpackedBytes };
}

/**
 * Unpacks a bundle into destDir after inspecting it: no absolute paths, no ".."
 * escapes, no links pointing outside, no device files. File owners are never
 * restored, even when Herald runs as root, and neither are setuid, setgid or sticky bits.
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
    // Runs before the unpack sees the entry. Herald unpacks as root when it runs as root: a setuid file there
    // would be a root program for any local user.
    onReadEntry: (entry) => {
      if (entry.mode !== undefined) entry.mode &= 0o777;
    },
  });
  await new Promise<void>((resolve, reject) => {
    unpack.on('error', reject);
    unpack.on('close', () => resolve());
    unpack.end(bytes);
  });
}
