import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { RateLimit } from 'nest-redis-rate-limit';

/**
 * A socket.io gateway on the app's HTTP server, namespace `/echo` (socket.io's default path,
 * `/socket.io/`). Each message is one request: 3 at once per IP, one more every 3⅓ s. A denied
 * message gets no acknowledgement; the client receives the `exception` event
 * `{ status: 'error', statusCode: 429, message: 'Too Many Requests', retryAfter }` instead.
 */
@WebSocketGateway({ namespace: '/echo' })
export class EchoGateway {
  private echoed = 0;

  @RateLimit({ name: 'echo', capacity: 3, refill: { tokens: 3, intervalMs: 10_000 }, keyBy: 'ip' })
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): { echo: unknown; echoed: number } {
    return { echo: data ?? null, echoed: ++this.echoed };
  }
}
