import pino from 'pino';
import type { Logger } from 'pino';

const S = pino.symbols;
/** In pino.symbols since pino 8.14 but not in its type declarations. */
const MSG_PREFIX = (pino.symbols as unknown as Record<string, symbol | undefined>).msgPrefixSym;
/** The fields a hook, formatter or serializer could rewrite; any of them sends lines through pino. */
const FIELDS = ['trace_id', 'span_id', 'request_id', 'route', 'upstream', 'method', 'path', 'status', 'duration_ms', 'outcome', 'fallback'] as const;
const INFO = 30;
// Saved reference: String.prototype.charCodeAt stays fast even after a module subclasses String
// (ioredis does; see src/proxy/decide.ts).
const charCodeAt = String.prototype.charCodeAt;

/**
 * Whether JSON.stringify would escape anything in s: a quote, a backslash, a control character or a
 * surrogate (a lone one is escaped; for a pair, it decides, not this).
 */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = charCodeAt.call(s, i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** A string as JSON. */
const quote = (s: string): string => (needsEscape(s) ? JSON.stringify(s) : `"${s}"`);

/** The parts of a pino logger's line that do not change from one access line to the next. */
interface LineParts {
  /** `{"level":"info"`, in the logger's level format. */
  readonly level: string;
  /** Returns `,"timestamp":"…"` (or whatever the logger's timestamp option writes). */
  readonly time: () => string;
  /** `,"service":"ficus","component":"proxy"`: the logger's bindings. */
  readonly bindings: string;
  /** `,"message":"request"}` and the line end. */
  readonly tail: string;
  readonly stream: { write(line: string): unknown };
}

type PinoInternals = Record<symbol, unknown>;

/**
 * The line's fixed parts when pino would write this logger's access lines as plain JSON, or null
 * when something in the logger could change them (a mixin, a log formatter, a hook, redaction, a
 * serializer of one of the fields, a nested key, a message prefix, or a stream that wants metadata).
 */
function lineParts(logger: Logger): LineParts | null {
  const l = logger as unknown as PinoInternals;
  const formatters = l[S.formattersSym] as { log?: unknown } | undefined;
  const hooks = l[S.hooksSym] as { streamWrite?: unknown; logMethod?: unknown } | undefined;
  const serializers = (l[S.serializersSym] ?? {}) as Record<string, unknown>;
  const stringifiers = (l[S.stringifiersSym] ?? {}) as Record<string | symbol, unknown>;
  const stream = l[S.streamSym] as ({ write(line: string): unknown } & PinoInternals) | undefined;
  const levels = l[S.lsCacheSym] as Record<number, string> | undefined;
  const time = l[S.timeSym];
  const bindings = l[S.chindingsSym];
  const messageKey = l[S.messageKeySym];
  const end = l[S.endSym];
  if (formatters === undefined || formatters.log !== undefined || hooks === undefined || hooks.streamWrite !== undefined || hooks.logMethod !== undefined) return null;
  if (l[S.mixinSym] || l[S.nestedKeySym] || (MSG_PREFIX !== undefined && l[MSG_PREFIX] !== undefined)) return null;
  if (Reflect.ownKeys(stringifiers).length > 0 || FIELDS.some((f) => serializers[f] !== undefined) || (typeof messageKey === 'string' && serializers[messageKey] !== undefined)) return null;
  if (stream === undefined || typeof stream.write !== 'function' || stream[S.needsMetadataGsym] === true) return null;
  if (levels === undefined || typeof levels[INFO] !== 'string' || typeof time !== 'function' || typeof bindings !== 'string' || typeof messageKey !== 'string' || typeof end !== 'string') return null;
  // Bound: pino calls it as a method of the logger.
  return { level: levels[INFO], time: (time as () => string).bind(logger), bindings, tail: `,${quote(messageKey)}:"request"${end}`, stream };
}

/**
 * The proxy's access log: one `request` line at info level per exchange. The line is the one pino
 * writes for `logger.info({ trace_id, …, fallback }, 'request')`, byte for byte, built here with one
 * template instead of pino's walk over a per-request object. A profile of a proxy at full load put
 * 12% of its CPU in that call, a third of it in property loads from pino's logger objects, which V8
 * keeps in dictionary mode. (One difference: a lone surrogate is escaped, as JSON.stringify does,
 * where pino writes it raw in strings under 100 characters; the method, path and request id come
 * from the request's latin1 bytes and never hold one.)
 *
 * The logger's level, bindings and options are taken when the access log is made; a later level
 * change (`logger.level = …`) is followed. A logger whose options could change the line (see
 * lineParts) gets every line through pino itself.
 */
export class AccessLog {
  private readonly parts: LineParts | null;
  private enabled: boolean;

  private readonly onLevelChange = (): void => {
    this.enabled = this.logger.isLevelEnabled('info');
  };

  constructor(private readonly logger: Logger) {
    this.parts = lineParts(logger);
    this.enabled = logger.isLevelEnabled('info');
    logger.on('level-change', this.onLevelChange);
  }

  /** Stops following the logger's level; lines written after this use the level it had. */
  close(): void {
    this.logger.removeListener('level-change', this.onLevelChange);
  }

  write(
    traceId: string,
    spanId: string,
    requestId: string,
    route: string,
    upstream: string,
    method: string | undefined,
    path: string | undefined,
    status: number,
    durationMs: number,
    outcome: string,
    fallback: string | null,
  ): void {
    if (!this.enabled) return;
    const p = this.parts;
    if (p === null) {
      this.logger.info({ trace_id: traceId, span_id: spanId, request_id: requestId, route, upstream, method, path, status, duration_ms: durationMs, outcome, fallback }, 'request');
      return;
    }
    p.stream.write(
      `${p.level}${p.time()}${p.bindings},"trace_id":${quote(traceId)},"span_id":${quote(spanId)},"request_id":${quote(requestId)},"route":${quote(route)},"upstream":${quote(upstream)}` +
        `${method === undefined ? '' : `,"method":${quote(method)}`}${path === undefined ? '' : `,"path":${quote(path)}`},"status":${jsonNumber(status)},"duration_ms":${jsonNumber(durationMs)}` +
        `,"outcome":${quote(outcome)},"fallback":${fallback === null ? 'null' : quote(fallback)}${p.tail}`,
    );
  }
}

/** A number as pino writes it: `null` when not finite. */
const jsonNumber = (n: number): string => (Number.isFinite(n) ? `${n}` : 'null');
