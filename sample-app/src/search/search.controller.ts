import { Controller, Get, Query } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';
import { SEARCH_LIMITS } from './search-limits.js';

@Controller('search')
export class SearchController {
  @RateLimit(SEARCH_LIMITS)
  @Get()
  search(@Query('q') query = ''): { query: string; results: string[] } {
    return { query, results: [] };
  }

  @RateLimit(SEARCH_LIMITS)
  @Get('suggest')
  suggest(@Query('q') query = ''): { query: string; suggestions: string[] } {
    return { query, suggestions: query === '' ? [] : [`${query}*`] };
  }
}
