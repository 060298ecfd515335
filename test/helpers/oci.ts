import assert from 'node:assert/strict';
import { request } from 'undici';
import { signRequest } from '../../src/api/auth/signature.js';
import type { TestHerald } from './herald.js';

/** Asserts that an SDK call failed with exactly this OCI status and service code. */
export async function expectOciError(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const e = err as { statusCode?: number; serviceCode?: string; message?: string };
    assert.equal(e.statusCode, status, `status (message: ${e.message})`);
    assert.equal(e.serviceCode, code, `serviceCode (message: ${e.message})`);
    return true;
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { code?: string; message?: string } & Record<string, unknown>;
}

export async function send(url: URL, method: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawResponse> {
  const res = await request(url, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: RawResponse['json'] = {};
  try {
    json = JSON.parse(text) as RawResponse['json'];
  } catch {
    // non-JSON answers are checked through .text
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Signed calls with the bootstrap key, for Herald's own endpoints and for bodies the SDK would never send. */
export class SignedCaller {
  constructor(private readonly h: TestHerald) {}

  async raw(method: string, path: string, body?: string | Buffer, extra: Record<string, string> = {}): Promise<RawResponse> {
    const url = new URL(this.h.herald.url + path);
    const headers = signRequest({
      method,
      url,
      headers: { 'content-type': 'application/json', ...extra },
      body,
      keyId: await this.h.provider.getKeyId(),
      privateKeyPem: this.h.provider.getPrivateKey(),
    });
    return send(url, method, headers, body);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body === undefined ? undefined : JSON.stringify(body));
    assert.ok(res.status < 300, `${method} ${path} → ${res.status} ${res.text}`);
    return res.json as T;
  }
}

export function heraldClient(h: TestHerald): SignedCaller {
  return new SignedCaller(h);
}
