/**
 * A bounded copy of a body streaming past (request or response): the forwarder pushes every chunk
 * it forwards; past `maxBytes` the copy is abandoned (memory released) and reports 'too-large'.
 * The stream itself is never slowed or altered — this only keeps references to chunks.
 */
export class BoundedCopy {
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.over = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  /** The body; one that streamed past in a single chunk is that chunk (no copy). */
  result(): Buffer | 'too-large' {
    if (this.over) return 'too-large';
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
  }
}
