import { initAll } from "govuk-frontend";
import { greeting } from "./greeting.js";

initAll();

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("greeting").textContent = `${greeting(new Date())}, from dmp's demo.`;
});
