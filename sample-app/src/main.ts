import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { FailureStrategy } from 'nest-redis-rate-limit';
import { AppModule, type SampleAppSettings } from './app.module.js';
import { startMetrics } from './metrics.js';
import { parseRateLimitMode } from './rate-limit-mode.js';
import { redisFromEnv } from './redis-env.js';
import { startSoakReport } from './soak-report.js';
import { parseTrustProxy } from './trust-proxy.js';

async function bootstrap(): Promise<void> {
  // Before the app is created: the rate limiter reads the MeterProvider when it starts.
  await startMetrics(process.env.METRICS_PORT);
  const redis = redisFromEnv(process.env);
  const timeoutMs = process.env.RATE_LIMIT_TIMEOUT_MS;
  const maxKeys = process.env.RATE_LIMIT_MEMORY_MAX_KEYS;
  // The module checks both: a bad value stops the app with a RateLimitConfigError.
  const strategy = process.env.RATE_LIMIT_FAILURE_STRATEGY;
  const instances = process.env.RATE_LIMIT_INSTANCES;
  const settings: SampleAppSettings = {
    ...(redis === undefined ? {} : { redis }),
    ...(timeoutMs ? { timeoutMs: Number(timeoutMs) } : {}),
    ...(parseRateLimitMode(process.env.RATE_LIMIT_MODE) === 'plain' ? { denyCache: false } : {}),
    ...(maxKeys ? { memoryStoreMaxKeys: Number(maxKeys) } : {}),
    ...(strategy ? { failureStrategy: strategy as FailureStrategy } : {}),
    ...(instances ? { instances: instances === 'auto' ? 'auto' : Number(instances) } : {}),
  };
  // GraphQL (Apollo) and the socket.io gateway share the Express server and its port.
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.register(settings, { graphql: true, gateway: true }),
  );
  // Only behind a proxy you run: otherwise clients pick their own IP with X-Forwarded-For.
  const trustProxy = parseTrustProxy(process.env.TRUST_PROXY);
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
  app.enableShutdownHooks();
  if (process.env.SOAK_REPORT === '1') startSoakReport(app);

  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const logger = new Logger('SampleApp');
  logger.log(
    `Listening on http://localhost:${port} (${settings.redis ? 'Redis' : 'memory store'})`,
  );
  logger.log(`GraphQL: POST http://localhost:${port}/graphql; socket.io: namespace /echo`);
}

await bootstrap();
