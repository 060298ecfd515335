import type { ConsoleStore } from './console-store.js';
import type { FunctionStore } from './function-store.js';
import type { DeliveryStore } from './store.js';

/**
 * Each backend keeps the delivery, functions and console queries in their own
 * modules; the store classes expose them by forwarding, installed here once for
 * both backends instead of a hand-written forwarder per method per class.
 */

/** Lists an interface's method names; fails to compile if one is missing or misspelt. */
function allMethods<T>() {
  return <const N extends readonly (keyof T & string)[]>(names: N & ([Exclude<keyof T, N[number]>] extends [never] ? unknown : never)): N => names;
}

export const DELIVERY_STORE_METHODS = allMethods<DeliveryStore>()([
  'publishMessages', 'claimFanout', 'fanoutBatch', 'fanoutMany', 'insertDeliveries', 'claimDeliveries', 'releaseClaims',
  'completeAttempts', 'nextDueAt', 'getMessagesByIds', 'getSubscriptionsByIds', 'getTopicsByIds', 'getMessageDeliveries', 'listRecentMessages',
  'countRecentMessages', 'listDeadLetters', 'redrive', 'countDeliveries', 'countTenancy', 'insertMail', 'listMail', 'onWake', 'wake',
]);

export const FUNCTION_STORE_METHODS = allMethods<FunctionStore>()([
  'insertApplication', 'getApplication', 'listApplications', 'replaceApplication', 'deleteApplication', 'insertFunction',
  'getFunction', 'getFunctionById', 'listFunctions', 'replaceFunction', 'deleteFunction', 'putBundle', 'getBundle',
  'ownsBundle', 'insertFunctionCall', 'listFunctionCalls',
]);

export const CONSOLE_STORE_METHODS = allMethods<ConsoleStore>()([
  'insertConsoleUserIfAbsent', 'getConsoleUser', 'setConsolePassword', 'countConsoleUsers', 'findUserIdByName',
  'insertConsoleSession', 'getConsoleSession', 'deleteConsoleSession',
]);

type Part = Record<string, (...args: unknown[]) => unknown>;

/** Defines `proto[name](...args)` as `this[field][name](...args)` for every name. */
export function forwardTo(proto: object, field: string, names: readonly string[]): void {
  for (const name of names) {
    Object.defineProperty(proto, name, {
      value: function (this: Record<string, Part>, ...args: unknown[]) {
        return this[field]![name]!(...args);
      },
      writable: true,
      configurable: true,
    });
  }
}
