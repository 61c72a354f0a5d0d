import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { RateLimitModule, type RateLimitModuleOptions } from 'nest-redis-rate-limit';

/**
 * RateLimitModules for one describe block, each with its own key prefix (unless given) and no
 * global guard, initialised, and closed after each test; registers that afterEach hook.
 */
export function useRateLimitModules(): (options: RateLimitModuleOptions) => Promise<TestingModule> {
  const modules: TestingModule[] = [];
  afterEach(async () => {
    await Promise.all(modules.splice(0).map((moduleRef) => moduleRef.close()));
  });
  return async (options) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RateLimitModule.forRoot({ keyPrefix: `test:${randomUUID()}:`, global: false, ...options }),
      ],
    }).compile();
    await moduleRef.init();
    modules.push(moduleRef);
    return moduleRef;
  };
}
