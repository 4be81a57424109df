import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import type { ConfigProblem } from './problems.js';

export type PathKey = string | number;
export type Locator = (path: readonly PathKey[], key?: boolean) => { line: number; col: number };

/** A parsed YAML file: its plain value plus a way to find where any path came from. */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  readonly locate: Locator;
  readonly problems: readonly ConfigProblem[];
}

/**
 * Parses YAML keeping node ranges, so every later validation message can name file:line:col.
 * `locate(path)` walks the document to the deepest node that exists on that path; `key` asks for
 * the position of the map key rather than its value (used for unknown-key messages).
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, message: firstLine(e.message) });
  }
  const at = (offset: number | undefined) => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  const locate: Locator = (path, key = false) => {
    let node: unknown = doc.contents;
    let keyNode: unknown = null;
    for (const k of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(k));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof k === 'number' && node.items[k] !== undefined) {
        keyNode = null;
        node = node.items[k];
      } else {
        break;
      }
    }
    const target = (key && keyNode ? keyNode : node ?? keyNode) as Node | null;
    return at(target?.range?.[0]);
  };
  const value = problems.length > 0 ? null : doc.toJS({ maxAliasCount: 100 });
  return { file, value, locate, problems };
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl === -1 ? message : message.slice(0, nl);
}
