// The socket protocol, typed once and used by the server and the browser script.
// Every client event is acked: {ok: true, ...} or {ok: false, error}.

export interface MessageDto {
  id: number; // database order within a conversation
  conversationId: number;
  senderId: number | null; // null: the sender deleted their account
  senderName: string;
  clientId: string;
  body: string;
  createdAt: string; // ISO 8601
  /** Only on a group's lines in words ("Ann added Bo"): shown as a line, not a bubble. */
  kind?: 'system';
}

/** Every code an error answer can carry, over HTTP (JSON) or a socket ack. */
export type ErrorCode =
  | 'bad_request' // the request could not be understood
  | 'invalid' // a field is wrong; the message says which and why
  | 'not_found' // also "not yours"
  | 'conflict'
  | 'unauthenticated'
  | 'wrong_login'
  | 'csrf'
  | 'rate_limited'
  | 'awaiting_acceptance' // a message request's sender wrote the few allowed; not retryable
  | 'forbidden' // a group member without the role for it, or a former member writing
  | 'session_ended' // the socket's session is gone: log in again
  | 'too_many_sockets' // refused at the handshake: too many tabs or devices
  | 'unavailable' // the database is not answering
  | 'internal';

/** Worth sending again with the same client id: the server may well take it next time. */
export const RETRYABLE_CODES: readonly ErrorCode[] = ['unavailable', 'internal', 'rate_limited'];

export interface ErrorDto {
  code: ErrorCode;
  message: string;
}

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorDto };

export interface ReadDto {
  conversationId: number;
  userId: number;
  messageId: number;
}

export interface TypingDto {
  conversationId: number;
  userId: number;
  name: string;
  typing: boolean;
}

export interface PresenceDto {
  userId: number;
  online: boolean;
  lastSeenAt: string | null;
}

/** To a member who left a group or was removed from it: their tabs stop showing it live. */
export interface GroupLeftDto {
  conversationId: number;
  removed: boolean;
}

/** A group's new name, to its members' tabs (the heading changes at once). */
export interface GroupRenamedDto {
  conversationId: number;
  title: string;
}

export interface InboxEntryDto {
  conversationId: number;
  unread: number;
}

export interface ClientToServerEvents {
  'message:send': (
    p: { conversationId: number; body: string; clientId: string },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  sync: (
    p: { conversationId: number; after: number },
    ack: (r: Ack<{ messages: MessageDto[]; hasMore: boolean }>) => void,
  ) => void;
  'conversation:read': (
    p: { conversationId: number; messageId: number },
    ack: (r: Ack) => void,
  ) => void;
  typing: (p: { conversationId: number; typing: boolean }, ack: (r: Ack) => void) => void;
  'inbox:sync': (
    p: Record<string, never>,
    ack: (r: Ack<{ unread: InboxEntryDto[] }>) => void,
  ) => void;
}

export interface ServerToClientEvents {
  'message:new': (m: MessageDto) => void;
  'conversation:read': (r: ReadDto) => void;
  typing: (t: TypingDto) => void;
  presence: (p: PresenceDto) => void;
  'group:left': (p: GroupLeftDto) => void;
  'group:renamed': (p: GroupRenamedDto) => void;
}

export interface SocketData {
  userId: number;
  displayName: string;
  sessionId: string;
  /** The client's address as a limiter key (an IPv6 client as its /56). */
  address: string;
}
