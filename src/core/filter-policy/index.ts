// The SNS subscription filter-policy language (MessageBody scope): compile a policy once, evaluate it per message.
export { compileFilterPolicy } from './compile.js';
export { matchesFilterPolicy } from './match.js';
export type { ParsedBody } from './match.js';
export type { CompiledFilterPolicy } from './model.js';
export { FILTER_POLICY_MAX_BYTES, parseFilterPolicy, parseMessageBody } from './parse.js';
