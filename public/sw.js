// Web Push for Leo's Chat room (issue 16): shows a message's notification when no tab is
// open, and closes it when the message was read elsewhere (a "read" push). One notification
// per conversation (its tag): a newer message replaces it. The payload arrives decrypted
// here; on its way through the push service it was ciphertext (RFC 8291).
self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : undefined;
  } catch {
    data = undefined;
  }
  if (!data || typeof data.tag !== 'string') return;
  if (data.type === 'read') {
    event.waitUntil(
      self.registration
        .getNotifications({ tag: data.tag })
        .then((shown) => shown.forEach((n) => n.close())),
    );
    return;
  }
  event.waitUntil(
    self.registration.showNotification(String(data.title), {
      body: String(data.body ?? ''),
      tag: data.tag,
      renotify: true,
      icon: '/static/icon-192.png',
      data: { url: typeof data.url === 'string' ? data.url : '/' },
    }),
  );
});

// A click focuses a tab of the site at that conversation, or opens one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? '/', self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((tabs) => {
      const tab = tabs.find((t) => new URL(t.url).origin === url.origin);
      if (!tab) return self.clients.openWindow(url.href);
      return tab.focus().then((t) => (t && 'navigate' in t ? t.navigate(url.href) : t));
    }),
  );
});

// The push service replaced or ended this browser's subscription (keys rotated, expired):
// subscribe again with the same server key and tell the server, naming the old endpoint so
// it is replaced, not kept beside the new one. A worker has no page to read the form token
// from, so it asks the server for it (GET /push/token: readable by this site only); logged
// out, the session and its subscription are gone, and nothing is sent.
const b64url = (buf) =>
  buf
    ? btoa(String.fromCharCode(...new Uint8Array(buf)))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '')
    : '';

function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function renewSubscription(event) {
  const asked = await fetch('/push/token', {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  });
  if (!asked.ok) return;
  const { token, vapidPublicKey } = await asked.json();
  const old = event.oldSubscription;
  const sub =
    event.newSubscription ??
    (await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: old?.options?.applicationServerKey ?? keyBytes(vapidPublicKey),
    }));
  const form = new URLSearchParams({
    _csrf: token,
    endpoint: sub.endpoint,
    p256dh: b64url(sub.getKey('p256dh')),
    auth: b64url(sub.getKey('auth')),
  });
  if (old?.endpoint) form.set('oldEndpoint', old.endpoint);
  await fetch('/push/subscriptions', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
}

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(renewSubscription(event));
});
