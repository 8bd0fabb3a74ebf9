// Printed documents: the 打印 button and ?print=1 (the clerk console opens the receipt ready to print).
const btn = document.querySelector("[data-print]");
if (btn) btn.addEventListener("click", () => window.print());
if (new URLSearchParams(location.search).get("print") === "1") window.addEventListener("load", () => window.print());
