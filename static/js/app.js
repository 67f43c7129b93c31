// Installable app: registers the service worker (static/js/sw.js, served at /sw.js), and shows
// a stored page's "offline, as of HH:MM" banner ([data-copy] with its time already written by
// the server in the customer's language and time zone).
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

function showOfflineMark() {
  const mark = document.querySelector(".offline-mark[data-copy]");
  if (!mark) return;
  mark.hidden = navigator.onLine && mark.dataset.copy !== "stored";
}

document.addEventListener("DOMContentLoaded", showOfflineMark);
window.addEventListener("online", showOfflineMark);
window.addEventListener("offline", showOfflineMark);
