import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (req: Received) => { status: number; body?: string; headers?: Record<string, string> } | Promise<{ status: number; body?: string; headers?: Record<string, string> }>;

/** Confirms a subscription (follows X-OCI-NS-ConfirmationURL) and hands every other request to `next`. */
export function confirming(next: Responder = () => ({ status: 200, body: 'ok' })): Responder {
  return async (r) => {
    const url = r.headers['x-oci-ns-confirmationurl'];
    if (typeof url !== 'string') return next(r);
    await (await fetch(url)).text();
    return { status: 200 };
  };
}

/** A real HTTP server on 127.0.0.1 that records every request and answers as told. */
export class Receiver {
  readonly requests: Received[] = [];
  private waiters: { pred: (r: Received[]) => boolean; resolve: () => void }[] = [];
  private server: Server | undefined;
  url = '';

  constructor(public respond: Responder = () => ({ status: 200, body: 'ok' })) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(r);
        Promise.resolve(this.respond(r)).then(
          (out) => {
            res.writeHead(out.status, out.headers ?? {});
            res.end(out.body ?? '');
            this.check();
          },
          () => {
            res.writeHead(500);
            res.end();
          },
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves once the recorded requests satisfy pred; rejects after timeoutMs. */
  waitFor(pred: (r: Received[]) => boolean, timeoutMs = 15_000, what = 'requests'): Promise<void> {
    if (pred(this.requests)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: () => {} };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for ${what}; got ${this.requests.length}: ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`));
      }, timeoutMs);
      w.resolve = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(w);
    });
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.pred(this.requests)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
