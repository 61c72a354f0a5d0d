import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';
import { EVENTS_LIMIT } from './event-limits.js';

/** Accepts a batch of telemetry events; storing them is out of the sample's scope. */
@Controller('events')
export class EventsController {
  @RateLimit(EVENTS_LIMIT)
  @Post()
  @HttpCode(202)
  ingest(@Body() events: unknown): { accepted: number } {
    return { accepted: Array.isArray(events) ? events.length : 0 };
  }
}
