// Keeps the mini cart in sync with the server.
export function addToCart(productId, quantity = 1) {
  return fetch("/cart/add/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ productId, quantity }),
  }).then((response) => response.json());
}
//# sourceMappingURL=cart.js.map
