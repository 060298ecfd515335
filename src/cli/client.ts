import { readOciConfig } from '../server/oci-config-file.js';
import { request } from 'undici';
import { signRequest } from '../api/auth/signature.js';

export interface ClientOptions {
  endpoint: string;
  configFile: string;
  profile: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A minimal OCI-signed JSON client for Herald's own endpoints (the ONS ones go through the official SDK). */
export class HeraldClient {
  private constructor(
    private readonly endpoint: string,
    private readonly keyId: string,
    private readonly privateKeyPem: string,
    readonly userId: string,
    readonly tenancyId: string,
  ) {}

  static async fromConfig(opts: ClientOptions): Promise<HeraldClient> {
    const cfg = await readOciConfig(opts.configFile, opts.profile);
    return new HeraldClient(opts.endpoint.replace(/\/+$/, ''), `${cfg.tenancy}/${cfg.user}/${cfg.fingerprint}`, cfg.privateKeyPem, cfg.user, cfg.tenancy);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(this.endpoint + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = signRequest({ method, url, headers: { 'content-type': 'application/json' }, body: payload, keyId: this.keyId, privateKeyPem: this.privateKeyPem });
    const res = await request(url, { method: method as 'GET', headers, body: payload });
    const text = await res.body.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (res.statusCode >= 300) {
      const e = (parsed ?? {}) as { code?: string; message?: string };
      throw new ApiError(res.statusCode, e.code ?? 'None', e.message ?? text);
    }
    return parsed as T;
  }
}
