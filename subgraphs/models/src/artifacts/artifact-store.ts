import type { Readable } from 'node:stream';

/** Where an artifact is and what it is: its content hash, byte size and a URI to fetch it from. */
export interface StoredArtifact {
  /** Lower-case hex sha256 of the content; the artifact's identity. */
  readonly sha256: string;
  readonly size: number;
  readonly uri: string;
}

export interface ArtifactPutResult extends StoredArtifact {
  /** False when identical content was already stored (it is stored once). */
  readonly created: boolean;
}

export interface ArtifactPutOptions {
  /** Refuse content longer than this: the put rejects with LIMIT_EXCEEDED and stores nothing. Default: no limit. */
  readonly maxBytes?: number;
}

/**
 * Content-addressed storage for model files. Implementations store identical content once and never
 * expose a half-written artifact: `has` and `open` see it only once `put` resolved.
 */
export interface ArtifactStore {
  /** Stores the stream's bytes, hashing them on the way; rejects (storing nothing) when the stream fails or is too long. */
  put(content: AsyncIterable<Uint8Array>, options?: ArtifactPutOptions): Promise<ArtifactPutResult>;
  /** The artifact's bytes; rejects with NOT_FOUND when there is none. */
  open(sha256: string): Promise<Readable>;
  /** What is stored under the hash, or undefined. */
  stat(sha256: string): Promise<StoredArtifact | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Removes the artifact; false when there was none. */
  delete(sha256: string): Promise<boolean>;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** True for a lower-case hex sha256, the only form stores accept as an identity. */
export function isSha256(value: string): boolean {
  return SHA256_PATTERN.test(value);
}
