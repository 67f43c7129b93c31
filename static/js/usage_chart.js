// The line page's usage chart: tap, click or drag across the chart, or use the arrow keys, to read a
// day's figure in the caption under it. The server draws the chart and a table with every day, so
// without this script nothing is lost. No inline script or style (Content-Security-Policy), and
// text only through textContent (no innerHTML: Trusted Types).
(() => {
  const chart = document.querySelector("[data-usage-chart]");
  if (!chart) return;
  const svg = chart.querySelector("svg");
  const caption = chart.querySelector(".chart-day");
  const days = Array.from(chart.querySelectorAll("g.day"));
  if (!svg || !caption || !days.length) return;

  let current = days.length - 1; // the roving tab stop starts on today
  caption.textContent = caption.dataset.hint || "";

  function show(index, focus) {
    current = Math.max(0, Math.min(days.length - 1, index));
    days.forEach((day, i) => {
      day.classList.toggle("is-selected", i === current);
      day.setAttribute("tabindex", i === current ? "0" : "-1");
    });
    if (caption.textContent !== days[current].dataset.caption) {
      caption.textContent = days[current].dataset.caption;
    }
    if (focus && document.activeElement !== days[current]) days[current].focus();
  }

  // One tab stop for the whole chart; the arrow keys move between days.
  days.forEach((day, i) => day.setAttribute("tabindex", i === current ? "0" : "-1"));

  // A finger is wider than a day's column: the day is the column under the pointer, wherever in
  // the chart's height it lands, and dragging sideways moves along the days.
  function dayAt(clientX) {
    const box = svg.getBoundingClientRect();
    return Math.floor(((clientX - box.left) / box.width) * days.length);
  }
  let dragging = false;
  svg.addEventListener("pointerdown", (event) => {
    dragging = true;
    show(dayAt(event.clientX), true);
  });
  svg.addEventListener("pointermove", (event) => {
    if (dragging) show(dayAt(event.clientX), false);
  });
  for (const end of ["pointerup", "pointercancel", "pointerleave"]) {
    svg.addEventListener(end, () => {
      dragging = false;
    });
  }

  svg.addEventListener("focusin", (event) => {
    const index = days.indexOf(event.target.closest("g.day"));
    if (index >= 0) show(index, false);
  });

  const moves = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
  svg.addEventListener("keydown", (event) => {
    let index;
    if (event.key in moves) index = current + moves[event.key];
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = days.length - 1;
    else return;
    event.preventDefault();
    show(index, true);
  });
})();
