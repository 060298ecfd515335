/** Builds the protocol handlers the dispatcher looks up by a subscription's protocol. */
import type { FunctionInvoker } from '../../core/functions.js';
import type { Protocol } from '../../core/models.js';
import type { MailSink } from '../mail-sink.js';
import type { ProtocolHandler } from '../protocol.js';
import { EmailHandler } from './email.js';
import { FunctionsHandler, type FunctionLookup } from './functions.js';
import { buildHttpHandlers, registryOf, type HttpHandlerDeps } from './http-handlers.js';

export interface ProtocolRegistryDeps extends HttpHandlerDeps {
  mailSink: MailSink;
  mailFrom: string;
  /** ORACLE_FUNCTIONS: finds a subscription's function and runs it; without it the protocol has no handler. */
  functions?: { lookup: FunctionLookup; invoker: FunctionInvoker };
  /**
   * Wraps each HTTP handler, e.g. to make its sends on a delivery thread (SendThreads.wrap); without it
   * they send on the calling thread.
   */
  wrapHttp?: (handler: ProtocolHandler) => ProtocolHandler;
}

/**
 * One handler object may serve several protocols (CUSTOM_HTTPS and HTTPS). The handlers
 * share HTTP clients, and closing is idempotent, so a caller can simply close every value
 * of the map at shutdown; that also closes the mail sink.
 */
export function buildProtocolRegistry(deps: ProtocolRegistryDeps): Map<Protocol, ProtocolHandler> {
  const wrap = deps.wrapHttp ?? ((h: ProtocolHandler) => h);
  const handlers: ProtocolHandler[] = [
    ...buildHttpHandlers(deps).map(wrap),
    new EmailHandler({ mailSink: deps.mailSink, mailFrom: deps.mailFrom }),
  ];
  if (deps.functions !== undefined) handlers.push(new FunctionsHandler(deps.functions.lookup, deps.functions.invoker));
  return registryOf(handlers);
}
