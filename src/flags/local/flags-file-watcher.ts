import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` once a burst of writes to `file` has settled for `debounceMs`.
 *
 * It watches the file's directory, not the file: editors and `mv`-based deploys replace the file
 * (a new inode), which would silently end a watch on the file itself.
 */
export function watchFileDebounced(file: string, debounceMs: number, onChange: () => void): { close(): void } {
  const name = basename(file);
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    // Some platforms do not report the name; then any change in the directory counts.
    if (closed || (changed !== null && changed.toString() !== name)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (!closed) onChange();
    }, debounceMs);
  });
  watcher.on('error', () => undefined); // the directory vanished; the last good flags keep serving
  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
