import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { RateLimit } from 'nest-redis-rate-limit';

interface Credentials {
  readonly username?: unknown;
  readonly password?: unknown;
}

/**
 * Login is where guessing happens, so its limit is strict (3 failed attempts per IP, one more
 * every 20 s) and fails closed: when Redis is down it answers 503 rather than allow unlimited
 * guesses. It counts failed logins only (`chargeOn: 'failure'`): a user who logs in often is
 * never locked out, while a guesser is stopped after 3 wrong passwords, right one included.
 */
@Controller('auth')
export class AuthController {
  @RateLimit({
    capacity: 3,
    refill: '3/min',
    keyBy: 'ip',
    failureStrategy: 'closed',
    chargeOn: 'failure',
  })
  @HttpCode(200)
  @Post('login')
  login(@Body() body: Credentials | undefined): { token: string } {
    if (body?.username !== 'demo' || body.password !== 'demo') {
      throw new UnauthorizedException('Wrong username or password');
    }
    return { token: 'demo-token' };
  }
}
