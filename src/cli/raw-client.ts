import { request } from 'undici';
import { ApiError, type ClientOptions } from './client.js';
import { signRequest } from '../api/auth/signature.js';
import { readOciConfig } from '../server/oci-config-file.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * OCI-signed calls with raw bodies (bundle uploads, function invokes), beside
 * HeraldClient, which speaks JSON only. Non-2xx answers become ApiError, so
 * withClient reports them the same way.
 */
export class RawHeraldClient {
  private constructor(
    private readonly endpoint: string,
    private readonly keyId: string,
    private readonly privateKeyPem: string,
  ) {}

  static async fromConfig(opts: ClientOptions): Promise<RawHeraldClient> {
    const cfg = await readOciConfig(opts.configFile, opts.profile);
    return new RawHeraldClient(opts.endpoint.replace(/\/+$/, ''), `${cfg.tenancy}/${cfg.user}/${cfg.fingerprint}`, cfg.privateKeyPem);
  }

  async callRaw(method: string, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    const url = new URL(this.endpoint + path);
    const signed = signRequest({ method, url, headers, body, keyId: this.keyId, privateKeyPem: this.privateKeyPem });
    const res = await request(url, { method: method as 'POST', headers: signed, body });
    const out = Buffer.from(await res.body.arrayBuffer());
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    if (res.statusCode >= 300) {
      let e: { code?: string; message?: string } = {};
      try {
        e = JSON.parse(out.toString('utf8')) as typeof e;
      } catch {
        // a function's own non-JSON error body is shown as the message
      }
      throw new ApiError(res.statusCode, e.code ?? 'None', e.message ?? out.toString('utf8'));
    }
    return { status: res.statusCode, headers: flat, body: out };
  }
}
