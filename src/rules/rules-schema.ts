import type { Schema } from '../config/schema.js';
import { s } from '../config/schema.js';
import { flagsSectionSchema, routeFlagSchema } from '../flags/flags-config.js';
import { shadowSchema } from '../shadow/shadow-config.js';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STICKY = /^(header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|cookie:[^\s;=]+|query:[^\s&=]+|ip)$/;

const headerOps = s.object({
  set: s.map(s.string(), { description: 'headers to set (replacing any existing value)' }),
  remove: s.array(s.string({ pattern: HEADER_NAME, patternHint: 'a header name' }), { description: 'headers to remove' }),
});

const upstream = s.object(
  {
    url: s.string({ pattern: /^https?:\/\/[^/\s]+\/?$/, patternHint: 'an origin URL like http://127.0.0.1:3000', description: 'origin of the upstream' }),
    timeout: s.duration({ description: 'response headers timeout (alias of headersTimeout)' }),
    connectTimeout: s.duration({ description: 'TCP connect timeout (default 5s)' }),
    headersTimeout: s.duration({ description: 'time to receive response headers (default 30s)' }),
    bodyTimeout: s.duration({ description: 'idle time allowed between body chunks (default 30s)' }),
    pool: s.number({ integer: true, min: 1, max: 10_000, description: 'maximum connections to this upstream (default 128)' }),
    host: s.string({ enum: ['preserve', 'upstream'], description: "Host header sent upstream: the client's (preserve) or the upstream's (default)" }),
    breaker: s.object(
      {
        failures: s.number({ integer: true, min: 1, description: 'consecutive failures that open the circuit (default 5)' }),
        cooldown: s.duration({ description: 'time the circuit stays open before a trial request (default 30s)' }),
      },
      { description: 'circuit breaker; when open, routes with a fallback use it' },
    ),
  },
  { required: ['url'] },
);

const route = s.object(
  {
    name: s.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, patternHint: 'a name of letters, digits, ".", "_" or "-"' }),
    match: s.object({
      path: s.string({ description: 'path pattern: literal segments, :param, * (one segment), ** (any rest)' }),
      methods: s.array(s.string({ pattern: /^[A-Za-z]+$/, patternHint: 'an HTTP method' }), { minItems: 1 }),
      host: s.string({ description: 'host name, or *.example.com' }),
      headers: s.map(s.string(), { description: 'header name -> exact value ("*" = present)' }),
    }),
    to: s.string({ description: 'upstream name' }),
    split: s.array(s.object({ to: s.string(), weight: s.number({ min: 0, max: 100 }) }, { required: ['to', 'weight'] }), { minItems: 1 }),
    sticky: s.string({ pattern: STICKY, patternHint: 'header:NAME, cookie:NAME, query:NAME or ip' }),
    priority: s.number({ integer: true, description: 'higher wins over specificity (default 0)' }),
    fallback: s.string({ description: 'upstream that serves the request when the chosen one fails to connect or its circuit is open (GET/HEAD and bodiless requests)' }),
    legacy: s.string({ description: "the monolith's upstream for migration modes (default: the rules' default)" }),
    mode: s.string({ enum: ['legacy', 'shadow', 'live', 'migrated'], description: 'migration stage of a `to` route: legacy only, legacy answers + new shadowed, new answers + legacy shadowed, new only' }),
    flag: routeFlagSchema,
    shadow: shadowSchema,
    rewrite: s.object({ stripPrefix: s.string(), addPrefix: s.string() }),
    headers: s.object({ request: headerOps, response: headerOps }),
  },
  { required: ['name'] },
);

export const rulesSchema: Schema = s.object(
  {
    version: s.number({ integer: true, min: 1, max: 1, description: 'format version, always 1' }),
    upstreams: s.map(upstream, { description: 'named upstream origins' }),
    routes: s.array(route),
    default: s.string({ description: 'upstream for requests no route matches' }),
    proxy: s.object({
      trustForwarded: s.boolean({ description: 'keep X-Forwarded-*/Forwarded from clients and append to them (default false: replace)' }),
      forwardedHeaders: s.string({ enum: ['x-forwarded', 'forwarded', 'both', 'none'] }),
      requestIdHeader: s.string({ pattern: HEADER_NAME, patternHint: 'a header name' }),
      drainTimeout: s.duration({ description: 'how long shutdown waits for in-flight requests (default 10s)' }),
    }),
    flags: flagsSectionSchema,
  },
  { required: ['version', 'upstreams'] },
);
