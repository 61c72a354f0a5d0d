import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The 429 the guard throws for a denied request. Body:
 * `{ statusCode: 429, message: 'Too Many Requests', retryAfter }`, retryAfter in whole seconds
 * (-1 when the request can never pass because its cost exceeds the capacity).
 *
 * @publicApi
 */
export class TooManyRequestsException extends HttpException {
  constructor(readonly retryAfter: number) {
    super(
      { statusCode: HttpStatus.TOO_MANY_REQUESTS, message: 'Too Many Requests', retryAfter },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
