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
