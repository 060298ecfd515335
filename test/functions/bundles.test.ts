import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { type HeraldError, InvalidParameterError, PayloadTooLargeError } from '../../src/core/errors.js';
import {
  extractBundle,
  inspectBundle,
  MAX_ARCHIVE_BYTES,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_ENTRIES,
  MAX_TRAILING_BYTES,
  MAX_UNPACKED_BYTES,
  packFunctionDir,
} from '../../src/functions/bundles.js';

// Bundles are hand-built tar archives: node-tar's own writer refuses most of the entries these tests need.

type Kind = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'pax';
const TYPE_FLAG: Record<Kind, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6', pax: 'x' };

interface Entry {
  path: string;
  kind?: Kind;
  body?: string;
  mode?: number;
  linkpath?: string;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** One 512-byte ustar header, written field by field so that nothing is sanitised (paths up to 100 bytes). */
function header(e: Entry, size: number): Buffer {
  const kind = e.kind ?? 'file';
  assert.ok(Buffer.byteLength(e.path) <= 100 && Buffer.byteLength(e.linkpath ?? '') <= 100, 'ustar names hold 100 bytes');
  const h = Buffer.alloc(512);
  h.write(e.path, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (kind === 'dir' ? 0o755 : 0o644));
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write(TYPE_FLAG[kind], 156, 1, 'ascii');
  h.write(e.linkpath ?? '', 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 8, 'ascii');
  if (kind === 'char' || kind === 'block') {
    octal(h, 329, 8, 1); // devmajor, minor 3: /dev/null's numbers
    octal(h, 337, 8, 3);
  }
  // The checksum is the byte sum with its own field read as spaces.
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);
const END_OF_ARCHIVE = Buffer.alloc(1024);

function* tarPieces(entries: Entry[], end = true): Generator<Buffer> {
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    yield header(e, body.length);
    yield body;
    yield padding(body.length);
  }
  if (end) yield END_OF_ARCHIVE;
}

function tgz(entries: Entry[]): Buffer {
  return gzipSync(Buffer.concat([...tarPieces(entries)]));
}

/** Zeros from one reused 1 MiB buffer, so a bomb is compressed without ever being held whole. */
function* zeros(n: number): Generator<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = n; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

/** Pieces joined into ~1 MiB chunks: one zlib call per 512-byte header would dominate the run time. */
function* chunked(pieces: Iterable<Buffer>): Generator<Buffer> {
  let batch: Buffer[] = [];
  let size = 0;
  for (const p of pieces) {
    if (p.length >= 1024 * 1024 && batch.length === 0) {
      yield p;
      continue;
    }
    batch.push(p);
    size += p.length;
    if (size >= 1024 * 1024) {
      yield Buffer.concat(batch);
      batch = [];
      size = 0;
    }
  }
  if (batch.length > 0) yield Buffer.concat(batch);
}

/** Gzips the pieces as they come. Level 1 leaves zeros ~230:1, under the 1000:1 ratio that node-tar refuses by itself. */
async function streamedTgz(pieces: Iterable<Buffer>, level: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunked(pieces)), createGzip({ level }), async (compressed: AsyncIterable<Buffer>) => {
    for await (const c of compressed) out.push(c);
  });
  return Buffer.concat(out);
}

const YAML = 'schema_version: 20180708\nname: hello\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\n';
const MANIFEST: Entry = { path: 'func.yaml', body: YAML };
const OUTSIDE_TEXT = 'outside the destination: must never change\n';

interface Sandbox {
  /** A fresh temp dir holding the destination and the files a bundle tries to reach. */
  parent: string;
  /** Not created up front: extractBundle makes it. */
  dest: string;
  /** parent/outside.txt, the file the archives try to overwrite, link or read. */
  outside: string;
}

const ROOT = await mkdtemp(join(tmpdir(), 'herald-bundles-test-'));
after(async () => {
  await rm(ROOT, { recursive: true, force: true });
});

