// Files of the current organization: upload with progress (pause and
// resume), the list, download (checked against the file's SHA-256), delete
// with undo.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { File as FileInfo } from "../src/gen/tenantry/file/v1/file_pb.js";
import { Code, TenantryError, type Progress } from "../src/index.js";
import type { App } from "./main.js";
import { $, clearErrors, describe, fieldError, formatBytes, notice, show, showError } from "./ui.js";

/** Small enough that a person sees the bar move on a file of a few MiB. */
const CHUNK = 512 * 1024;

/** An upload that was paused (or broke), kept to resume it. */
let paused: { file: File; sessionId: string } | undefined;
let running: AbortController | undefined;

export function setUpFiles(app: App): void {
  const form = $<HTMLFormElement>("#upload");
  const input = form.elements.namedItem("file") as HTMLInputElement;
  const uploadButton = $<HTMLButtonElement>("#upload-button");
  const pauseButton = $<HTMLButtonElement>("#pause");

  input.addEventListener("change", () => {
    // Another file: the paused session is of no use any more.
    if (paused) void app.tenantry.file.abortUploadSession({ sessionId: paused.sessionId }).catch(() => {});
    paused = undefined;
    uploadButton.textContent = "Upload";
    setProgress({ loaded: 0, total: 0 }, "");
  });

  pauseButton.addEventListener("click", () => running?.abort());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const file = input.files?.[0];
    if (!file) return fieldError(form, "file", "Choose a file first.");
    const resume = paused?.file === file ? paused.sessionId : undefined;
    running = new AbortController();
    uploadButton.disabled = true;
    show(pauseButton, true);
    try {
      const { file: stored, deduplicated } = await app.tenantry.upload(file, {
        chunkSize: CHUNK,
        sessionId: resume,
        signal: running.signal,
        onSession: (sessionId) => (paused = { file, sessionId }),
        onProgress: (p) => setProgress(p),
      });
      paused = undefined;
      form.reset();
      uploadButton.textContent = "Upload";
      notice(
        `Uploaded ${stored?.name} (${formatBytes(Number(stored?.sizeBytes ?? 0n))})` +
          (deduplicated ? ": identical content was already stored, so no second copy was kept." : "."),
      );
      await renderFiles(app);
    } catch (e) {
      const err = TenantryError.from(e);
      if (err.code === Code.Canceled && paused) {
        uploadButton.textContent = "Resume";
        $("#upload-percent").textContent += " (paused)";
      } else {
        // The session (if any) may still be resumed after a network failure.
        if (paused && err.transient) uploadButton.textContent = "Resume";
        else paused = undefined;
        showError(form, mapFields(err));
      }
    } finally {
      running = undefined;
      uploadButton.disabled = false;
      show(pauseButton, false);
    }
  });
}

/** The upload's metadata is the file input here. */
function mapFields(err: TenantryError): TenantryError {
  for (const v of err.fieldViolations) if (v.field.startsWith("metadata")) v.field = "file";
  return err;
}

function setProgress({ loaded, total }: Progress, text?: string): void {
  const percent = total > 0 ? Math.floor((loaded * 100) / total) : loaded === 0 && text === "" ? 0 : 100;
  $<HTMLProgressElement>("#upload-progress").value = percent;
  $("#upload-percent").textContent = text ?? `${percent}% · ${formatBytes(loaded)} of ${formatBytes(total)}`;
}

export async function renderFiles(app: App): Promise<void> {
  const { files } = await app.tenantry.file.listFiles({ pageSize: 100 });
  $("#file-list").replaceChildren(...files.map((f) => row(app, f)));
  show($("#file-table"), files.length > 0);
  show($("#no-files"), files.length === 0);
}

function row(app: App, file: FileInfo): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.fileId = file.id;
  const cells = [
    file.name,
    formatBytes(Number(file.sizeBytes)),
    file.declaredContentType || file.detectedContentType || "—",
    file.createTime ? timestampDate(file.createTime).toLocaleString() : "",
  ];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const actions = document.createElement("td");
  actions.className = "actions";
  actions.append(button(`Download`, `Download ${file.name}`, () => download(app, file)));
  actions.append(button(`Delete`, `Delete ${file.name}`, () => remove(app, file)));
  tr.append(actions);
  return tr;
}

function button(text: string, label: string, run: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await run();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

async function download(app: App, file: FileInfo): Promise<void> {
  const box = $("#download");
  const bar = $<HTMLProgressElement>("#download-progress");
  const status = $("#download-status");
  show(box, true);
  bar.value = 0;
  status.textContent = `Downloading ${file.name}…`;
  try {
    const { blob } = await app.tenantry.download(file.id, {
      onProgress: ({ loaded, total }) => {
        bar.value = total ? Math.floor((loaded * 100) / total) : 100;
        status.textContent = `Downloading ${file.name}… ${bar.value}%`;
      },
    });
    bar.value = 100;
    status.textContent = `Downloaded ${file.name}: ${formatBytes(blob.size)}, ${await checkSha256(blob, file.sha256)}.`;
    save(blob, file.name);
  } catch (e) {
    status.textContent = `Download of ${file.name} failed: ${describe(TenantryError.from(e))}`;
  }
}

/** Whether the bytes that arrived are the ones the server hashed on upload. */
async function checkSha256(blob: Blob, expected: string): Promise<string> {
  // crypto.subtle exists only in secure contexts (https, localhost, 127.0.0.1).
  if (!globalThis.crypto?.subtle) return "SHA-256 not checked (needs a secure origin)";
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return hex === expected ? "SHA-256 matches" : `SHA-256 MISMATCH (got ${hex}, expected ${expected})`;
}

/** Hands the blob to the browser as a download. */
function save(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  // Long enough for the browser to start reading it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function remove(app: App, file: FileInfo): Promise<void> {
  try {
    await app.tenantry.file.deleteFile({ fileId: file.id });
    notice(`Deleted ${file.name}.`, "ok", {
      label: "Undo",
      run: async () => {
        try {
          await app.tenantry.file.restoreFile({ fileId: file.id });
          notice(`Restored ${file.name}.`);
          await renderFiles(app);
        } catch (e) {
          app.fail(e);
        }
      },
    });
    await renderFiles(app);
  } catch (e) {
    app.fail(e);
  }
}
