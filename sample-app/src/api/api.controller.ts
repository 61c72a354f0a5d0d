import { Controller, Get, UseGuards } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';
import { ApiKeyGuard } from './api-key.guard.js';
import { PLAN_LIMITS } from './plan-limits.js';

/** An API for key holders: the Free plan gets 5 requests a minute, Pro 100, per key. */
@Controller('api')
@RateLimit(PLAN_LIMITS)
@UseGuards(ApiKeyGuard)
export class ApiController {
  @Get('quote')
  quote(): { quote: string } {
    return { quote: 'Simplicity is prerequisite for reliability.' };
  }
}
