// A cap on open sockets per user and per address, across instances: one account
// (or one address with many accounts) cannot multiply every delivery by thousands.
import type { IncomingMessage } from 'node:http';
import { ipKeyGenerator } from 'express-rate-limit';
import { userRoom, type IoServer } from './notify.js';

export interface SocketCaps {
  perUser: number;
  perAddress: number;
}

export const addressRoom = (key: string) => `address:${key}`;

/** The refusal a client sees as its connect_error: a code, and words for the page. */
export class SocketRefusal extends Error {
  constructor(
    code: string,
    readonly data: { message: string },
  ) {
    super(code);
  }
}

/**
 * The client's address as Express sees it with the same 'trust proxy' hop count
 * (Socket.IO's own handshake.address is always the nearest hop, the proxy's).
 */
export function clientAddress(req: IncomingMessage, trustProxy: false | number): string {
  const remote = req.socket.remoteAddress ?? '';
  if (!trustProxy) return remote;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .reverse();
  const hops = [remote, ...forwarded];
  return hops[Math.min(trustProxy, hops.length - 1)] ?? remote;
}

/** The address as a limiter key: an IPv6 client is one /56, as for the login limits. */
export function addressKey(address: string): string {
  return ipKeyGenerator(address);
}

/**
 * Counts the sockets this user and address already have (here: counted at once,
 * so a burst of handshakes cannot all pass; elsewhere: asked through the adapter)
 * and reserves one. Returns the release, or throws the refusal.
 */
export class SocketCounter {
  private readonly users = new Map<number, number>();
  private readonly addresses = new Map<string, number>();

  constructor(private readonly caps: SocketCaps) {}

  async reserve(io: IoServer, userId: number, address: string): Promise<() => void> {
    const here = io.of('/').sockets;
    const elsewhere = (await socketsElsewhere(io, [userRoom(userId), addressRoom(address)])).filter(
      (s) => !here.has(s.id),
    );
    const users =
      (this.users.get(userId) ?? 0) + elsewhere.filter((s) => s.data.userId === userId).length;
    const addresses =
      (this.addresses.get(address) ?? 0) +
      elsewhere.filter((s) => s.data.address === address).length;
    if (users >= this.caps.perUser) {
      throw new SocketRefusal('too_many_sockets', {
        message: `You have ${this.caps.perUser} tabs or devices connected already. Close one of them, then reload this page.`,
      });
    }
    if (addresses >= this.caps.perAddress) {
      throw new SocketRefusal('too_many_sockets', {
        message:
          'Too many connections come from your network just now. Close some tabs, then reload this page.',
      });
    }
    bump(this.users, userId, 1);
    bump(this.addresses, address, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bump(this.users, userId, -1);
      bump(this.addresses, address, -1);
    };
  }
}

/**
 * The sockets in these rooms on every instance. An instance that has just died is
 * waited for until the adapter's own timeout (seconds): a handshake must not hang
 * that long, so after a short wait only this instance's sockets are counted.
 */
async function socketsElsewhere(io: IoServer, rooms: string[]) {
  const all = io.in(rooms).fetchSockets();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<[]>((resolve) => {
    timer = setTimeout(() => resolve([]), REMOTE_COUNT_WAIT_MS);
  });
  try {
    return await Promise.race([all.catch(() => [] as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
const REMOTE_COUNT_WAIT_MS = 500;

function bump<K>(map: Map<K, number>, key: K, by: number) {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
