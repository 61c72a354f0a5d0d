import { BadRequestException, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConcurrencyLimit, RateLimit } from 'nest-redis-rate-limit';

/** The longest report the sample builds, so a request never holds its slot for long. */
const MAX_REPORT_MS = 10_000;

/**
 * A slow, expensive endpoint: what exhausts a server is how many of these run at once, not how
 * often they start. So it has an in-flight limit (2 reports per IP at a time, across every
 * instance) beside a rate limit (10 a minute). A third report while two run gets 429 with
 * `Retry-After: 1`, and gets its rate charge back. The slot lease is short (5 s, renewed while a
 * report runs) so that the slots of an instance that dies come back within 5 s.
 */
@Controller('reports')
export class ReportsController {
  @ConcurrencyLimit({ max: 2, keyBy: 'ip', leaseMs: 5_000 })
  @RateLimit({ capacity: 10, refill: '10/min', keyBy: 'ip' })
  @HttpCode(201)
  @Post()
  async build(@Query('ms') ms?: string): Promise<{ builtInMs: number }> {
    const builtInMs = ms === undefined ? 1_000 : Number(ms);
    if (!Number.isInteger(builtInMs) || builtInMs < 0 || builtInMs > MAX_REPORT_MS) {
      throw new BadRequestException(`ms must be an integer from 0 to ${MAX_REPORT_MS}`);
    }
    await sleep(builtInMs);
    return { builtInMs };
  }
}
