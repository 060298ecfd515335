import { InvalidParameterError, MissingParameterError } from './errors.js';
import type { DefinedTags, Tags } from './models.js';

/** Shared field rules for every resource, so topics, subscriptions and apps agree. */

export function requireString(value: string | undefined | null, name: string): string {
  if (value === undefined || value === null || value === '') throw new MissingParameterError(name);
  return value;
}

export function checkLength(value: string, name: string, max: number): string {
  if (value.length > max) throw new InvalidParameterError(`${name} must be at most ${max} characters.`);
  return value;
}

export function checkFreeformTags(tags: Tags | undefined): Tags {
  if (tags === undefined) return {};
  const entries = Object.entries(tags);
  if (entries.length > 50) throw new InvalidParameterError('freeformTags may hold at most 50 tags.');
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 100) throw new InvalidParameterError('freeformTags keys must be 1 to 100 characters.');
    if (v.length > 256) throw new InvalidParameterError('freeformTags values must be at most 256 characters.');
  }
  return tags;
}

export function checkDefinedTags(tags: DefinedTags | undefined): DefinedTags {
  if (tags === undefined) return {};
  let size: number;
  try {
    size = JSON.stringify(tags).length;
  } catch {
    // A body nested deep enough to exhaust the stack is refused, not crashed on.
    throw new InvalidParameterError('definedTags is too deeply nested.');
  }
  if (size > 10_000) throw new InvalidParameterError('definedTags is too large.');
  return tags;
}
