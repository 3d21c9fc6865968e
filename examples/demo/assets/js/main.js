import { greeting } from "./greeting.js";

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("greeting").textContent = `${greeting(new Date())}, from dmp's demo.`;
});
