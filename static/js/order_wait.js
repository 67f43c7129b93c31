// The order page while a payment is under way: send the customer on to Alipay when the page was
// opened right after choosing it, and ask the server for the order's status every few seconds,
// showing the new state as soon as it changes (the webhook moves it). Configured by data- attributes.
(function () {
  "use strict";
  const root = document.getElementById("order");
  if (!root) return;
  if (root.dataset.go) {
    window.location.assign(root.dataset.go);
    return;
  }
  const url = root.dataset.statusUrl;
  if (!url) return;
  const shown = root.dataset.status;
  async function ask() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const answer = await response.json();
        if (answer.status !== shown) {
          window.location.replace(window.location.pathname);
          return;
        }
      }
    } catch (error) {
      // Offline for a moment: ask again at the next turn.
    }
    window.setTimeout(ask, 3000);
  }
  window.setTimeout(ask, 3000);
})();
