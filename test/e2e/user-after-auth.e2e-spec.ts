import { randomUUID } from 'node:crypto';
import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type NestMiddleware,
  type NestModule,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { RateLimit, RateLimitModule } from 'nest-redis-rate-limit';
import {
  ADAPTERS,
  type AdapterName,
  createApp,
  listenApp,
  type RunningApp,
} from '../support/app-factory.js';
import { CaptureLogger } from '../support/capture-logger.js';
import { TEST_TIMEOUT_MS } from '../support/rate-limit-modules.js';

type AuthRequest = {
  headers: Record<string, string | string[] | undefined>;
  user?: { id: string };
};

/** The app's own authentication: `authorization: Bearer <name>` makes req.user `{ id: name }`. */
function authenticate(req: AuthRequest): void {
  const header = req.headers['authorization'];
  const match = typeof header === 'string' ? /^Bearer (\w+)$/.exec(header) : null;
  if (match !== null) req.user = { id: match[1]! };
}

/** Lets anonymous requests through too, so the limit's fallback can be seen. */
@Injectable()
class BearerAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    authenticate(context.switchToHttp().getRequest<AuthRequest>());
    return true;
  }
}

@Injectable()
class BearerAuthMiddleware implements NestMiddleware {
  use(req: AuthRequest, _res: unknown, next: () => void): void {
    authenticate(req);
    next();
  }
}

const PER_USER = { capacity: 2, refill: '1/min', keyBy: 'user' } as const;

@Controller('controller-auth')
@UseGuards(BearerAuthGuard)
class ControllerAuthController {
  @RateLimit(PER_USER)
  @Get()
  get() {
    return 'ok';
  }
}

/** keyBy 'user' on routes where the app attaches no user at all. */
@Controller('anonymous')
class AnonymousController {
  @RateLimit(PER_USER)
  @Get()
  get() {
    return 'ok';
  }

  @RateLimit(PER_USER)
  @Get('other')
  other() {
    return 'ok';
  }
}

@Controller('global-auth')
class GlobalAuthController {
  @RateLimit(PER_USER)
  @Get()
  get() {
    return 'ok';
  }
}

/** Authentication as a global guard, from a module the app imports after RateLimitModule. */
@Module({ providers: [{ provide: APP_GUARD, useClass: BearerAuthGuard }] })
class GlobalAuthModule {}

@Controller('middleware-auth')
class MiddlewareAuthController {
  @RateLimit(PER_USER)
  @Get()
  get() {
    return 'ok';
  }
}

@Controller('function-key')
@UseGuards(BearerAuthGuard)
class FunctionKeyController {
  @RateLimit({
    capacity: 2,
    refill: '1/min',
    keyBy: (context) => context.switchToHttp().getRequest<AuthRequest>().user?.id,
  })
  @Get()
  get() {
    return 'ok';
  }
}

interface AppShape {
  readonly controllers: Type[];
  readonly imports?: Type[];
  /** Bind BearerAuthMiddleware to these controllers. */
  readonly middlewareFor?: Type[];
}

async function start(
  adapter: AdapterName,
  shape: AppShape,
  logger: CaptureLogger,
): Promise<RunningApp> {
  const imports = [
    RateLimitModule.forRoot({
      redis: process.env.REDIS_URL!,
      timeoutMs: TEST_TIMEOUT_MS,
      keyPrefix: `e2e:${randomUUID()}:`,
    }),
    ...(shape.imports ?? []),
  ];
  @Module({ imports, controllers: shape.controllers })
  class TestModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      if (shape.middlewareFor !== undefined) {
        consumer.apply(BearerAuthMiddleware).forRoutes(...shape.middlewareFor);
      }
    }
  }
  const app = await createApp(adapter, { module: TestModule });
  app.useLogger(logger);
  return listenApp(app);
}

/** The status of one request per entry, in order, as that user (undefined: anonymous). */
async function statuses(url: string, path: string, users: (string | undefined)[]) {
  const result: number[] = [];
  for (const user of users) {
    const call = request(url).get(path);
    if (user !== undefined) void call.set('Authorization', `Bearer ${user}`);
    result.push((await call).status);
  }
  return result;
}

const ALICE_THEN_BOB = ['alice', 'alice', 'alice', 'bob', 'bob', 'bob'];
const SEPARATE_BUCKETS = [200, 200, 429, 200, 200, 429];

const AUTH_BINDINGS: [string, string, AppShape][] = [
  ['a controller guard', '/controller-auth', { controllers: [ControllerAuthController] }],
  [
    'a global guard of a module imported after RateLimitModule',
    '/global-auth',
    { controllers: [GlobalAuthController], imports: [GlobalAuthModule] },
  ],
  [
    'a middleware',
    '/middleware-auth',
    { controllers: [MiddlewareAuthController], middlewareFor: [MiddlewareAuthController] },
  ],
];

describe.each(ADAPTERS)("keyBy 'user' after the app's authentication on %s", (adapter) => {
  let running: RunningApp | undefined;
  let logger: CaptureLogger;

  beforeEach(() => {
    logger = new CaptureLogger();
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it.each(AUTH_BINDINGS)(
    'sees the user that %s attached: alice is limited, bob from the same IP has his own bucket',
    async (_binding, path, shape) => {
      running = await start(adapter, shape, logger);
      expect(await statuses(running.url, path, ALICE_THEN_BOB)).toEqual(SEPARATE_BUCKETS);
    },
  );

  it('re-runs a keyBy function that found no user once the controller guard has attached one', async () => {
    running = await start(adapter, { controllers: [FunctionKeyController] }, logger);
    expect(await statuses(running.url, '/function-key', ALICE_THEN_BOB)).toEqual(SEPARATE_BUCKETS);
  });

  it('limits anonymous requests by IP, in a bucket apart from the users', async () => {
    running = await start(adapter, { controllers: [ControllerAuthController] }, logger);
    const anonymous = [undefined, undefined, undefined];
    expect(await statuses(running.url, '/controller-auth', anonymous)).toEqual([200, 200, 429]);
    expect(await statuses(running.url, '/controller-auth', ['alice'])).toEqual([200]);
  });

  it('logs the fall back to the IP once per route', async () => {
    running = await start(adapter, { controllers: [AnonymousController] }, logger);
    const anonymous = [undefined, undefined, undefined];
    expect(await statuses(running.url, '/anonymous', anonymous)).toEqual([200, 200, 429]);
    expect(await statuses(running.url, '/anonymous/other', anonymous)).toEqual([200, 200, 429]);
    expect(logger.containing('AnonymousController.get')).toHaveLength(1);
    expect(logger.containing('AnonymousController.other')).toHaveLength(1);
  });
});
