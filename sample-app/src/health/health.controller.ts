import { Controller, Get } from '@nestjs/common';
import { SkipRateLimit } from 'nest-redis-rate-limit';

/** Probed by load balancers many times a second: never limited, and sends no RateLimit headers. */
@Controller('health')
export class HealthController {
  @SkipRateLimit()
  @Get()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
