import { HttpException, HttpStatus } from '@nestjs/common';
import { FAIL_CLOSED_RETRY_AFTER_MS } from '../options/defaults.js';

/**
 * The 503 of a fail-closed limit whose store failed or timed out. Body:
 * `{ statusCode: 503, message: 'Service Unavailable', retryAfter: 1 }`.
 *
 * @publicApi
 */
export class RateLimitUnavailableException extends HttpException {
  constructor(cause?: Error) {
    super(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        message: 'Service Unavailable',
        retryAfter: FAIL_CLOSED_RETRY_AFTER_MS / 1000,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
      cause === undefined ? undefined : { cause },
    );
  }
}
