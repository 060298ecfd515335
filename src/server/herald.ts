import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { cachedKeyLookup } from './key-cache.js';
import { writeOciConfig } from './oci-config-file.js';
import type { ApiDeps } from '../api/context.js';
import { buildHttpServer } from '../api/http-server.js';
import { ConfigError, type HeraldConfig } from '../config/config.js';
import { bootstrapTenancy } from '../core/identity.js';
import { ActivityService } from '../core/activity.js';
import { Authorizer } from '../core/iam/authorizer.js';
import { seedAllTenancies } from '../core/iam/bootstrap.js';
import { DeliveryControlService } from '../core/delivery-control.js';
import { disabledEvent, OperationsEvents } from '../core/operations-events.js';
import { CompartmentService } from '../core/iam/compartment-service.js';
import { GroupService } from '../core/iam/groups.js';
import type { IamDeps } from '../core/iam/iam-deps.js';
import { PolicyService } from '../core/iam/policies.js';
import { UserService } from '../core/iam/users.js';
import { ApplicationService } from '../core/applications.js';
import { FunctionService, type FunctionInvoker } from '../core/functions.js';
import { REGION } from '../core/ids.js';
import { SubscriptionLinks } from '../core/links.js';
import { MessageService } from '../core/messages.js';
import { SubscriptionService } from '../core/subscriptions.js';
import { RetentionService, retentionOptions } from '../core/retention.js';
import { TopicService } from '../core/topics.js';
import { formatDuration } from '../config/duration.js';
import { BacklogMonitor } from '../delivery/backlog.js';
import { DeliveryEngine } from '../delivery/engine.js';
import { DEFAULT_ENGINE_OPTIONS } from '../delivery/engine-options.js';
import { DevMailbox, SmtpMailSink, type MailSink } from '../delivery/mail-sink.js';
import { buildProtocolRegistry } from '../delivery/protocols/index.js';
import { SendThreads } from '../delivery/send-thread/send-threads.js';
import { checksModuleUrl, hostedChecks, VerifyThread } from '../api/auth/verify-thread.js';
import { RuntimeInvoker } from '../functions/invoker.js';
import { FunctionRuntime } from '../functions/runtime.js';
import { functionsCacheDir, setUpSandbox } from '../functions/sandbox-setup.js';
import { HeraldMetrics } from './metrics.js';
import { MinuteStatsRecorder, teeMetrics } from './minute-stats.js';
import { chooseLogFormat, createLogger } from './logging.js';
import { keyFileWarning, readTlsPair, reloadTls, type SecureContextTarget, type TlsPair } from './tls.js';
import { openStore } from '../store/open-store.js';
import { startTracing } from '../telemetry/tracing.js';
import type { Store } from '../store/store.js';
import { ConsoleAuth, ensureConsoleAdmin } from '../console/auth.js';
import { startPublishPacing } from './publish-pacing.js';
import { ConsoleCredentials } from '../console/credentials.js';
import { consoleSessionAuth, registerConsoleCookies, registerConsoleOverviewRoute, registerConsoleSessionRoutes } from '../console/routes.js';
import { registerConsoleStatic } from '../console/static.js';

/** How often claims that leave endpoints out walk from the beginning again on SQLite (see the engine's options below). */
const SQLITE_WALK_RESTART_MS = 60_000;

