import { matchesFilterPolicy, parseFilterPolicy, parseMessageBody, type CompiledFilterPolicy, type ParsedBody } from '../core/filter-policy/index.js';
import type { Message } from '../core/models.js';

/** Compiled policies kept (by their text); a policy is small, but tenants can make many. */
const POLICY_CACHE = 10_000;

/**
 * Filter-policy checks on the delivery path: each policy is compiled once (by its text, so an
 * edited policy is a new entry) and each message body parsed once, whatever the number of
 * subscriptions evaluating it.
 */
export class FilterCache {
  private readonly policies = new Map<string, CompiledFilterPolicy | null>();
  private readonly bodies = new WeakMap<Message, ParsedBody>();

  /** Whether the message passes the policy; a stored policy that no longer compiles refuses everything. */
  matches(policyText: string, message: Message): boolean {
    const policy = this.policy(policyText);
    if (policy === null) return false;
    let body = this.bodies.get(message);
    if (body === undefined) {
      body = parseMessageBody(message.body);
      this.bodies.set(message, body);
    }
    return matchesFilterPolicy(policy, body);
  }

  private policy(text: string): CompiledFilterPolicy | null {
    let p = this.policies.get(text);
    if (p !== undefined) return p;
    try {
      p = parseFilterPolicy(text);
    } catch {
      // Policies are validated when set, so only a change of the rules between versions gets here.
      p = null;
    }
    if (this.policies.size >= POLICY_CACHE) this.policies.delete(this.policies.keys().next().value as string);
    this.policies.set(text, p);
    return p;
  }
}
