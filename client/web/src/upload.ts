// Uploads a File or Blob through the resumable session calls: browsers cannot
// stream a request body over grpc-web, so the bytes go in chunks, each one a
// unary call at an offset the server checks.

import type { Client } from "@connectrpc/connect";
import {
  FileService,
  type CompleteUploadSessionResponse,
} from "./gen/tenantry/file/v1/file_pb.js";
import { Code, TenantryError } from "./errors.js";

export interface Progress {
  /** Bytes the server holds (upload) or we received (download). */
  loaded: number;
  total: number;
}

export interface UploadOptions {
  /** Default: the File's name, else "blob". */
  name?: string;
  /** Default: the Blob's type (empty means application/octet-stream). */
  contentType?: string;
  labels?: Record<string, string>;
  /** Bytes per call; the server takes at most 4 MiB. Default 1 MiB. */
  chunkSize?: number;
  /** Resume this session (of the same blob) from where the server is. */
  sessionId?: string;
  /** Told the session id as soon as there is one: keep it to resume after a reload. */
  onSession?: (sessionId: string) => void;
  onProgress?: (progress: Progress) => void;
  /** Aborting pauses: the session stays, and `sessionId` resumes it. */
  signal?: AbortSignal;
  /** How many times one chunk is retried after a network failure. Default 5. */
  retries?: number;
}

export async function uploadBlob(
  files: Client<typeof FileService>,
  blob: Blob,
  options: UploadOptions = {},
): Promise<CompleteUploadSessionResponse> {
  const { signal, chunkSize = 1 << 20, retries = 5 } = options;
  const total = blob.size;
  const serverOffset = async (id: string) =>
    Number((await files.getUploadSession({ sessionId: id }, { signal })).session?.receivedBytes ?? 0n);

  let sessionId = options.sessionId;
  let offset: number;
  if (sessionId !== undefined) {
    offset = await serverOffset(sessionId);
  } else {
    const { session } = await files.createUploadSession(
      {
        metadata: {
          name: options.name ?? (blob instanceof File ? blob.name : "blob"),
          contentType: options.contentType ?? blob.type,
          // Declared, so the server refuses a file over the limit before any byte moves.
          expectedSize: BigInt(total),
          labels: options.labels ?? {},
        },
      },
      { signal },
    );
    sessionId = session!.id;
    offset = 0;
  }
  options.onSession?.(sessionId);
  options.onProgress?.({ loaded: offset, total });

  let failures = 0;
  while (offset < total) {
    const chunk = new Uint8Array(await blob.slice(offset, offset + chunkSize).arrayBuffer());
    try {
      const res = await files.appendUploadChunk({ sessionId, offset: BigInt(offset), chunk }, { signal });
      offset = Number(res.receivedBytes);
      failures = 0;
    } catch (e) {
      const err = TenantryError.from(e);
      const wrongOffset = err.code === Code.FailedPrecondition && err.preconditionViolations.some((v) => v.type === "OFFSET");
      if (signal?.aborted || !(wrongOffset || err.transient) || ++failures > retries) throw err;
      if (!wrongOffset) await sleep(Math.min(250 * 2 ** failures, 8000), signal);
      // Ask the server where it is: the chunk may have arrived although its
      // answer was lost, or another tab may have gone on with the session.
      offset = await serverOffset(sessionId);
    }
    options.onProgress?.({ loaded: offset, total });
  }
  return files.completeUploadSession({ sessionId }, { signal });
}

/** Waits, or fails as a cancelled call would when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(TenantryError.from(new DOMException("the operation was aborted", "AbortError")));
    };
    const timer = setTimeout(resolve, ms);
    if (signal?.aborted) abort();
    signal?.addEventListener("abort", abort, { once: true });
  });
}
