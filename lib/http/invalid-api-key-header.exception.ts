import { BadRequestException } from '@nestjs/common';

/** Longest `x-api-key` the `'apiKey'` identity accepts; longer headers get a 400. */
export const MAX_API_KEY_LENGTH = 512;

/** Why an `x-api-key` header was refused. */
type ApiKeyHeaderProblem = 'too-long' | 'repeated';

const MESSAGES: Readonly<Record<ApiKeyHeaderProblem, string>> = {
  'too-long': `x-api-key header must be at most ${MAX_API_KEY_LENGTH} characters`,
  repeated: 'x-api-key header must be sent once, as a single value without commas',
};

/**
 * The 400 the guard throws for an `x-api-key` header the `'apiKey'` identity refuses: longer
 * than MAX_API_KEY_LENGTH, or sent several times. The message names the header and the rule,
 * never the key itself.
 *
 * @publicApi
 */
export class InvalidApiKeyHeaderException extends BadRequestException {
  constructor(readonly problem: ApiKeyHeaderProblem) {
    super(MESSAGES[problem]);
  }
}
