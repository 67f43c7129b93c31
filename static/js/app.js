// Installable app: registers the service worker (static/js/sw.js, served at /sw.js), and shows
// a stored page's "offline, as of HH:MM" banner ([data-copy] with its time already written by
// the server in the customer's language and time zone).
//
// The site enforces Trusted Types (boomcard/content_policy.py): the worker's URL must come from a
// policy. Ours, "boom", lets through only this site's own /sw.js; browsers without Trusted Types
// take the string as it is.
const boomPolicy = window.trustedTypes
  ? window.trustedTypes.createPolicy("boom", {
      createScriptURL(url) {
        const parsed = new URL(url, window.location.origin);
        if (parsed.origin !== window.location.origin || parsed.pathname !== "/sw.js" || parsed.search) {
          throw new TypeError("boom: only this site's /sw.js may be loaded as a script, not " + url);
        }
        return parsed.href;
      },
    })
  : { createScriptURL: (url) => url };

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(boomPolicy.createScriptURL("/sw.js"), { scope: "/" }).catch(() => {});
}

function showOfflineMark() {
  const mark = document.querySelector(".offline-mark[data-copy]");
  if (!mark) return;
  mark.hidden = navigator.onLine && mark.dataset.copy !== "stored";
}

document.addEventListener("DOMContentLoaded", showOfflineMark);
window.addEventListener("online", showOfflineMark);
window.addEventListener("offline", showOfflineMark);
