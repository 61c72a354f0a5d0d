import { Reflector } from '@nestjs/core';
import type { ResolvedLimit } from '../options/resolved-limit.interface.js';

/** Limits of a class or handler, already validated by @RateLimit. */
export const LimitsMetadata = Reflector.createDecorator<readonly ResolvedLimit[]>();

/** Set by @SkipRateLimit. */
export const SkipMetadata = Reflector.createDecorator<boolean>();
