import type { Problems } from './request-checks.js';

/** The `column = $n` list of a partial UPDATE ... WHERE id = ... and its values, in placeholder order. */
export class Assignments {
  private readonly sets: string[] = [];
  private readonly values: unknown[] = [];

  set(column: string, value: unknown): void {
    this.values.push(value);
    this.sets.push(`${column} = $${this.values.length}`);
  }

  /** A problem when the body named none of `writable` (and nothing else was wrong with it). */
  requireOne(writable: readonly string[], problems: Problems): void {
    if (this.sets.length === 0 && problems.length === 0) problems.push({ path: 'body', message: `give at least one of: ${writable.join(', ')}` });
  }

  /** The statement and its values, with `id` as the last placeholder. */
  updateById(table: string, id: unknown, returning: string): { text: string; values: unknown[] } {
    const values = [...this.values, id];
    return { text: `UPDATE ${table} SET ${this.sets.join(', ')} WHERE id = $${values.length} RETURNING ${returning}`, values };
  }
}
