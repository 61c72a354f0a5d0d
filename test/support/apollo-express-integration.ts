import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { jest } from '@jest/globals';
import {
  type ApolloServer,
  type BaseContext,
  HeaderMap,
  type HTTPGraphQLRequest,
} from '@apollo/server';

/** The package @nestjs/apollo loads to serve GraphQL on Express 5. */
const INTEGRATION = '@as-integrations/express5';

type ExpressRequest = IncomingMessage & { body?: unknown; url: string; method: string };
type ContextFunction = (argument: {
  req: ExpressRequest;
  res: ServerResponse;
}) => Promise<BaseContext>;

/**
 * What `expressMiddleware` of @as-integrations/express5 does: the context function gets
 * `{ req, res }`, the response headers and status come from Apollo, the body is written whole.
 */
function expressMiddleware(
  server: ApolloServer<BaseContext>,
  options: { context?: ContextFunction } = {},
) {
  const context: ContextFunction = options.context ?? (() => Promise.resolve({}));
  return (req: ExpressRequest, res: ServerResponse, next: (error: unknown) => void): void => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const queryAt = req.url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: req.method.toUpperCase(),
      headers,
      search: queryAt === -1 ? '' : req.url.slice(queryAt),
      body: req.body,
    };
    server
      .executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context({ req, res }) })
      .then(async (response) => {
        for (const [name, value] of response.headers) res.setHeader(name, value);
        res.statusCode = response.status ?? 200;
        if (response.body.kind === 'complete') {
          res.end(response.body.string);
          return;
        }
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      })
      .catch(next);
  };
}

/**
 * @nestjs/apollo serves Express through @as-integrations/express5, which is not among the
 * devDependencies: without it ApolloDriver calls process.exit(1) when the app starts. Until it
 * is added, this registers a stand-in for it (a virtual module), so apps use the stock
 * ApolloDriver with its default configuration. Does nothing once the package is installed.
 * Call before the first Apollo app starts (the driver imports the package then).
 */
export function provideApolloExpressIntegration(): void {
  try {
    createRequire(import.meta.url).resolve(INTEGRATION);
    return;
  } catch {
    jest.unstable_mockModule(INTEGRATION, () => ({ expressMiddleware }), { virtual: true });
  }
}
