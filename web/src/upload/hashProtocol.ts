/** Messages between the page and the hashing worker. */
export type HashRequest = { type: 'hash'; id: number; file: Blob } | { type: 'cancel'; id: number };

export type HashResponse =
  | { type: 'progress'; id: number; bytes: number }
  | { type: 'done'; id: number; sha256: string; md5: string }
  | { type: 'cancelled'; id: number }
  | { type: 'error'; id: number; message: string };

export interface Digests {
  sha256: string;
  md5: string;
}
