
/*
 * Appended to localstripe's localstripe-v3.js by the project's launcher
 * (billing/localstripe_extras/stripe_js.py): Stripe.js's card payment as Stripe.js does it.
 *
 * - confirmCardPayment(clientSecret, {payment_method: {card: cardElement, billing_details}})
 *   makes the PaymentMethod from the card element (or takes a payment method id), confirms the
 *   intent with it using the publishable key and the client secret, shows the 3-D Secure box once
 *   if the card asks for it, and resolves with {paymentIntent} or {error: {type, code,
 *   decline_code, message, payment_intent}}. Without a payment method it confirms with the
 *   intent's own, or finishes its 3-D Secure check (localstripe's behaviour, kept).
 * - handleCardAction(clientSecret): finishes a requires_action intent's 3-D Secure check.
 * - createPaymentMethod({type: 'card', card: cardElement, billing_details}) (or the older
 *   ('card', cardElement, data)) resolves with {paymentMethod} or {error}.
 * confirmCardSetup and the rest stay localstripe's.
 */
(function () {
  const localstripeStripe = Stripe;

  async function call(method, path, apiKey, params) {
    const url = new URL(LOCALSTRIPE_BASE_API + path);
    const init = {method};
    if (method === 'GET') {
      Object.entries({key: apiKey, ...params}).forEach(([k, v]) => url.searchParams.set(k, v));
    } else {
      // JSON without a Content-Type header: a "simple" cross-origin request, as localstripe's own.
      init.body = JSON.stringify({key: apiKey, payment_user_agent: 'localstripe', ...params});
    }
    const response = await fetch(url, init);
    const body = await response.json().catch(() => ({}));
    return {ok: response.ok && !body.error, body};
  }

  function intentId(clientSecret) {
    const found = /^(pi_\w+)_secret_/.exec(clientSecret || '');
    if (!found) {
      throw new Error('Invalid value for confirmCardPayment: clientSecret should be a client secret ' +
                      'of the form ${id}_secret_${secret}.');
    }
    return found[1];
  }

  function methodParams(data) {
    const params = {type: 'card', ...data};
    if (params.card instanceof Element) {  // localstripe's card element
      const element = params.card;
      if (!element.value || !element.value.card.number) {
        return {error: {type: 'validation_error', code: 'incomplete_number',
                        message: 'Your card number is incomplete.'}};
      }
      params.card = element.value.card;
      const billing = {...(params.billing_details || {})};
      billing.address = {...(billing.address || {})};
      if (!billing.address.postal_code && element.value.postal_code) {
        billing.address.postal_code = element.value.postal_code;
      }
      params.billing_details = billing;
    }
    return {params};
  }

  async function createPaymentMethod(apiKey, data) {
    const made = methodParams(data);
    if (made.error) {
      return {error: made.error};
    }
    const answer = await call('POST', '/v1/payment_methods', apiKey, made.params);
    return answer.ok ? {paymentMethod: answer.body} : {error: answer.body.error};
  }

  async function errorWithIntent(apiKey, clientSecret, error) {
    const found = {type: 'api_error', message: 'An unexpected error occurred.', ...(error || {})};
    if (!found.payment_intent) {
      const current = await call('GET', `/v1/payment_intents/${intentId(clientSecret)}`, apiKey,
                                 {client_secret: clientSecret});
      if (current.ok) {
        found.payment_intent = current.body;
      }
    }
    return {error: found};
  }

  async function finish(apiKey, clientSecret, intent) {
    if (intent.status !== 'requires_action' || !intent.next_action ||
        intent.next_action.type !== 'use_stripe_sdk') {
      return {paymentIntent: intent};
    }
    const success = await openModal('3D Secure\nDo you want to confirm or cancel?',
                                    'Complete authentication', 'Fail authentication');
    const answer = await call('POST', `/v1/payment_intents/${intent.id}/_authenticate?success=${success}`,
                              apiKey, {client_secret: clientSecret});
    if (!answer.ok) {
      return errorWithIntent(apiKey, clientSecret, answer.body.error);
    }
    if (answer.body.status === 'requires_payment_method') {
      const failure = answer.body.last_payment_error || {};
      return {error: {
        type: 'invalid_request_error',
        code: 'payment_intent_authentication_failure',
        message: failure.message || 'We are unable to authenticate your payment method. Please choose ' +
                 'a different payment method and try again.',
        payment_intent: answer.body,
      }};
    }
    return {paymentIntent: answer.body};
  }

  async function confirmCardPayment(apiKey, clientSecret, data) {
    const pi = intentId(clientSecret);
    const params = {client_secret: clientSecret, use_stripe_sdk: true};
    data = data || {};
    if (typeof data.payment_method === 'string') {
      params.payment_method = data.payment_method;
    } else if (data.payment_method) {
      const made = await createPaymentMethod(apiKey, data.payment_method);
      if (made.error) {
        return {error: made.error};
      }
      params.payment_method = made.paymentMethod.id;
    }
    ['setup_future_usage', 'return_url'].forEach(name => {
      if (data[name] !== undefined) {
        params[name] = data[name];
      }
    });
    if (!params.payment_method) {
      const current = await call('GET', `/v1/payment_intents/${pi}`, apiKey, {client_secret: clientSecret});
      if (!current.ok) {
        return {error: current.body.error};
      }
      if (current.body.status === 'requires_action') {
        return finish(apiKey, clientSecret, current.body);
      }
    }
    const answer = await call('POST', `/v1/payment_intents/${pi}/confirm`, apiKey, params);
    if (!answer.ok) {
      return errorWithIntent(apiKey, clientSecret, answer.body.error);
    }
    return finish(apiKey, clientSecret, answer.body);
  }

  async function handleCardAction(apiKey, clientSecret) {
    const current = await call('GET', `/v1/payment_intents/${intentId(clientSecret)}`, apiKey,
                               {client_secret: clientSecret});
    return current.ok ? finish(apiKey, clientSecret, current.body) : {error: current.body.error};
  }

  async function caught(promise) {
    try {
      return await promise;
    } catch (err) {
      return {error: {type: 'api_connection_error', message: String(err && err.message || err)}};
    }
  }

  Stripe = (apiKey, options) => {
    const stripe = localstripeStripe(apiKey, options);
    return Object.assign(stripe, {
      confirmCardPayment: (clientSecret, data) => {
        console.log('localstripe (project launcher): Stripe().confirmCardPayment()');
        intentId(clientSecret);  // a wrong secret throws, as Stripe.js does
        return caught(confirmCardPayment(apiKey, clientSecret, data));
      },
      handleCardPayment: (clientSecret, element, data) => caught(confirmCardPayment(
        apiKey, clientSecret,
        element ? {payment_method: {card: element, ...((data || {}).payment_method_data || {})}} : {})),
      handleCardAction: clientSecret => caught(handleCardAction(apiKey, clientSecret)),
      createPaymentMethod: (typeOrData, element, data) => caught(createPaymentMethod(
        apiKey,
        typeof typeOrData === 'string' ? {type: typeOrData, card: element, ...(data || {})} : typeOrData)),
    });
  };
})();
