// The envelope of every client event: find the ack, call the handler, ack the
// result or the error. Handlers themselves live in each feature's socket.ts.
import type { Socket } from 'socket.io';
import { answerFor, socketError } from '../answers.js';
import type { AppContext } from '../context.js';
import type {
  ClientToServerEvents,
  ServerToClientEvents,
  SocketData,
} from '../../shared/protocol.js';

type AckOf<E extends keyof ClientToServerEvents> = Parameters<
  Parameters<ClientToServerEvents[E]>[1]
>[0];
/** What a handler resolves to: the protocol's success ack for its event, without `ok`. */
export type AckResult<E extends keyof ClientToServerEvents> = Omit<
  Extract<AckOf<E>, { ok: true }>,
  'ok'
>;

export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

/** Every event is acked; a bad payload or a missing ack never throws out of here. */
export function onEvent<E extends keyof ClientToServerEvents>(
  socket: ChatSocket,
  ctx: AppContext,
  event: E,
  handler: (payload: unknown) => Promise<AckResult<E>>,
): void {
  // The payload is untrusted: the handler parses it, so the listener takes anything.
  (socket.on as (e: string, l: (...args: unknown[]) => void) => void)(event, (...args) => {
    // The ack is the last argument when there is one, whatever came before it.
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as (r: object) => void) : undefined;
    const payload = args[0];
    const reply = ack ?? (() => undefined);
    handler(payload).then(
      (result) => reply({ ok: true, ...result }),
      (err: unknown) => {
        const { log } = answerFor(err);
        if (log === 'warn') ctx.logger.warn({ err, event }, 'database unavailable');
        else if (log === 'error') {
          ctx.logger.error({ err, event, userId: socket.data.userId }, 'socket handler failed');
        }
        reply({ ok: false, error: socketError(err) });
      },
    );
  });
}
