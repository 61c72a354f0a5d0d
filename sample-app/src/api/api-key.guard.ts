import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { planOf } from './api-keys.js';

/** Rejects requests without a known `x-api-key` with 401. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (planOf(context) === undefined)
      throw new UnauthorizedException('Unknown or missing x-api-key');
    return true;
  }
}
