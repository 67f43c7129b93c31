// The payment page. The card flow works the same on Stripe and on localstripe: the server
// readies the order's one PaymentIntent ("save this card" sets setup_future_usage on it), the
// page confirms it once with confirmCardPayment and the card element (3-D Secure, if the bank
// asks, is Stripe.js's one prompt), then goes to the order page, which asks the server (and so
// Stripe) what happened. Alipay and WeChat Pay are a plain form: the server confirms them. Every error is shown in the
// customer's language: Stripe's code is looked up in the messages the server put in the page.
(function () {
  "use strict";
  const root = document.getElementById("payment");
  if (!root || typeof Stripe !== "function") return;
  const data = root.dataset;
  const messages = JSON.parse(data.messages || "{}");
  const stripe = Stripe(data.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const form = document.getElementById("card-form");
  const button = document.getElementById("card-pay");
  const errorBox = document.getElementById("pay-error");
  const saveCard = document.getElementById("save-card");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  // Stripe.js's error: the bank's decline_code, else its code, in the customer's language;
  // Stripe's own (English) message only for a code the page does not know.
  function stripeMessage(error) {
    const code = error && (error.decline_code || error.code);
    if (code && messages[code]) return messages[code];
    if (error && error.message) return data.msgReason.replace("%(reason)s", error.message);
    return data.msgFailed;
  }

  // The one error box: a new error replaces the old one.
  function showError(message) {
    errorBox.textContent = message || data.msgFailed;
    errorBox.hidden = false;
    button.disabled = false;
    button.textContent = button.dataset.label;
  }

  async function post(url, body) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        body: body,
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok && !answer.error) answer.error = data.msgFailed;
      return answer;
    } catch (networkError) {
      return { error: data.msgFailed };
    }
  }

  button.dataset.label = button.textContent;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    button.disabled = true;
    button.textContent = data.msgWorking;
    const body = new FormData();
    if (saveCard.checked) body.append("save_card", "on");
    const answer = await post(data.cardUrl, body);
    if (answer.error) return showError(answer.error);
    if (answer.client_secret) {
      const result = await stripe.confirmCardPayment(answer.client_secret, { payment_method: { card: card } });
      if (result.error) return showError(stripeMessage(result.error));
    }
    window.location.assign(answer.order_url || data.orderUrl);
  });
})();
