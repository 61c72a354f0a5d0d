import { Controller, Get } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';

/** A route anyone may call, limited per client IP: 5 requests at once, then one every 12 s. */
@Controller('public')
export class PublicController {
  @RateLimit({ capacity: 5, refill: '5/min', keyBy: 'ip' })
  @Get()
  hello(): { message: string } {
    return { message: 'Hello from a rate-limited public route' };
  }
}
