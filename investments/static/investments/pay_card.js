// Paying by card with Stripe.js (templates/investments/pay_card.html): a file, not an inline
// script, so that the Content-Security-Policy runs scripts from the service and Stripe only.
(function () {
  var stripe = Stripe(JSON.parse(document.getElementById("stripe-publishable-key").textContent));
  var secret = JSON.parse(document.getElementById("stripe-client-secret").textContent);
  var card = stripe.elements().create("card");
  var form = document.getElementById("card-form");
  var button = document.getElementById("card-pay");
  var message = document.getElementById("card-message");
  card.mount("#card-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "Paying…";
    stripe.confirmCardPayment(secret, {payment_method: {card: card}}).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;  // Stripe's own words: "Your card was declined." etc.
        button.disabled = false;
      } else {
        message.textContent = "Thank you: your payment went through. This page will show it as paid in a moment.";
        setTimeout(function () { window.location.reload(); }, 3000);
      }
    });
  });
})();
