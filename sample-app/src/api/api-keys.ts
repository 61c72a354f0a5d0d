import type { ExecutionContext } from '@nestjs/common';

export type Plan = 'free' | 'pro';

/** The sample's key table. A real app would look keys up in its database (and cache them). */
const API_KEYS: ReadonlyMap<string, Plan> = new Map([
  ['free-key-1', 'free'],
  ['free-key-2', 'free'],
  ['pro-key-1', 'pro'],
]);

/** The plan of an `x-api-key` header value, or undefined when it is missing or unknown. */
export function planOfKey(header: unknown): Plan | undefined {
  return typeof header === 'string' ? API_KEYS.get(header) : undefined;
}

/** The plan of the request's `x-api-key`, or undefined when the key is missing or unknown. */
export function planOf(context: ExecutionContext): Plan | undefined {
  return planOfKey(
    context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-api-key'],
  );
}
