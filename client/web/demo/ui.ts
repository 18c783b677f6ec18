// Small DOM helpers: finding elements, showing a notice, and the one way
// every form of the demo runs its call and shows what went wrong where.

import { Code, TenantryError } from "../src/index.js";

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

export function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** The line under the header: what just happened, or what went wrong outside any form. */
export function notice(text: string, kind: "ok" | "error" = "ok", action?: { label: string; run: () => void }): void {
  const box = $("#notice");
  box.replaceChildren(text);
  box.className = kind;
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action.label;
    button.addEventListener("click", () => {
      box.hidden = true;
      action.run();
    });
    box.append(" ", button);
  }
  box.hidden = false;
}

export function field(form: HTMLFormElement, name: string): string {
  const element = form.elements.namedItem(name);
  return element instanceof HTMLInputElement || element instanceof HTMLSelectElement ? element.value.trim() : "";
}

/**
 * Runs `action` when the form is submitted: the submit button is disabled
 * meanwhile, old errors go, and a failure is shown next to the field it
 * concerns (the server names fields as the request does, and so do the
 * inputs) or else under the form.
 */
export function onSubmit(form: HTMLFormElement, action: () => Promise<void>): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (button) button.disabled = true;
    clearErrors(form);
    try {
      await action();
    } catch (e) {
      showError(form, e);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

export function clearErrors(form: HTMLFormElement): void {
  for (const slot of form.querySelectorAll<HTMLElement>(".field-error, .form-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

export function showError(form: HTMLFormElement, error: unknown): void {
  const err = TenantryError.from(error);
  const elsewhere: string[] = [];
  for (const v of err.fieldViolations) {
    const slot = form.querySelector<HTMLElement>(`.field-error[data-for="${CSS.escape(v.field)}"]`);
    if (!slot) {
      elsewhere.push(`${v.field}: ${v.description}`);
      continue;
    }
    slot.textContent = slot.textContent ? `${slot.textContent}; ${v.description}` : v.description;
    const input = form.elements.namedItem(v.field);
    if (input instanceof Element) input.setAttribute("aria-invalid", "true");
  }
  if (err.fieldViolations.length && !elsewhere.length) return;
  const text = elsewhere.length ? elsewhere.join("; ") : describe(err);
  $(".form-error", form).textContent = err.requestId ? `${text} (request ${err.requestId})` : text;
}

/** A field's error found before any call (e.g. no file chosen). */
export function fieldError(form: HTMLFormElement, name: string, text: string): void {
  $(`.field-error[data-for="${name}"]`, form).textContent = text;
}

/** Words for a person, from the code and the server's message. */
export function describe(err: TenantryError): string {
  switch (err.code) {
    case Code.Unknown:
    case Code.Unavailable:
      return `Cannot reach the server (${err.message}). Is it running, and does its --cors-origin list include ${location.origin}?`;
    case Code.ResourceExhausted:
      return err.retryAfterMs !== undefined
        ? `${capitalize(err.message)}. Try again in ${Math.ceil(err.retryAfterMs / 1000)} s.`
        : `${capitalize(err.message)}.`;
    case Code.Canceled:
      return "Cancelled.";
    default:
      return `${capitalize(err.message)}.`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (value >= 1024 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
