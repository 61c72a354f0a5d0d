import { io } from 'socket.io-client';
import WebSocket from 'ws';

/** What a gateway answered to one message: the handler's reply, or its exception event. */
export interface GatewayReply {
  readonly kind: 'reply' | 'exception';
  readonly data: unknown;
}

export interface GatewayClient {
  /** Sends one message and waits for its answer; one message at a time. */
  call(event: string, data?: unknown): Promise<GatewayReply>;
  close(): void;
}

export interface ConnectOptions {
  /** Given to the app's connection hook, which attaches it as the client's user. */
  readonly user?: string;
  /** Extra handshake headers, e.g. X-Forwarded-For. */
  readonly headers?: Record<string, string>;
}

/** A bound on every wait, so a missing answer fails the test instead of hanging it. */
const ANSWER_TIMEOUT_MS = 5_000;

function bounded<T>(what: string, executor: (resolve: (value: T) => void) => () => void) {
  return new Promise<T>((resolve, reject) => {
    let cleanUp = (): void => {};
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`no answer to ${what} within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    cleanUp = executor((value) => {
      clearTimeout(timer);
      cleanUp();
      resolve(value);
    });
  });
}

/**
 * A socket.io client of the app at `url` (http://host:port), over websocket. `user` goes in the
 * handshake's `auth`. A reply is the handler's acknowledgement; an exception is the 'exception'
 * event Nest's BaseWsExceptionFilter emits.
 */
export async function connectSocketIo(
  url: string,
  options: ConnectOptions = {},
): Promise<GatewayClient> {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: ANSWER_TIMEOUT_MS,
    auth: options.user === undefined ? {} : { user: options.user },
    extraHeaders: options.headers ?? {},
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  return {
    call: (event, data = {}) =>
      bounded<GatewayReply>(`socket.io '${event}'`, (resolve) => {
        const onException = (payload: unknown) => resolve({ kind: 'exception', data: payload });
        socket.once('exception', onException);
        socket.emit(event, data, (reply: unknown) => resolve({ kind: 'reply', data: reply }));
        return () => socket.off('exception', onException);
      }),
    close: () => socket.close(),
  };
}

/**
 * A `ws` client of the gateway at `path` of the app at `url`; `user` goes in the query string.
 * Messages are `{ event, data }` JSON both ways; an `exception` event is the exception filter's.
 */
export async function connectWs(
  url: string,
  path: string,
  options: ConnectOptions = {},
): Promise<GatewayClient> {
  const address = new URL(path, url.replace(/^http/, 'ws'));
  if (options.user !== undefined) address.searchParams.set('user', options.user);
  const socket = new WebSocket(address, { headers: options.headers ?? {} });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
  } catch (error) {
    socket.terminate();
    throw error;
  }
  return {
    call: (event, data = {}) =>
      bounded<GatewayReply>(`ws '${event}'`, (resolve) => {
        const onMessage = (raw: WebSocket.RawData) => {
          const text = Array.isArray(raw)
            ? Buffer.concat(raw)
            : Buffer.isBuffer(raw)
              ? raw
              : Buffer.from(new Uint8Array(raw));
          const message = JSON.parse(text.toString('utf8')) as { event: string; data: unknown };
          resolve({
            kind: message.event === 'exception' ? 'exception' : 'reply',
            data: message.data,
          });
        };
        socket.once('message', onMessage);
        socket.send(JSON.stringify({ event, data }));
        return () => socket.off('message', onMessage);
      }),
    close: () => socket.terminate(),
  };
}
