import type { OciErrorCode } from '../core/errors.js';

/** The one place where an OCI service code becomes an HTTP status. */
export const STATUS_BY_CODE: Readonly<Record<OciErrorCode, number>> = {
  InvalidParameter: 400,
  MissingParameter: 400,
  CannotParseRequest: 400,
  LimitExceeded: 400,
  RelatedResourceNotAuthorizedOrNotFound: 400,
  NotAuthenticated: 401,
  NotAuthorizedOrNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  IncorrectState: 409,
  InvalidatedRetryToken: 409,
  NoEtagMatch: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  RequestTimeout: 408,
  RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500,
  FunctionInvokeFailed: 500,
  FunctionInvokeExecutionFailed: 502,
  ServiceUnavailable: 503,
  FunctionInvokeTimeout: 504,
};

export interface OciErrorBody {
  code: OciErrorCode;
  message: string;
}

/** Fastify's own errors, by their code, translated into OCI's vocabulary. */
export function fromFrameworkError(err: { code?: string; statusCode?: number; message: string }): OciErrorBody | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'PayloadTooLarge', message: 'The request body is too large.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'CannotParseRequest', message: err.message };
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return { code: 'InvalidParameter', message: 'The request URL is malformed.' };
    // fastify's own 414, answered 400 (no OCI error code maps to 414). Its message quotes the whole URL back,
    // kilobytes of it: keep the wording (clients may match it), cut the URL short.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: 'InvalidParameter', message: err.message.replace(/^'([^']*)'/, (whole, url: string) => (url.length > 80 ? `'${url.slice(0, 80)}…'` : whole)) };
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return { code: 'InvalidParameter', message: err.message };
      }
      return undefined;
  }
}
