import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Copies a package and everything it depends on from the project's node_modules into dir/node_modules, as `npm install` would lay it out. */
export async function vendorPackage(pkg: string, dir: string, seen = new Set<string>()): Promise<void> {
  if (seen.has(pkg)) return;
  seen.add(pkg);
  const src = join(process.cwd(), 'node_modules', pkg);
  await cp(src, join(dir, 'node_modules', pkg), { recursive: true, dereference: true });
  const manifest = JSON.parse(await readFile(join(src, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) await vendorPackage(dep, dir, seen);
}

/**
 * The steering repo's shared/vendor (third-party source for tests that cannot reach its
 * registry): HERALD_SHARED_VENDOR, else ../shared/vendor beside this checkout, else /work/shared/vendor.
 */
export function sharedVendorDir(): string {
  const candidates = [process.env.HERALD_SHARED_VENDOR, resolve(process.cwd(), '..', 'shared', 'vendor'), '/work/shared/vendor'];
  const found = candidates.find((d): d is string => d !== undefined && d !== '' && existsSync(join(d, 'README.md')));
  if (found === undefined) throw new Error(`shared/vendor not found (looked in ${candidates.filter(Boolean).join(', ')}); set HERALD_SHARED_VENDOR`);
  return found;
}
