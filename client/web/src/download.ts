// Downloads a file into a Blob through the server-streaming Download call,
// resuming from the last byte received when the stream breaks.

import type { Client } from "@connectrpc/connect";
import { FileService, type File } from "./gen/tenantry/file/v1/file_pb.js";
import { TenantryError } from "./errors.js";
import { sleep, type Progress } from "./upload.js";

export interface DownloadOptions {
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** How many times a broken stream is resumed. Default 3. */
  retries?: number;
}

export async function downloadBlob(
  files: Client<typeof FileService>,
  fileId: string,
  options: DownloadOptions = {},
): Promise<{ file: File; blob: Blob }> {
  const { signal, retries = 3 } = options;
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let loaded = 0;
  let file: File | undefined;
  let failures = 0;
  for (;;) {
    try {
      for await (const res of files.download({ fileId, offset: BigInt(loaded) }, { signal })) {
        if (res.part.case === "file") {
          file ??= res.part.value;
        } else if (res.part.case === "chunk") {
          // protobuf-es decodes bytes into arrays of their own ArrayBuffer.
          parts.push(res.part.value as Uint8Array<ArrayBuffer>);
          loaded += res.part.value.byteLength;
        } else {
          continue;
        }
        options.onProgress?.({ loaded, total: Number(file?.sizeBytes ?? 0n) });
      }
      break;
    } catch (e) {
      const err = TenantryError.from(e);
      if (signal?.aborted || !err.transient || ++failures > retries) throw err;
      await sleep(Math.min(250 * 2 ** failures, 8000), signal);
    }
  }
  if (file === undefined) throw new Error("the server sent no file metadata");
  const type = file.declaredContentType || "application/octet-stream";
  return { file, blob: new Blob(parts, { type }) };
}
