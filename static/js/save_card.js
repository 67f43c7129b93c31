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
  const messages = JSON.parse(form.dataset.messages || "{}");

  // Stripe.js's error in the customer's language (as on the payment page); Stripe's own English
  // message only for a code the page does not know.
  function stripeMessage(error) {
    const code = error.decline_code || error.code;
    if (code && messages[code]) return messages[code];
    return form.dataset.msgReason.replace("%(reason)s", error.message || "");
  }

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
    const ask = new FormData();
    ask.append("next", window.location.pathname);
    const setup = await post(form.dataset.setupUrl, ask);
    // Saving a card needs a recent "confirm it's you": go there first, and come back here.
    if (setup.reauth_url) {
      window.location.assign(setup.reauth_url);
      return;
    }
    if (setup.error) {
      errorBox.textContent = setup.error;
      errorBox.hidden = false;
      return;
    }
    const result = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
    if (result.error) {
      errorBox.textContent = stripeMessage(result.error);
      errorBox.hidden = false;
      return;
    }
    const pm = result.setupIntent.payment_method;
    const body = new FormData();
    body.append("enabled", "on");
    body.append("payment_method", typeof pm === "string" ? pm : pm.id);
    const answer = await post(form.dataset.postUrl, body);
    if (answer.reauth_url) {
      window.location.assign(answer.reauth_url);
      return;
    }
    if (answer.error) {
      errorBox.textContent = answer.error;
      errorBox.hidden = false;
      return;
    }
    window.location.assign(answer.next);
  });
})();
