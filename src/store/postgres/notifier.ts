import { Client, escapeIdentifier, type ClientConfig } from 'pg';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1); channel names are identifiers. */
const MAX_CHANNEL_BYTES = 63;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * The NOTIFY channel of one Herald installation. Schemas share a database's channels,
 * so the schema is part of the name and isolated (test) schemas do not wake each other.
 * Schema names are [a-z0-9_] (checked by the store); a name cut to the identifier
 * limit can only cause spurious wake-ups, which are harmless hints.
 */
export function wakeChannel(schema: string | undefined): string {
  return (schema === undefined ? 'herald_wake' : `herald_wake_${schema}`).slice(0, MAX_CHANNEL_BYTES);
}

/**
 * LISTENs on the wake channel over one dedicated connection (a pooled one would
 * lose the LISTEN when it is recycled). Connects on the first subscriber. When the
 * connection drops it reconnects with capped exponential backoff and then calls
 * every callback, since wake-ups may have been missed meanwhile.
 */
export class WakeListener {
  private readonly callbacks = new Set<{ callback: () => void }>();
  private client: Client | undefined;
  private started: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  private closed = false;

  /**
   * @param ignorePayload notifications carrying this payload are not passed on: the NOTIFYs this store
   *   instance sends about work its own node was already told of in-process (see PostgresDeliveries).
   */
  constructor(
    private readonly config: ClientConfig,
    readonly channel: string,
    private readonly ignorePayload?: string,
  ) {}

  /** Resolves once LISTEN is in place (or, if the database is unreachable, once reconnecting is scheduled). */
  async subscribe(callback: () => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('The store is closed');
    const entry = { callback };
    this.callbacks.add(entry);
    this.started ??= this.connect().then(() => undefined);
    await this.started;
    return async () => {
      this.callbacks.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.callbacks.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private fire(): void {
    for (const { callback } of [...this.callbacks]) {
      try {
        callback();
      } catch {
        // A wake-up is a hint; one listener's failure must not keep it from the others.
      }
    }
  }

  /** One connection attempt; true when listening. On failure a retry is scheduled. */
  private async connect(): Promise<boolean> {
    const client = new Client({ ...this.config, keepAlive: true, application_name: 'herald-wake-listener' });
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    client.on('notification', (n) => {
      if (n.channel === this.channel && (this.ignorePayload === undefined || n.payload !== this.ignorePayload)) this.fire();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${escapeIdentifier(this.channel)}`);
    } catch {
      this.drop(client);
      return false;
    }
    if (this.client !== client) return false;
    this.backoffMs = MIN_BACKOFF_MS;
    return true;
  }

  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.timer !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect().then((ok) => {
        if (ok && !this.closed) this.fire();
      });
    }, delay);
    // Polling covers for a missing listener; a pending reconnect must not keep the process alive.
    this.timer.unref();
  }
}
