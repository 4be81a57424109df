/**
 * One difference between the primary and the candidate response.
 *
 * `path` is concrete (`$.items[3].price`, `status`, `headers.content-type`, `body`); `field` is
 * what the report and the noise model count (`$.items[*].price`). An absent side is `null` and
 * the kind tells which side is absent.
 */
export type DiffKind = 'changed' | 'missing' | 'extra' | 'type';

export interface DiffEntry {
  readonly path: string;
  readonly field: string;
  readonly kind: DiffKind;
  /** The primary's value; null when `kind` is `extra`. */
  readonly primary: unknown;
  /** The candidate's value; null when `kind` is `missing`. */
  readonly candidate: unknown;
}
