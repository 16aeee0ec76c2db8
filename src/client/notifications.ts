// System notifications. In a tab: a new message while the tab is hidden and no tab of ours
// shows that conversation; several tabs notify once (each asks a Web Lock named after the
// message, and only the first gets it: Zulip #3207's duplicates, without localStorage races),
// and the server says what to show or that nothing should be (muted, a request, blocked, read).
// With the browser closed: Web Push (public/sw.js), subscribed on "Turn on notifications".
import type { ChatClientSocket } from './socket.js';
import type { MessageDto } from '../shared/protocol.js';

interface TabNotification {
  notify: boolean;
  title?: string;
  body?: string;
  tag?: string;
  url?: string;
}

const ON_SCREEN = 'leo-on-screen:';
const HOLD_MS = 10_000; // long after every tab has heard the same message:new

const hasNotifications = () => 'Notification' in window;

/**
 * While this tab is visible on a conversation, it holds a shared lock naming it; the lock goes
 * when the conversation is left (`signal`: the desktop switches conversations in place).
 */
export function claimScreen(conversationId: number | undefined, signal?: AbortSignal) {
  if (!conversationId || !navigator.locks) return;
  let release: (() => void) | undefined;
  const update = () => {
    if (document.visibilityState === 'visible' && !release && !signal?.aborted) {
      void navigator.locks.request(
        `${ON_SCREEN}${conversationId}`,
        { mode: 'shared' },
        () => new Promise<void>((resolve) => (release = resolve)),
      );
    } else if (document.visibilityState !== 'visible' && release) {
      release();
      release = undefined;
    }
  };
  document.addEventListener('visibilitychange', update, { signal });
  signal?.addEventListener('abort', () => {
    release?.();
    release = undefined;
  });
  update();
}

async function onScreenElsewhere(conversationId: number): Promise<boolean> {
  if (!navigator.locks) return false;
  const { held = [] } = await navigator.locks.query();
  return held.some((l) => l.name === `${ON_SCREEN}${conversationId}`);
}

async function show(m: MessageDto) {
  const res = await fetch(`/notifications/${m.id}`, {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  });
  if (!res.ok) return;
  const info = (await res.json()) as TabNotification;
  if (!info.notify || !info.title) return;
  const n = new Notification(info.title, { body: info.body, tag: info.tag });
  n.onclick = () => {
    window.focus();
    n.close();
    if (info.url) location.assign(info.url);
  };
}

export function notifyInTabs(socket: ChatClientSocket, me: number) {
  socket.on('message:new', (m) => {
    if (!hasNotifications() || Notification.permission !== 'granted') return;
    // Not from someone the reader blocked (it arrives only to be shown folded).
    if (m.senderId === me || m.blocked || document.visibilityState === 'visible') return;
    void (async () => {
      if (await onScreenElsewhere(m.conversationId)) return;
      if (!navigator.locks) return show(m); // the tag still folds duplicates into one
      await navigator.locks.request(`leo-notify:${m.id}`, { ifAvailable: true }, async (lock) => {
        if (!lock) return; // another tab has it
        await show(m);
        await new Promise((r) => setTimeout(r, HOLD_MS));
      });
    })().catch(() => undefined);
  });
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

const b64url = (buf: ArrayBuffer | null) =>
  buf
    ? btoa(String.fromCharCode(...new Uint8Array(buf)))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '')
    : '';

/** Subscribes this browser to Web Push and tells the server; false if it cannot. */
async function subscribePush(vapidKey: string): Promise<boolean> {
  if (!vapidKey || !('serviceWorker' in navigator) || !('PushManager' in window)) return false;
  const reg = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(vapidKey),
    }));
  const token = document.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? '';
  const res = await fetch('/push/subscriptions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      _csrf: token,
      endpoint: sub.endpoint,
      p256dh: b64url(sub.getKey('p256dh')),
      auth: b64url(sub.getKey('auth')),
    }),
  });
  return res.ok;
}

/** The Account page's "Turn on notifications": permission is asked only from this press. */
export function setupNotifyButton() {
  const button = document.getElementById('notify-on') as HTMLButtonElement | null;
  const status = document.getElementById('notify-status');
  if (!button || !status) return;
  const say = (text: string) => (status.textContent = text);
  if (!hasNotifications()) return void say('This browser cannot show notifications.');
  const describe = (p: NotificationPermission) =>
    say(
      p === 'granted'
        ? 'Notifications are on in this browser.'
        : p === 'denied'
          ? 'Notifications are blocked for this site in your browser’s settings.'
          : 'Notifications are off.',
    );
  describe(Notification.permission);
  button.hidden = false;
  button.addEventListener('click', () => {
    void (async () => {
      const p = await Notification.requestPermission();
      describe(p);
      if (p !== 'granted') return;
      const pushed = await subscribePush(button.dataset.vapidKey ?? '').catch(() => false);
      say(
        pushed
          ? 'Notifications are on in this browser, also when it is closed.'
          : 'Notifications are on while a tab of this site is open.',
      );
    })();
  });
}
