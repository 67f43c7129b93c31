// Boom's service worker (served at /sw.js, scope /). It keeps exactly one page, the logged-in
// customer's home page (their balances), to show when the phone is offline, and nothing else of
// theirs:
// - only a home page the server marks with "Boom-Offline: keep" (sent to a logged-in customer
//   only) is stored, in one slot, so the next customer's home page replaces the last one's;
// - the slot is emptied when the customer logs out (the log-out POST), when any page comes back
//   as the log-in page or a redirect to it (logged out, or the session ran out), and the log-out
//   response also sends Clear-Site-Data, which empties every cache and unregisters this worker;
// - offline, only "/" is answered from the slot, with its banner "offline, as of HH:MM" shown.
// Static files (public, the same for everyone) are kept too, so that the stored page has its
// style and scripts offline.
const HOME_CACHE = "boom-home-v1";
const STATIC_CACHE = "boom-static-v1";
const HOME = "/";
const LOGIN_PATH = "/accounts/login/";
const LOGOUT_PATH = "/accounts/logout/";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  const kept = [HOME_CACHE, STATIC_CACHE];
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => !kept.includes(name)).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function forgetHome() {
  return caches.delete(HOME_CACHE);
}

function isLoginPage(response) {
  if (response.type === "opaqueredirect") return true; // a navigation redirected: to log in, here
  return new URL(response.url || HOME, self.location.origin).pathname === LOGIN_PATH;
}

async function navigate(event) {
  const request = event.request;
  const url = new URL(request.url);
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    if (url.pathname === HOME) {
      const stored = await caches.open(HOME_CACHE).then((cache) => cache.match(HOME, { ignoreVary: true }));
      if (stored) return markOffline(stored);
    }
    throw error;
  }
  if (url.pathname === HOME && response.ok && response.headers.get("Boom-Offline") === "keep") {
    const copy = response.clone();
    event.waitUntil(caches.open(HOME_CACHE).then((cache) => cache.put(HOME, copy)));
  } else if (isLoginPage(response) && (url.pathname === HOME || url.pathname === LOGIN_PATH)) {
    event.waitUntil(forgetHome());
  }
  return response;
}

// The stored page says it is a stored copy: its banner shows, whatever navigator.onLine says.
async function markOffline(stored) {
  const body = (await stored.text()).replace('data-copy="live"', 'data-copy="stored"');
  return new Response(body, { status: 200, headers: stored.headers });
}

async function staticFile(event) {
  const cache = await caches.open(STATIC_CACHE);
  try {
    const response = await fetch(event.request);
    if (response.ok) event.waitUntil(cache.put(event.request, response.clone()));
    return response;
  } catch (error) {
    const stored = await cache.match(event.request);
    if (stored) return stored;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === LOGOUT_PATH) {
    event.waitUntil(forgetHome()); // the request itself goes on to the network untouched
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(event));
  }
});
