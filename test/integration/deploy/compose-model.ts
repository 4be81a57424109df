import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * Reading docker-compose.yml the way the engine would, for the consistency test (no Docker engine
 * runs on the CI machines): merge keys resolved, each service's effective argv (the image's
 * ENTRYPOINT/CMD overridden by the service), its environment, bind mounts and published ports, and
 * which environment variables a program reads (scanned from its TypeScript sources).
 */
export interface ComposeService {
  readonly name: string;
  readonly image: string | null;
  readonly build: { readonly context: string; readonly dockerfile: string } | null;
  readonly entrypoint: string[] | null;
  readonly command: string[] | null;
  readonly environment: Record<string, string>;
  /** host path (absolute) → container path */
  readonly binds: { host: string; container: string; readOnly: boolean }[];
  /** container port → host port */
  readonly ports: { host: number; container: number }[];
  readonly dependsOn: Record<string, string>;
  readonly healthcheck: string[] | null;
}

export interface Dockerfile {
  readonly path: string;
  readonly workdir: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** sources of COPY instructions that read the build context (not --from) */
  readonly copySources: string[];
  readonly from: string[];
}

const asList = (v: unknown): string[] | null => (v === undefined || v === null ? null : Array.isArray(v) ? v.map(String) : String(v).split(/\s+/));

export function readCompose(file: string): Map<string, ComposeService> {
  const root = dirname(file);
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Record<string, unknown>> };
  const out = new Map<string, ComposeService>();
  for (const [name, s] of Object.entries(doc.services)) {
    const build = s.build as { context?: string; dockerfile?: string } | string | undefined;
    const env = s.environment as Record<string, unknown> | string[] | undefined;
    const environment: Record<string, string> = {};
    if (Array.isArray(env)) for (const kv of env) environment[kv.split('=')[0]] = kv.split('=').slice(1).join('=');
    else for (const [k, v] of Object.entries(env ?? {})) environment[k] = String(v);
    const binds = ((s.volumes as string[] | undefined) ?? [])
      .filter((v) => v.startsWith('.') || v.startsWith('/'))
      .map((v) => {
        const [host, container, mode] = v.split(':');
        return { host: resolve(root, host), container, readOnly: mode === 'ro' };
      });
    const ports = ((s.ports as string[] | undefined) ?? []).map((p) => {
      const [host, container] = String(p).split(':').map(Number);
      return { host, container };
    });
    const deps = s.depends_on as Record<string, { condition?: string }> | string[] | undefined;
    const dependsOn: Record<string, string> = {};
    if (Array.isArray(deps)) for (const d of deps) dependsOn[d] = 'service_started';
    else for (const [d, c] of Object.entries(deps ?? {})) dependsOn[d] = c.condition ?? 'service_started';
    const hc = s.healthcheck as { test?: unknown } | undefined;
    out.set(name, {
      name,
      image: typeof s.image === 'string' ? s.image : null,
      build: build === undefined ? null : typeof build === 'string' ? { context: resolve(root, build), dockerfile: 'Dockerfile' } : { context: resolve(root, build.context ?? '.'), dockerfile: build.dockerfile ?? 'Dockerfile' },
      entrypoint: asList(s.entrypoint),
      command: asList(s.command),
      environment,
      binds,
      ports,
      dependsOn,
      healthcheck: asList(hc?.test),
    });
  }
  return out;
}

export function readDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  let workdir = '/';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const copySources: string[] = [];
  const from: string[] = [];
  const json = (rest: string) => JSON.parse(rest) as string[];
  for (const line of lines) {
    const [instr, ...restParts] = line.split(/\s+/);
    const rest = restParts.join(' ');
    switch (instr.toUpperCase()) {
      case 'FROM':
        from.push(restParts[0]);
        break;
      case 'WORKDIR':
        workdir = posix.resolve(workdir, rest);
        break;
      case 'ENTRYPOINT':
        entrypoint = json(rest);
        break;
      case 'CMD':
        cmd = json(rest);
        break;
      case 'COPY':
        if (!restParts.some((p) => p.startsWith('--from'))) copySources.push(...restParts.filter((p) => !p.startsWith('--')).slice(0, -1));
        break;
    }
  }
  return { path, workdir, entrypoint, cmd, copySources, from };
}

/** The program's argv in the container: the service's entrypoint/command override the image's. */
export function effectiveArgv(s: ComposeService, image: Dockerfile | null): string[] {
  const entrypoint = s.entrypoint ?? image?.entrypoint ?? [];
  // Setting `entrypoint` in compose drops the image's CMD, as Docker does.
  const command = s.command ?? (s.entrypoint ? [] : image?.cmd ?? []);
  return [...entrypoint, ...command];
}

/**
 * Environment variables a program reads: `process.env.X`, `env.X` and `readInt(env, 'X', ...)` in
 * its entry file and every file it imports relatively (static and dynamic imports).
 */
export function envReadBy(entryTs: string): Set<string> {
  const vars = new Set<string>();
  for (const file of importClosure(entryTs)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:process\.env|\benv)\.([A-Z][A-Z0-9_]*)/g)) vars.add(m[1]);
    for (const m of text.matchAll(/readInt\(\s*[\w.]+\s*,\s*'([A-Z][A-Z0-9_]*)'/g)) vars.add(m[1]);
  }
  return vars;
}

/** The entry file and every file it imports relatively, static or dynamic. */
export function importClosure(entryTs: string): string[] {
  const seen = new Set<string>();
  const queue = [entryTs];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) queue.push(join(dirname(file), `${m[1]}.ts`));
  }
  return [...seen];
}

/**
 * Where a CLI subcommand is defined: the module of the CLI's import closure that declares
 * `.command('<name>')`. Its own closure is what the subcommand runs (`ficus start` does not read
 * the defaults of `ficus flags set`).
 */
export function commandModule(cliEntryTs: string, name: string): string | null {
  const pattern = new RegExp(`\\.command\\(\\s*'${name}'`);
  return importClosure(cliEntryTs).find((f) => pattern.test(readFileSync(f, 'utf8'))) ?? null;
}

/** `dist/examples/x/main.js` → `examples/x/main.ts` (the repository's layout under tsc's outDir). */
export function sourceOf(root: string, distFile: string): string {
  return join(root, relative('dist', distFile).replace(/\.js$/, '.ts'));
}

/** A container path used by a program → where it comes from in the repository (a bind mount, else the image's copy). */
export function hostPathOf(s: ComposeService, workdir: string, root: string, containerPath: string): { path: string; mounted: boolean } {
  const abs = posix.resolve(workdir, containerPath);
  for (const b of s.binds) {
    if (abs === b.container) return { path: b.host, mounted: true };
    if (abs.startsWith(`${b.container}/`)) return { path: join(b.host, abs.slice(b.container.length + 1)), mounted: true };
  }
  // Not mounted: the image holds the repository's file at the same place under the working directory.
  return { path: join(root, posix.relative(workdir, abs)), mounted: false };
}

/** The option's value in an argv (`--rules FILE`), or null. */
export function optionValue(argv: readonly string[], ...names: string[]): string | null {
  for (let i = 0; i < argv.length - 1; i++) if (names.includes(argv[i])) return argv[i + 1];
  return null;
}
