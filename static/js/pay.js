// The payment page. The card flow works the same on Stripe and on localstripe:
// collect the card with confirmCardSetup, let the server confirm the order's intent with it,
// finish 3-D Secure with confirmCardPayment if the bank asks, then go to the order page,
// which asks the server (and so Stripe) what happened. Alipay and WeChat Pay use Stripe.js.
(function () {
  "use strict";
  const root = document.getElementById("payment");
  if (!root || typeof Stripe !== "function") return;
  const data = root.dataset;
  const stripe = Stripe(data.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const form = document.getElementById("card-form");
  const button = document.getElementById("card-pay");
  const errorBox = document.getElementById("pay-error");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function showError(message) {
    errorBox.textContent = message || data.msgFailed;
    errorBox.hidden = false;
    button.disabled = false;
    button.textContent = button.dataset.label;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok && !answer.error) answer.error = data.msgFailed;
    return answer;
  }

  button.dataset.label = button.textContent;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    button.disabled = true;
    button.textContent = data.msgWorking;
    const setup = await post(data.setupUrl, new FormData());
    if (setup.error) return showError(setup.error);
    const result = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
    if (result.error) return showError(result.error.message);
    const pm = result.setupIntent.payment_method;
    const body = new FormData();
    body.append("payment_method", typeof pm === "string" ? pm : pm.id);
    if (document.getElementById("save-card").checked) body.append("save_card", "on");
    const answer = await post(data.cardUrl, body);
    if (answer.error) return showError(answer.error);
    if (answer.status === "requires_action") {
      const confirmed = await stripe.confirmCardPayment(answer.client_secret);
      if (confirmed.error) return showError(confirmed.error.message);
    }
    window.location.assign(answer.order_url || data.orderUrl);
  });

  document.querySelectorAll("[data-wallet]").forEach((walletButton) => {
    walletButton.addEventListener("click", async () => {
      errorBox.hidden = true;
      const wallet = walletButton.dataset.wallet;
      if (wallet === "alipay" && typeof stripe.confirmAlipayPayment === "function") {
        const result = await stripe.confirmAlipayPayment(data.clientSecret, { return_url: data.returnUrl });
        if (result.error) showError(result.error.message);
      } else if (wallet === "wechat_pay" && typeof stripe.confirmWechatPayPayment === "function") {
        const result = await stripe.confirmWechatPayPayment(data.clientSecret, {
          payment_method_options: { wechat_pay: { client: "web" } },
        });
        if (result.error) return showError(result.error.message);
        window.location.assign(data.orderUrl);
      } else {
        showError(data.msgUnavailable);
      }
    });
  });
})();