async function sandbox(): Promise<Sandbox> {
  const parent = await mkdtemp(join(ROOT, 'case-'));
  const outside = join(parent, 'outside.txt');
  await writeFile(outside, OUTSIDE_TEXT);
  await chmod(outside, 0o640);
  await mkdir(join(parent, 'outside-dir'));
  await writeFile(join(parent, 'outside-dir', 'keep.txt'), 'keep\n');
  return { parent, dest: join(parent, 'dest'), outside };
}

/** Every path under root (symlinks not followed) with what identifies its state: type, mode, links, size, content. */
async function snapshot(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.set(p, `symlink -> ${await readlink(join(root, p))}`);
    else if (st.isDirectory()) {
      out.set(p, `dir ${mode}`);
      for (const [k, v] of await snapshot(root, p)) out.set(k, v);
    } else if (st.isFile()) {
      const sha = createHash('sha256').update(await readFile(join(root, p))).digest('hex');
      out.set(p, `file ${mode} nlink=${st.nlink} size=${st.size} sha256=${sha}`);
    } else out.set(p, `special ${st.mode.toString(8)}`);
  }
  return out;
}

const without = (snap: Map<string, string>, prefix: string) => new Map([...snap].filter(([p]) => p !== prefix && !p.startsWith(`${prefix}/`)));

interface Refusal {
  /** The test name: the behaviour. */
  name: string;
  bundle: (s: Sandbox) => Buffer | Promise<Buffer>;
  error: typeof HeraldError;
  code: string;
  message: RegExp;
}

const inside = (e: Entry[]) => [MANIFEST, ...e];
const refused = (why: string) => new RegExp(`^The function bundle is refused: .*${why}`);

