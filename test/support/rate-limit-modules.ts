import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { RateLimitModule, type RateLimitModuleOptions } from 'nest-redis-rate-limit';

/**
 * The `timeoutMs` of the tests' modules unless a test is about timeouts: a loaded machine can take
 * over the default 100 ms, and the failure strategy would then answer a test that is not about it.
 */
export const TEST_TIMEOUT_MS = 2_000;

/**
 * RateLimitModules for one describe block, each with its own key prefix (unless given), no global
 * guard and TEST_TIMEOUT_MS (unless given), initialised, and closed after each test; registers
 * that afterEach hook.
 */
export function useRateLimitModules(): (options: RateLimitModuleOptions) => Promise<TestingModule> {
  const modules: TestingModule[] = [];
  afterEach(async () => {
    await Promise.all(modules.splice(0).map((moduleRef) => moduleRef.close()));
  });
  return async (options) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({
          keyPrefix: `test:${randomUUID()}:`,
          global: false,
          timeoutMs: TEST_TIMEOUT_MS,
          ...options,
        }),
      ],
    }).compile();
    await moduleRef.init();
    modules.push(moduleRef);
    return moduleRef;
  };
}
