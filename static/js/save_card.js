// Saving a card for auto-renew: confirmCardSetup, then the server attaches it and turns
// auto-renew on.
(function () {
  "use strict";
  const form = document.getElementById("save-card-form");
  if (!form || typeof Stripe !== "function") return;
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errorBox = document.getElementById("save-error");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    });
    return response.json().catch(() => ({ error: "?" }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const setup = await post(form.dataset.setupUrl, new FormData());
    const result = setup.error ? { error: { message: setup.error } } :
      await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
    if (result.error) {
      errorBox.textContent = result.error.message;
      errorBox.hidden = false;
      return;
    }
    const pm = result.setupIntent.payment_method;
    const body = new FormData();
    body.append("enabled", "on");
    body.append("payment_method", typeof pm === "string" ? pm : pm.id);
    const answer = await post(form.dataset.postUrl, body);
    if (answer.error) {
      errorBox.textContent = answer.error;
      errorBox.hidden = false;
      return;
    }
    window.location.assign(answer.next);
  });
})();
