// Loaded before Stripe.js on the pages that pay or save a card. The site enforces Trusted Types
// (boomcard/content_policy.py); these pages also allow the "default" policy, which the browser
// asks whenever a script hands a plain string to a sink that Trusted Types guard. This one lets
// through only a script URL on Stripe.js's own origin (the one this tag's data-stripe-js names:
// js.stripe.com, or the local stand-in) or on Stripe's https://*.js.stripe.com. HTML and
// script text are refused: the policy has no createHTML or createScript.
(function () {
  "use strict";
  if (!window.trustedTypes || window.trustedTypes.defaultPolicy) return;
  const stripeJs = new URL(document.currentScript.dataset.stripeJs, window.location.href);
  function fromStripe(url) {
    if (url.origin === stripeJs.origin) return true;
    return url.protocol === "https:" && (url.hostname === "js.stripe.com" || url.hostname.endsWith(".js.stripe.com"));
  }
  window.trustedTypes.createPolicy("default", {
    createScriptURL(url) {
      const parsed = new URL(url, window.location.href);
      if (!fromStripe(parsed)) throw new TypeError("Only Stripe.js's own scripts may be loaded here, not " + url);
      return parsed.href;
    },
  });
})();
