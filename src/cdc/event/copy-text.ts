/**
 * COPY ... TO STDOUT text format (tab-separated, \N for NULL, backslash escapes) → text values: the
 * same text a pgoutput tuple carries, so one type mapper serves both. Lines come from CopyOutQuery;
 * snapshot rows are parsed only when their Debezium value is read (event/snapshot-row.ts).
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
const ESC: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

function unescape(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== '\\') { out += c; continue; }
    const n = field[++i];
    if (n in ESC) out += ESC[n];
    else if (n >= '0' && n <= '7') {
      let j = i;
      while (j < i + 3 && field[j] >= '0' && field[j] <= '7') j++;
      out += String.fromCharCode(parseInt(field.slice(i, j), 8));
      i = j - 1;
    } else if (n === 'x') {
      let j = i + 1;
      while (j < i + 3 && /[0-9a-fA-F]/.test(field[j] ?? '')) j++;
      out += String.fromCharCode(parseInt(field.slice(i + 1, j), 16));
      i = j - 1;
    } else out += n;
  }
  return out;
}

/** One row of COPY text (without its newline) → its fields. */
export function parseCopyLine(line: string): (string | null)[] {
  const fields: (string | null)[] = line.split('\t');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    // Most fields need nothing: no backslash means no escape and no \N.
    if (f.indexOf('\\') !== -1) fields[i] = unescape(f);
  }
  return fields;
}
