// The flexible plan on the renewal page: as the customer changes the amounts, ask the server for
// their price and show it (the server prices; the page only shows). A wrong amount shows the
// server's message beside the price. Configured by the form's data-price-url.
(function () {
  "use strict";
  const form = document.getElementById("flex-form");
  const price = document.getElementById("flex-price");
  const note = document.getElementById("flex-price-note");
  if (!form || !price || !note || !form.dataset.priceUrl) return;
  const url = form.dataset.priceUrl;
  let timer = null;
  let asked = 0;
  async function ask() {
    const number = ++asked;
    const query = new URLSearchParams({
      data_gb: form.elements.namedItem("data_gb").value,
      minutes: form.elements.namedItem("minutes").value,
    });
    try {
      const response = await fetch(url + "?" + query.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (number !== asked) return; // a newer question is on its way
      const answer = await response.json();
      if (response.ok) {
        price.textContent = answer.display;
        note.textContent = "";
      } else if (response.status === 400) {
        price.textContent = price.dataset.unpriced || "";
        note.textContent = answer.message || "";
      }
    } catch (error) {
      // Offline for a moment: the price shown stays until the next change.
    }
  }
  form.addEventListener("input", function (event) {
    const name = event.target && event.target.name;
    if (name !== "data_gb" && name !== "minutes") return;
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 300);
  });
})();
