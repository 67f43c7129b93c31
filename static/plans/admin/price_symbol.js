// The catalogue's price rows: the sign before each amount (¥, HK$, US$) follows the row's
// currency as staff pick it. Each amount box carries data-symbols="CNY=¥,HKD=HK$,USD=US$".
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.name.endsWith("-currency")) return;
  const row = select.closest("tr");
  if (!row) return;
  for (const box of row.querySelectorAll("input[data-symbols]")) {
    const symbols = Object.fromEntries(box.dataset.symbols.split(",").map((pair) => pair.split("=")));
    const sign = box.parentElement.querySelector("[data-price-symbol]");
    if (sign) sign.textContent = symbols[select.value] || "";
  }
});
