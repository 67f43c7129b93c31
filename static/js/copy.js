// Copy buttons: <button data-copy="element-id"> copies that element's text. No inline script,
// so the page works under a strict Content-Security-Policy.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  const status = document.querySelector(".copied");
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    if (status) status.textContent = button.dataset.done || "✓";
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
});