export interface RunningHerald {
  /** Where the server listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly publicUrl: string;
  readonly store: Store;
  /** The OCI config file written at first start (undefined when the store already had a tenancy). */
  readonly ociConfigPath: string | undefined;
  /** The web console's generated `admin` password, set only on the start that created it. */
  readonly consolePassword: string | undefined;
  /** Writes the console's per-minute counters now rather than at the next flush (tests). */
  flushStats(): Promise<void>;
  /**
   * Re-reads --tls-cert/--tls-key into the listening server (what SIGHUP does); false, with the error logged
   * and the old certificate still served, when the new pair does not load. Always false without TLS.
   */
  reloadTls(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Postgres schema to isolate in (tests). */
  schema?: string;
  /** Replaces the process runtime behind the invoke route (tests of the HTTP mapping). */
  functionInvoker?: FunctionInvoker;
}

function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The composition root: the only place that builds concrete objects and wires them together. */
export async function startHerald(config: HeraldConfig, opts: StartOptions = {}): Promise<RunningHerald> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel, format: chooseLogFormat(config.logFormat, process.stdout.isTTY === true) });
  // The certificate is read before anything opens, so a bad pair stops the start with its reason.
  let tlsPair: TlsPair | undefined;
  if (config.tls !== undefined) {
    try {
      tlsPair = await readTlsPair(config.tls);
    } catch (err) {
      throw new ConfigError(`Cannot use --tls-cert ${config.tls.certFile} with --tls-key ${config.tls.keyFile}: ${(err as Error).message}`);
    }
    const warning = await keyFileWarning(config.tls.keyFile);
    if (warning !== undefined) logger.warn({ keyFile: config.tls.keyFile }, warning);
  }
  // OpenTelemetry, when an OTLP endpoint is set (OTEL_* variables); otherwise a no-op and the SDK is never loaded.
  const tracing = await startTracing();
  const store = await openStore(config.store, config.dataDir, { schema: opts.schema });
  let publicUrl = config.publicUrl ?? '';
  try {
    const secret = await store.settings.putSettingIfAbsent('link-secret', randomBytes(32).toString('base64'));
    const links = new SubscriptionLinks(Buffer.from(secret, 'base64'), () => publicUrl);
    const keys = cachedKeyLookup(async (tenancyId, userId, fingerprint) => (await store.directory.getApiKey(tenancyId, userId, fingerprint))?.publicKeyPem);
    const authz = new Authorizer(store.identity);
    const iamDeps: IamDeps = {
      identity: store.identity,
      directory: store.directory,
      tokens: store.retryTokens,
      authz,
      accessChanged: (tenancyId) => {
        authz.invalidate(tenancyId);
        keys.forget(tenancyId);
      },
      consolePasswords: new ConsoleCredentials(store.console),
      now: Date.now,
    };
    const backlog = new BacklogMonitor(store.deliveries, logger);
    const retention = new RetentionService(store.retention, retentionOptions(config.messageRetentionMs), (err) =>
      logger.warn({ err }, 'a retention sweep failed; the next one retries'),
    );
    // The publish pacer (declared below, once the engine that measures the lag exists) is read at scrape time only.
    const metrics = new HeraldMetrics(store, { publishBacklog: () => backlog.backlog(), retention: () => retention.stats(), pacing: () => pacing.pacer.state });
    // The console's stored history: counted beside the Prometheus metrics, written every few seconds.
    const minuteStats = new MinuteStatsRecorder(store.stats, { onError: (err) => logger.warn({ err }, 'writing the per-minute stats failed; the next flush retries') });

    if ((await store.storageStats()).autovacuum === false) {
      logger.warn('PostgreSQL runs with autovacuum off: Herald VACUUMs the tables it prunes itself after each retention sweep (at most every 10 s).');
    }
    if (config.smtpUrl === undefined) {
      logger.warn('No --smtp-url / HERALD_SMTP_URL: EMAIL deliveries go to the built-in DEV MAILBOX (herald mail list), not to real inboxes.');
    }
    const mailSink: MailSink = config.smtpUrl === undefined ? new DevMailbox((mail) => store.mailbox.insertMail(mail)) : new SmtpMailSink(config.smtpUrl);
    // Unpacked bundles and the sandbox's files live where the sandbox user can reach them (not the data dir).
    const functionsDir = await functionsCacheDir(config.dataDir);
    const sandbox = await setUpSandbox({ mode: config.functionsSandbox, network: config.functionsNetwork, python3: config.functionsPython, bwrap: config.functionsBwrap }, functionsDir);
    if (config.functionsSandbox === 'none') {
      logger.warn('--functions-sandbox none: FUNCTIONS RUN UNISOLATED, as Herald\'s own user, with Herald\'s files, keys and database in reach. Use it only where every function is trusted.');
    } else if (!sandbox.ok) {
      logger.error({ problem: sandbox.problem }, `Functions will not run: the bubblewrap sandbox does not work here: ${sandbox.problem}. Fix it, or pass --functions-sandbox none to run them unisolated.`);
    }
    const runtime = new FunctionRuntime({ sandbox: sandbox.sandbox });
    const invoker: FunctionInvoker = opts.functionInvoker ?? new RuntimeInvoker(store.functions, runtime, join(functionsDir, 'bundles'), logger.child({ component: 'functions' }), tracing);
    // HTTP sends on delivery threads (a second core); the engine and every decision stay on this thread.
    const sendThreads =
      config.deliveryThreads === 0
        ? undefined
        : new SendThreads(
            {
              allowPrivateEndpoints: config.allowPrivateEndpoints,
              httpTimeoutMs: config.deliveryTimeoutMs,
              sms: config.sms,
              linkSecret: secret,
              perEndpoint: DEFAULT_ENGINE_OPTIONS.perEndpoint,
            },
            { threads: config.deliveryThreads, onThreadError: (err) => logger.error({ err }, 'a delivery thread failed; its unanswered sends are retried and a new thread takes the next') },
          );
    // Publishes' RSA checks made off the event loop run on the delivery thread when there is one: a thread of their
    // own would be another isolate, ~10 MB of RSS.
    const verifyThread = new VerifyThread(sendThreads === undefined ? {} : { open: hostedChecks(() => sendThreads.openService(checksModuleUrl())) });
    const registry = buildProtocolRegistry({
      wrapHttp: sendThreads === undefined ? undefined : (handler) => sendThreads.wrap(handler),
      allowPrivateEndpoints: config.allowPrivateEndpoints,
      signingSecret: (sub) => links.signingSecret(sub.id),
      mailSink,
      mailFrom: config.mailFrom,
      sms: config.sms,
      httpTimeoutMs: config.deliveryTimeoutMs,
      functions: {
        lookup: async (tenancyId, functionId) => {
          const fn = await store.functions.getFunction(tenancyId, functionId);
          if (fn === undefined || fn.lifecycleState !== 'ACTIVE') return undefined;
          const app = await store.functions.getApplication(tenancyId, fn.applicationId);
          return app === undefined ? undefined : { fn, app };
        },
        invoker,
      },
    });
    // Paces publishes while they starve deliveries (see PublishPacer). Made just before the engine that measures
    // the lag, with nothing awaited between: its first tick comes after both exist.
    const pacing = startPublishPacing({ deliveryLagMs: () => engine.deliveryLagMs(), oldestDueMs: () => engine.oldestDueMs() }, config.deliveryLagTargetMs);
    const engine = new DeliveryEngine(store.deliveries, registry, links, teeMetrics(metrics, minuteStats, pacing.deliveries), logger.child({ component: 'delivery' }), {
      ...DEFAULT_ENGINE_OPTIONS,
      nodeId: config.nodeId,
      timeScale: config.retryTimeScale,
      attemptTimeoutMs: config.deliveryTimeoutMs,
      leaseMs: config.deliveryTimeoutMs * 2 + 5000,
      // SQLite has one writer, this node: what it commits due before a walk's end sends the walk back (DueWalk), and
      // what it hands back starts the walk over itself; no other node hands back behind it, so the restart that
      // finds such work is only a safety net there (each walks the whole backlog: 0.5 s at 400,000 due).
      ...(store.kind === 'sqlite' ? { walkEndTailMs: 0, walkRestartMs: SQLITE_WALK_RESTART_MS } : {}),
    }, tracing, {
      health: { disableAfterMs: config.endpointDisableAfterMs },
      // Declared below (it publishes through the message service, which needs the engine); called only once delivering.
      onDisabled: (subs) => {
        metrics.subscriptionsDisabled(subs.length);
        for (const d of subs) {
          logger.warn({ subscriptionId: d.subscriptionId, failingSince: new Date(d.failingSince).toISOString(), held: d.heldCount }, 'subscription disabled: no successful delivery within --endpoint-disable-after');
          void operations.publish(d.tenancyId, disabledEvent(d));
        }
      },
    });
    // The publish path: route -> MessageService -> store.publishing (one transaction, fan-out planned by the
    // engine) -> engine.published. Metrics and the backlog count are told of each durable group too.
    const topics = new TopicService(store, authz);
    const subscriptions = new SubscriptionService(store, links, authz, engine);
    const messages = new MessageService(store, authz, {
      fanout: engine,
      backpressure: { backlog: () => backlog.backlog(), max: config.maxBacklog, pacer: pacing.pacer },
      listeners: [
        pacing.published,
        (batch, outcome) => {
          metrics.messagesPublished(batch.length);
          minuteStats.published(batch);
          backlog.added(outcome.backlogAdded);
        },
      ],
    });
    const operations = new OperationsEvents(store, messages, (err, event) =>
      logger.error({ err, event: event.type, subscriptionId: event.subscriptionId }, 'could not publish an operations event'),
    );
    await backlog.start();

    const boot = await bootstrapTenancy(store);
    // Installations made before IAM get their Administrators group and policy now.
    await seedAllTenancies(store, Date.now());
    await operations.ensureTopics();
    let ociConfigPath: string | undefined;
    if (boot !== undefined) {
      const written = await writeOciConfig(join(config.dataDir, 'oci'), {
        user: boot.user.id,
        fingerprint: boot.fingerprint,
        tenancy: boot.tenancy.id,
        region: REGION,
        privateKeyPem: boot.privateKeyPem,
      });
      ociConfigPath = written.configPath;
      logger.info(
        { configFile: written.configPath, tenancy: boot.tenancy.id, user: boot.user.id },
        `Created tenancy and admin API key. Point an OCI SDK at it with its config file ${written.configPath} (profile DEFAULT) and set client.endpoint to this server's URL.`,
      );
    }

    // Web console: the first start creates the `admin` login and logs its password once.
    const consolePassword = await ensureConsoleAdmin(store);

    const apiDeps: ApiDeps = {
      topics,
      subscriptions,
      messages,
      applications: new ApplicationService(store, authz),
      functions: new FunctionService(store, authz),
      activity: new ActivityService(store, topics, subscriptions, links, authz),
      deliveryControl: new DeliveryControlService(store, subscriptions, engine, operations, {
        disableAfterMs: config.endpointDisableAfterMs,
        messageRetentionMs: config.messageRetentionMs,
      }),
      functionInvoker: invoker,
      links,
      publicUrl: () => publicUrl,
      wakeDelivery: () => engine.wake(),
      metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
      publicKeys: keys.lookup,
      verifyThread,
      iam: {
        users: new UserService(iamDeps),
        groups: new GroupService(iamDeps),
        policies: new PolicyService(iamDeps),
        compartments: new CompartmentService(iamDeps),
      },
      logger,
      tracing,
    };
    // The web console, mounted beside the API: cookie parsing before the authentication hook (which reads the
    // session cookie), the session standing in for a signature (with the CSRF header on writes), then its routes
    // and built assets after the API's.
    const consoleAuth = new ConsoleAuth(store.console);
    const app = buildHttpServer(apiDeps, {
      plugins: (server) => registerConsoleCookies(server),
      sessionAuth: consoleSessionAuth(consoleAuth),
      routes: (server) => {
        registerConsoleSessionRoutes(server, apiDeps, consoleAuth);
        registerConsoleOverviewRoute(server, apiDeps);
        registerConsoleStatic(server);
      },
    }, tlsPair);
    await app.listen({ port: config.port, host: config.host });
    await engine.start();
    retention.start();
    minuteStats.start();
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
    const url = `${tlsPair === undefined ? 'http' : 'https'}://${bracketHost(config.host)}:${port}`;
    if (publicUrl === '') publicUrl = url;
    if (consolePassword !== undefined) {
      logger.warn(
        { consoleUrl: `${publicUrl}/console/`, username: 'admin', password: consolePassword },
        `WEB CONSOLE: sign in at ${publicUrl}/console/ as admin with password ${consolePassword} (shown only once; only its hash is stored).`,
      );
    }
    logger.info(
      {
        url,
        publicUrl,
        store: store.kind,
        dataDir: config.dataDir,
        node: config.nodeId,
        retryTimeScale: config.retryTimeScale,
        allowPrivateEndpoints: config.allowPrivateEndpoints,
        functionsSandbox: `${config.functionsSandbox}${config.functionsSandbox === 'bwrap' ? `, network ${config.functionsNetwork}` : ''}`,
        messageRetention: formatDuration(config.messageRetentionMs),
      },
      `Herald is listening on ${url}`,
    );

    let closed = false;
    return {
      url,
      publicUrl,
      store,
      ociConfigPath,
      consolePassword,
      flushStats: () => minuteStats.flush(),
      async reloadTls() {
        if (config.tls === undefined) return false;
        // With `https` set, fastify's server is a node https.Server, which has setSecureContext.
        return reloadTls(app.server as unknown as SecureContextTarget, config.tls, logger);
      },
      async close() {
        if (closed) return;
        closed = true;
        // Let paced publishes through, stop taking requests, let accepted publishes commit, finish in-flight
        // deliveries, then release the store.
        pacing.stop();
        await app.close();
        await verifyThread.terminate();
        await messages.drain();
        backlog.stop();
        await retention.stop();
        await engine.stop();
        await minuteStats.stop();
        await runtime.close();
        await store.close();
        // Last: the spans of the attempts finished above are exported before we return.
        await tracing.shutdown();
      },
    };
  } catch (err) {
    await store.close();
    await tracing.shutdown();
    throw err;
  }
}