const REFUSALS: Refusal[] = [
  // Path escapes.
  { name: 'a ".." path (../outside.txt)', bundle: () => tgz(inside([{ path: '../outside.txt', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('\\.\\./outside\\.txt: path escapes the bundle') },
  { name: 'a ".." path in the middle (a/../../outside.txt)', bundle: () => tgz(inside([{ path: 'a/../../outside.txt', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('path escapes the bundle') },
  { name: 'a ".." path that stays inside (a/../b), which the unpack would refuse at every invoke', bundle: () => tgz(inside([{ path: 'a/../b', body: 'x' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('a/\\.\\./b: path contains "\\.\\."') },
  { name: 'an absolute path naming the outside file', bundle: (s) => tgz(inside([{ path: s.outside, body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('path escapes the bundle') },
  { name: 'an absolute path under /tmp (/tmp/x)', bundle: () => tgz(inside([{ path: '/tmp/x', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('/tmp/x: path escapes the bundle') },

  // Symlinks.
  { name: 'an absolute symlink to the outside dir and a file written through it', bundle: (s) => tgz(inside([{ path: 'ln', kind: 'symlink', linkpath: s.parent }, { path: 'ln/outside.txt', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('ln: symlink points outside the bundle') },
  { name: 'a relative symlink up (..) and a file written through it', bundle: () => tgz(inside([{ path: 'ln', kind: 'symlink', linkpath: '..' }, { path: 'ln/outside.txt', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('ln: symlink points outside the bundle') },
  { name: 'a symlink to the outside file and a file written over it', bundle: () => tgz(inside([{ path: 'sub/ln', kind: 'symlink', linkpath: '../../outside.txt' }, { path: 'sub/ln', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('sub/ln: symlink points outside the bundle') },
  {
    // d/up -> .. stays inside and esc -> d/up/.. normalizes to "d", yet the kernel resolves esc to the destination's parent.
    name: 'a symlink that leaves only through another symlink (esc -> d/up/.., d/up -> ..)',
    bundle: () => tgz(inside([{ path: 'd/up', kind: 'symlink', linkpath: '..' }, { path: 'esc', kind: 'symlink', linkpath: 'd/up/..' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('esc: symlink points outside the bundle'),
  },
  {
    name: 'a symlink that reads the outside file through a chain of symlinks',
    bundle: () => tgz(inside([{ path: 'd/up', kind: 'symlink', linkpath: '..' }, { path: 'lib.js', kind: 'symlink', linkpath: 'd/up/../outside.txt' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('lib\\.js: symlink points outside the bundle'),
  },
  {
    name: 'a symlink to another symlink, which the unpack would refuse',
    bundle: () => tgz(inside([{ path: 'tool.js', body: 'x' }, { path: 'bin/tool', kind: 'symlink', linkpath: '../tool.js' }, { path: 'bin/alias', kind: 'symlink', linkpath: 'tool' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('bin/alias: symlink target passes through another symlink \\(bin/tool\\)'),
  },
  { name: 'symlinks that loop (a -> b, b -> a)', bundle: () => tgz(inside([{ path: 'a', kind: 'symlink', linkpath: 'b' }, { path: 'b', kind: 'symlink', linkpath: 'a' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('a: symlink target passes through another symlink \\(b\\)') },
  { name: 'a symlink that loops through itself (loop -> loop/..)', bundle: () => tgz(inside([{ path: 'loop', kind: 'symlink', linkpath: 'loop/..' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('loop: symlink points outside the bundle or loops') },
  {
    name: 'a file written through a symlink to a directory inside the bundle, which the unpack would refuse',
    bundle: () => tgz(inside([{ path: 'real', kind: 'dir' }, { path: 'ln', kind: 'symlink', linkpath: 'real' }, { path: 'ln/f.js', body: 'x' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('ln/f\\.js: lies inside ln, which is a SymbolicLink, not a directory'),
  },
  {
    name: 'a file written through an escaping symlink chain (esc/outside.txt)',
    bundle: () => tgz(inside([{ path: 'd/up', kind: 'symlink', linkpath: '..' }, { path: 'esc', kind: 'symlink', linkpath: 'd/up/..' }, { path: 'esc/outside.txt', body: 'pwned' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('esc/outside\\.txt: lies inside esc'),
  },
  { name: 'a checked func.yaml swapped for a symlink by a second entry of the same path', bundle: () => tgz(inside([{ path: 'func.yaml', kind: 'symlink', linkpath: 'other.yaml' }, { path: 'other.yaml', body: YAML }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('func\\.yaml: the bundle already has an entry at this path') },

  // Hard links.
  { name: 'a hard link to ../outside.txt', bundle: () => tgz(inside([{ path: 'h', kind: 'link', linkpath: '../outside.txt' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('h: hard link points outside the bundle') },
  { name: 'a hard link to the outside file by absolute path, then a write through it', bundle: (s) => tgz(inside([{ path: 'h', kind: 'link', linkpath: s.outside }, { path: 'h', body: 'pwned' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('h: hard link points outside the bundle') },
  {
    name: 'a hard link to the outside file through an escaping symlink',
    bundle: () => tgz(inside([{ path: 'd/up', kind: 'symlink', linkpath: '..' }, { path: 'esc', kind: 'symlink', linkpath: 'd/up/..' }, { path: 'h', kind: 'link', linkpath: 'esc/outside.txt' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('h: hard link must name a regular file that comes earlier in the bundle'),
  },
  {
    // A hard link to a symlink copies its relative target to the link's place: ../.. from d/e is the root, from h it is outside.
    name: 'a hard link to a symlink whose relative target points outside from the new place',
    bundle: () => tgz(inside([{ path: 'd/e/s', kind: 'symlink', linkpath: '../..' }, { path: 'h', kind: 'link', linkpath: 'd/e/s' }])),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('h: hard link must name a regular file'),
  },

  // Special files.
  { name: 'a character device entry', bundle: () => tgz(inside([{ path: 'null', kind: 'char' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('null: entries of type CharacterDevice are not allowed') },
  { name: 'a block device entry', bundle: () => tgz(inside([{ path: 'disk', kind: 'block' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('disk: entries of type BlockDevice are not allowed') },
  { name: 'a FIFO entry', bundle: () => tgz(inside([{ path: 'pipe', kind: 'fifo' }])), error: InvalidParameterError, code: 'InvalidParameter', message: refused('pipe: entries of type FIFO are not allowed') },

  // Size caps.
  {
    name: `a gzip bomb: one entry declaring more than MAX_UNPACKED_BYTES (${MAX_UNPACKED_BYTES}) of zeros, compressed ~230:1`,
    bundle: async () => {
      const size = MAX_UNPACKED_BYTES + 1;
      const b = await streamedTgz([header(MANIFEST, YAML.length), Buffer.from(YAML), padding(YAML.length), header({ path: 'zeros' }, size), ...zeros(size), padding(size), END_OF_ARCHIVE], 1);
      assert.ok(b.length < 5 * 1024 * 1024, `the bomb is small compressed (${b.length} bytes)`);
      return b;
    },
    error: InvalidParameterError, code: 'InvalidParameter', message: refused(`more than ${MAX_UNPACKED_BYTES} bytes unpacked`),
  },
  {
    // node-tar skips a pax header over 1 MiB without handing it out as an entry, so no entry size counts it.
    name: `a gzip bomb in an oversized pax header, beyond MAX_ARCHIVE_BYTES (${MAX_ARCHIVE_BYTES}) of tar data`,
    bundle: () => {
      const size = MAX_ARCHIVE_BYTES + 1024 * 1024;
      return streamedTgz([...tarPieces([MANIFEST], false), header({ path: 'PaxHeader', kind: 'pax' }, size), ...zeros(size), END_OF_ARCHIVE], 1);
    },
    error: InvalidParameterError, code: 'InvalidParameter', message: refused(`it unpacks to more than ${MAX_ARCHIVE_BYTES} bytes of tar data`),
  },
  {
    // node-tar keeps whatever follows the marker, re-concatenating its buffer per chunk: quadratic in the tail.
    // 4 MiB is enough to show the cap and cheap enough that a build without it fails instead of hanging.
    name: `zeros after the end-of-archive marker beyond MAX_TRAILING_BYTES (${MAX_TRAILING_BYTES})`,
    bundle: () => streamedTgz([...tarPieces([MANIFEST]), ...zeros(4 * 1024 * 1024)], 1),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused(`more than ${MAX_TRAILING_BYTES} bytes after the end of the tar archive`),
  },
  {
    name: 'a tar archive gzipped twice',
    bundle: () => gzipSync(tgz(inside([]))),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('the tar archive is compressed twice'),
  },
  {
    name: 'a gzip bomb that expands more than 1000 times (64 MiB of zeros at the best compression)',
    bundle: () => streamedTgz([...tarPieces([MANIFEST], false), header({ path: 'zeros' }, 64 * 1024 * 1024), ...zeros(64 * 1024 * 1024), END_OF_ARCHIVE], 9),
    error: InvalidParameterError, code: 'InvalidParameter', message: refused('it expands more than 1000 times'),
  },
  {
    name: `more than MAX_BUNDLE_ENTRIES (${MAX_BUNDLE_ENTRIES}) entries`,
    bundle: () => {
      // Empty files need no body or padding: one header each, ~51 MB raw, well under 1 MB gzipped.
      function* many(): Generator<Buffer> {
        yield* tarPieces([MANIFEST], false);
        for (let i = 0; i < MAX_BUNDLE_ENTRIES; i++) yield header({ path: `many/${i}` }, 0);
        yield END_OF_ARCHIVE;
      }
      return streamedTgz(many(), 1);
    },
    error: InvalidParameterError, code: 'InvalidParameter', message: refused(`more than ${MAX_BUNDLE_ENTRIES} entries`),
  },
  {
    name: `an upload over MAX_BUNDLE_BYTES (${MAX_BUNDLE_BYTES})`,
    bundle: () => Buffer.concat([tgz(inside([])), Buffer.alloc(MAX_BUNDLE_BYTES)]),
    error: PayloadTooLargeError, code: 'PayloadTooLarge', message: /^A function bundle may be at most 50 MB\.$/,
  },

  // Not a function bundle.
  { name: 'a bundle with no func.yaml', bundle: () => tgz([{ path: 'func.js', body: 'x' }]), error: InvalidParameterError, code: 'InvalidParameter', message: /^The function bundle has no func\.yaml at its root\.$/ },
  { name: 'a bundle whose func.yaml is only in a subdirectory', bundle: () => tgz([{ path: 'hello', kind: 'dir' }, { path: 'hello/func.yaml', body: YAML }]), error: InvalidParameterError, code: 'InvalidParameter', message: /^The function bundle has no func\.yaml at its root\.$/ },
  { name: 'a bundle whose func.yaml is a directory', bundle: () => tgz([{ path: 'func.yaml', kind: 'dir' }]), error: InvalidParameterError, code: 'InvalidParameter', message: /^The function bundle has no func\.yaml at its root\.$/ },
  { name: 'gzipped bytes that are not a tar archive', bundle: () => gzipSync(Buffer.alloc(2048, 1)), error: InvalidParameterError, code: 'InvalidParameter', message: /^The function bundle is not a valid \.tar\.gz: / },
];

function isRefusal(r: Refusal): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof r.error, `expected a ${r.error.name}, got ${String(err)}`);
    assert.equal((err as HeraldError).code, r.code);
    assert.match((err as Error).message, r.message);
    return true;
  };
}

describe('function bundles: hand-built malicious tarballs', () => {
  for (const r of REFUSALS) {
    it(`refuses ${r.name}, in inspectBundle and extractBundle, writing nothing outside the destination`, async () => {
      const s = await sandbox();
      const bundle = await r.bundle(s);
      const before = await snapshot(s.parent);

      await assert.rejects(inspectBundle(bundle), isRefusal(r));
      await assert.rejects(extractBundle(bundle, s.dest), isRefusal(r));

      const afterwards = await snapshot(s.parent);
      assert.deepEqual(without(afterwards, 'dest'), before, 'nothing outside the destination changed');
      assert.deepEqual([...afterwards.keys()].filter((p) => p.startsWith('dest/')), [], 'nothing was unpacked');
      assert.equal(await readFile(s.outside, 'utf8'), OUTSIDE_TEXT);
      const st = await lstat(s.outside);
      assert.deepEqual([st.isFile(), st.mode & 0o7777, st.nlink], [true, 0o640, 1], 'the outside file is not replaced, re-moded or hard-linked');
      await rm(s.parent, { recursive: true, force: true });
    });
  }
});

describe('function bundles: valid bundles', () => {
  const VALID: Entry[] = [
    { path: './', kind: 'dir' },
    MANIFEST,
    { path: 'func.js', body: 'module.exports = () => "hi";\n' },
    { path: 'bin', kind: 'dir', mode: 0o755 },
    { path: 'bin/run', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
    // Parents that only appear in the paths of their files.
    { path: 'lib/deep/x.js', body: 'exports.x = 1;\n', mode: 0o644 },
    { path: 'lib/copy.js', kind: 'link', linkpath: 'lib/deep/x.js' },
    { path: 'node_modules/tool/cli.js', body: '#!/usr/bin/env node\n', mode: 0o755 },
    { path: 'node_modules/.bin/tool', kind: 'symlink', linkpath: '../tool/cli.js' },
    { path: 'lib/link', kind: 'symlink', linkpath: 'deep' },
    { path: 'private.txt', body: 'p', mode: 0o600 },
    { path: 'empty', body: '', mode: 0o644 },
    // Special bits are dropped: a setuid file unpacked by a root Herald would be a root program for local users.
    { path: 'bin/suid', body: '#!/bin/sh\n', mode: 0o4755 },
    { path: 'shared', kind: 'dir', mode: 0o3775 },
  ];

  it('inspects and extracts a valid bundle with the contents, modes and links it holds', async () => {
    const s = await sandbox();
    const before = await snapshot(s.parent);
    // GNU tar and bsdtar pad archives to 10 KiB records after the end-of-archive marker.
    const bundle = gzipSync(Buffer.concat([...tarPieces(VALID), Buffer.alloc(20 * 1024)]));
    const bodies = VALID.reduce((n, e) => n + Buffer.byteLength(e.body ?? ''), 0);
    assert.deepEqual(await inspectBundle(bundle), { entries: VALID.length, unpackedBytes: bodies });

    await extractBundle(bundle, s.dest);
    const got = await snapshot(s.dest);
    const file = (body: string, mode: number, nlink = 1) =>
      `file ${mode.toString(8)} nlink=${nlink} size=${Buffer.byteLength(body)} sha256=${createHash('sha256').update(body).digest('hex')}`;
    assert.deepEqual(
      Object.fromEntries(got),
      {
        bin: 'dir 755',
        'bin/run': file('#!/bin/sh\necho hi\n', 0o755),
        'bin/suid': file('#!/bin/sh\n', 0o755),
        empty: file('', 0o644),
        'func.js': file('module.exports = () => "hi";\n', 0o644),
        'func.yaml': file(YAML, 0o644),
        lib: 'dir 755',
        'lib/copy.js': file('exports.x = 1;\n', 0o644, 2),
        'lib/deep': 'dir 755',
        'lib/deep/x.js': file('exports.x = 1;\n', 0o644, 2),
        'lib/link': 'symlink -> deep',
        node_modules: 'dir 755',
        'node_modules/.bin': 'dir 755',
        'node_modules/.bin/tool': 'symlink -> ../tool/cli.js',
        'node_modules/tool': 'dir 755',
        'node_modules/tool/cli.js': file('#!/usr/bin/env node\n', 0o755),
        'private.txt': file('p', 0o600),
        shared: 'dir 755',
      },
    );
    assert.equal((await lstat(join(s.dest, 'lib/copy.js'))).ino, (await lstat(join(s.dest, 'lib/deep/x.js'))).ino, 'the hard link is the same file');
    assert.equal(await readFile(join(s.dest, 'lib/link/x.js'), 'utf8'), 'exports.x = 1;\n', 'the directory symlink resolves inside');
    assert.deepEqual(without(await snapshot(s.parent), 'dest'), before, 'nothing outside the destination changed');
    await rm(s.parent, { recursive: true, force: true });
  });

  it('accepts a folder packed by packFunctionDir, node_modules/.bin symlinks included, and unpacks it unchanged', async () => {
    const s = await sandbox();
    const src = join(s.parent, 'src');
    await mkdir(join(src, 'node_modules', 'pkg', 'bin'), { recursive: true });
    await mkdir(join(src, 'node_modules', '.bin'));
    await writeFile(join(src, 'func.yaml'), YAML);
    await writeFile(join(src, 'func.js'), 'module.exports = 1;\n');
    await writeFile(join(src, 'node_modules', 'pkg', 'bin', 'cli.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
    await symlink('../pkg/bin/cli.js', join(src, 'node_modules', '.bin', 'pkg'));
    const bundle = await packFunctionDir(src);
    await inspectBundle(bundle);
    await extractBundle(bundle, s.dest);
    assert.deepEqual(await snapshot(s.dest), await snapshot(src));
    await rm(s.parent, { recursive: true, force: true });
  });

  it(`accepts exactly MAX_BUNDLE_ENTRIES (${MAX_BUNDLE_ENTRIES}) entries`, async () => {
    function* atCap(): Generator<Buffer> {
      yield* tarPieces([MANIFEST], false);
      for (let i = 1; i < MAX_BUNDLE_ENTRIES; i++) yield header({ path: `many/${i}` }, 0);
      yield END_OF_ARCHIVE;
    }
    const r = await inspectBundle(await streamedTgz(atCap(), 1));
    assert.deepEqual(r, { entries: MAX_BUNDLE_ENTRIES, unpackedBytes: YAML.length });
  });
});
