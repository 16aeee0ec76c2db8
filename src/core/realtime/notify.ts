// The one place that emits to sockets. Services call it after their write has
// committed; before the Socket.IO server is attached (plain HTTP tests) it emits nothing.
import type { Server } from 'socket.io';
import type {
  ClientToServerEvents,
  GroupLeftDto,
  GroupRenamedDto,
  MessageDto,
  PresenceDto,
  ReadDto,
  ServerToClientEvents,
  SocketData,
  TypingDto,
} from '../../shared/protocol.js';

export type IoServer = Server<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

export const userRoom = (id: number) => `user:${id}`;
export const sessionRoom = (sid: string) => `session:${sid}`;

export class Notify {
  private io: IoServer | undefined;

  attach(io: IoServer): void {
    this.io = io;
  }

  messageNew(memberIds: number[], message: MessageDto): void {
    this.io?.to(memberIds.map(userRoom)).emit('message:new', message);
  }

  /** An edit, a delete or a reaction: the message as it is now. */
  messageUpdated(userIds: number[], message: MessageDto): void {
    if (userIds.length) this.io?.to(userIds.map(userRoom)).emit('message:updated', message);
  }

  conversationRead(memberIds: number[], read: ReadDto): void {
    this.io?.to(memberIds.map(userRoom)).emit('conversation:read', read);
  }

  typing(recipientIds: number[], typing: TypingDto): void {
    if (recipientIds.length) this.io?.to(recipientIds.map(userRoom)).emit('typing', typing);
  }

  presence(recipientIds: number[], presence: PresenceDto): void {
    if (recipientIds.length) this.io?.to(recipientIds.map(userRoom)).emit('presence', presence);
  }

  /** The member who left or was removed: every tab of theirs, on every instance. */
  groupLeft(userId: number, left: GroupLeftDto): void {
    this.io?.to(userRoom(userId)).emit('group:left', left);
  }

  groupRenamed(memberIds: number[], renamed: GroupRenamedDto): void {
    if (memberIds.length) this.io?.to(memberIds.map(userRoom)).emit('group:renamed', renamed);
  }

  /** Sessions that were ended (logout, password change, deletion) lose their sockets. */
  sessionsEnded(sids: string[]): void {
    if (sids.length) this.io?.in(sids.map(sessionRoom)).disconnectSockets(true);
  }

  /** Which of these users have a socket open on any instance. */
  async onlineAmong(userIds: number[]): Promise<Set<number>> {
    if (!this.io || !userIds.length) return new Set();
    // Presence is a nicety: a peer instance that does not answer must not fail the page.
    const sockets = await this.io
      .in(userIds.map(userRoom))
      .fetchSockets()
      .catch(() => []);
    return new Set(sockets.map((s) => s.data.userId));
  }

  userDeleted(userId: number): void {
    this.io?.in(userRoom(userId)).disconnectSockets(true);
  }
}
