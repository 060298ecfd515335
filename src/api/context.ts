import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Caller, PublicKeyLookup } from './auth/signature.js';
import type { VerifyThread } from './auth/verify-thread.js';
import type { ActivityService } from '../core/activity.js';
import type { ApplicationService } from '../core/applications.js';
import type { DeliveryControlService } from '../core/delivery-control.js';
import { NotAuthenticatedError } from '../core/errors.js';
import type { FunctionInvoker, FunctionService } from '../core/functions.js';
import type { SubscriptionLinks } from '../core/links.js';
import type { MessageService } from '../core/messages.js';
import type { SubscriptionService } from '../core/subscriptions.js';
import type { TopicService } from '../core/topics.js';
import type { CompartmentService } from '../core/iam/compartment-service.js';
import type { GroupService } from '../core/iam/groups.js';
import type { PolicyService } from '../core/iam/policies.js';
import type { UserService } from '../core/iam/users.js';
import type { Tracing } from '../telemetry/tracing.js';

/**
 * What routes are given, in a leaf module: route files (and the console's, mounted by the composition root) import
 * from here, never from the server that registers them (src/api/http-server.ts).
 */

export interface IamServices {
  users: UserService;
  groups: GroupService;
  policies: PolicyService;
  compartments: CompartmentService;
}

export interface ApiDeps {
  topics: TopicService;
  subscriptions: SubscriptionService;
  messages: MessageService;
  /** OCI Functions management (applications, functions, bundles). */
  applications: ApplicationService;
  functions: FunctionService;
  /** Runs functions for the invoke route; the process runtime implements it. */
  functionInvoker: FunctionInvoker;
  links: SubscriptionLinks;
  publicKeys: PublicKeyLookup;
  /** Where publishes' RSA checks go off the event loop (absent: a thread of their own, rsa-check.ts). */
  verifyThread?: VerifyThread;
  /** OCI Identity: users, groups, policies, compartments (each call authorized by policy). */
  iam: IamServices;
  /** Traces, dead letters, recent messages, mailbox, signing secrets. */
  activity: ActivityService;
  /** Filter policies, endpoint health, replay and rate limits. */
  deliveryControl: DeliveryControlService;
  /** The origin clients reach Herald at; it is the topic's apiEndpoint. */
  publicUrl: () => string;
  /** Tells the delivery engine that work may be due (after a re-drive). */
  wakeDelivery: () => void;
  /** Prometheus exposition for /metrics. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  logger: Logger;
  /** Spans for publishes (absent: no tracing). */
  tracing?: Tracing;
}

/**
 * Authenticates a request on a guarded route by something other than an OCI signature (the web console's session
 * cookie): sets `req.caller` and answers true, answers false when the request does not carry that credential (the
 * signature check then runs), or throws (NotAuthenticatedError) when it carries a bad one.
 */
export type SessionAuth = (req: FastifyRequest) => Promise<boolean>;

/**
 * What the composition root mounts on the API server beside the API itself (the web console), so that src/api
 * depends on nothing it serves. Each part runs at a fixed point of the server's construction.
 */
export interface ServerExtension {
  /** Registered first, before the authentication hook: plugins whose request decorations sessionAuth reads (cookies). */
  plugins?: (app: FastifyInstance) => void;
  /** Tried before the signature on every guarded route that is not `unsigned`. */
  sessionAuth?: SessionAuth;
  /** Registered after the API's own routes, behind the same authentication hook and error path. */
  routes?: (app: FastifyInstance) => void;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The URL exactly as the client sent it, before rewriting: the signature covers it. */
    signedUrl: string;
    /** The headers a verified signature covered; its body half is checked once the body has arrived. */
    signedHeaders: ReadonlySet<string> | null;
  }
  interface FastifyContextConfig {
    /** Routes whose authority is a token in the URL rather than a signature. */
    unsigned?: boolean;
    /**
     * The publish route: its requests' RSA checks may go to the verify thread under load (rsa-check.ts).
     * Every other route checks on the event loop.
     */
    signatureCheckOffLoop?: boolean;
  }
}

/** The authenticated caller; routes behind the signature hook always have one. */
export function callerOf(req: FastifyRequest): Caller {
  if (req.caller === null) throw new NotAuthenticatedError();
  return req.caller;
}
