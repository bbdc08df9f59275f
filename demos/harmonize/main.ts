/** Page entry: reads options from the form and runs the demo. */
import { DEFAULT_OPTIONS, type DemoOptions, mountDemo } from "./app.ts";

const form = document.querySelector("form")!;
const root = document.querySelector<HTMLElement>("#demo")!;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const options: DemoOptions = { ...DEFAULT_OPTIONS };
  for (const key of Object.keys(options) as (keyof DemoOptions)[]) {
    const value = data.get(key);
    if (value !== null && value !== "") options[key] = Number(value);
  }
  const button = form.querySelector("button")!;
  button.disabled = true;
  try {
    await mountDemo(root, options);
  } catch (e) {
    root.insertAdjacentHTML("beforeend", `<p class="error"></p>`);
    root.lastElementChild!.textContent = String((e as Error).message ?? e);
  } finally {
    button.disabled = false;
  }
});
