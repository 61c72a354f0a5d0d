import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';

interface Credentials {
  readonly username?: unknown;
  readonly password?: unknown;
}

/**
 * Login is where guessing happens, so its limit is strict (3 attempts per IP, one more every
 * 20 s) and fails closed: when Redis is down it answers 503 rather than allow unlimited guesses.
 */
@Controller('auth')
export class AuthController {
  @RateLimit({ capacity: 3, refill: '3/min', keyBy: 'ip', failureStrategy: 'closed' })
  @HttpCode(200)
  @Post('login')
  login(@Body() body: Credentials | undefined): { token: string } {
    if (body?.username !== 'demo' || body.password !== 'demo') {
      throw new UnauthorizedException('Wrong username or password');
    }
    return { token: 'demo-token' };
  }
}
