/**
 * Every failure Herald reports is one of these classes. Each carries the OCI
 * service code it surfaces as; the HTTP status for each code lives in exactly
 * one table (`src/api/errors.ts`), so the domain stays free of HTTP.
 */
export type OciErrorCode =
  | 'InvalidParameter'
  | 'MissingParameter'
  | 'CannotParseRequest'
  | 'LimitExceeded'
  | 'RelatedResourceNotAuthorizedOrNotFound'
  | 'NotAuthenticated'
  | 'NotAuthorizedOrNotFound'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'IncorrectState'
  | 'InvalidatedRetryToken'
  | 'NoEtagMatch'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'RequestTimeout'
  | 'RequestHeaderFieldsTooLarge'
  | 'InternalServerError'
  // A failed function invoke whose function gave no body of its own (OCI's exact names are unpublished).
  | 'FunctionInvokeFailed'
  | 'FunctionInvokeExecutionFailed'
  | 'ServiceUnavailable'
  | 'FunctionInvokeTimeout';

export class HeraldError extends Error {
  readonly code: OciErrorCode;
  constructor(code: OciErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidParameterError extends HeraldError {
  constructor(message: string) {
    super('InvalidParameter', message);
  }
}

export class MissingParameterError extends HeraldError {
  constructor(name: string) {
    super('MissingParameter', `Missing required parameter: ${name}.`);
  }
}

export class CannotParseRequestError extends HeraldError {
  constructor(message = 'The request body could not be parsed as JSON.') {
    super('CannotParseRequest', message);
  }
}

export class NotAuthenticatedError extends HeraldError {
  constructor(message = 'The required information to complete authentication was not provided or was incorrect.') {
    super('NotAuthenticated', message);
  }
}

/** OCI deliberately does not distinguish "missing" from "not yours". */
export class NotFoundError extends HeraldError {
  constructor(what: string, id: string) {
    super('NotAuthorizedOrNotFound', `${what} ${id} not found or not authorized.`);
  }
}

/** A refused call whose target has no name to give: OCI answers it exactly like a missing resource. */
export class NotAuthorizedOrNotFoundError extends HeraldError {
  constructor(message = 'Authorization failed or requested resource not found.') {
    super('NotAuthorizedOrNotFound', message);
  }
}

export class RelatedResourceNotFoundError extends HeraldError {
  constructor(what: string, id: string) {
    super('RelatedResourceNotAuthorizedOrNotFound', `${what} ${id} not found or not authorized.`);
  }
}

export class ConflictError extends HeraldError {
  constructor(message: string) {
    super('Conflict', message);
  }
}

export class IncorrectStateError extends HeraldError {
  constructor(message: string) {
    super('IncorrectState', message);
  }
}

export class InvalidatedRetryTokenError extends HeraldError {
  constructor() {
    super('InvalidatedRetryToken', 'The opc-retry-token was already used with a different request.');
  }
}

export class NoEtagMatchError extends HeraldError {
  constructor(id: string) {
    super('NoEtagMatch', `The if-match etag does not match the current etag of ${id}.`);
  }
}

export class PayloadTooLargeError extends HeraldError {
  constructor(message: string) {
    super('PayloadTooLarge', message);
  }
}

export class TooManyRequestsError extends HeraldError {
  /** Seconds the client should wait; surfaced as Retry-After. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('TooManyRequests', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class LimitExceededError extends HeraldError {
  constructor(message: string) {
    super('LimitExceeded', message);
  }
}
