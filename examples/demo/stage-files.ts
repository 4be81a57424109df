import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

/**
 * The five migration stages live in the repository's `rules/` with the example apps' default
 * ports (monolith 3000, users service 3001). The demo picks free ports, so it works on copies: each
 * stage is copied into a temp directory with only the two upstream URLs replaced (the YAML document
 * is edited in place, so comments survive), and the stage being applied is written over the one
 * rules file ficus runs with, exactly as an operator would `cp` it.
 */
export const STAGES = ['users-1-legacy', 'users-2-shadow', 'users-3-canary', 'users-4-live', 'users-5-migrated'] as const;
export type StageName = (typeof STAGES)[number];

export const FLAGS_FILE = 'users-flags.yaml';
export const CANARY_FLAG = 'users-read-migration';

/** The repository root: the nearest directory above this file holding `rules/` and package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'rules')))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the ficus repository (rules/ and package.json) above the demo');
    dir = up;
  }
  return dir;
}

export interface StageFiles {
  /** Where relative paths in the rules' `flags:` section resolve (it holds `rules/`). */
  readonly baseDir: string;
  /** The rules file ficus runs with. */
  readonly activeFile: string;
  readonly flagsFile: string;
  /** The stage's text, ports substituted. */
  text(stage: StageName): string;
  /** Writes the stage over the active rules file (ficus also sees it through its file watcher). */
  write(stage: StageName): void;
  /** Writes the flags file with the canary flag on or off (the repository's file is on). */
  setCanary(on: boolean): void;
}

export function prepareStageFiles(dir: string, upstreams: { legacy: string; users: string }, root = repoRoot()): StageFiles {
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir, { recursive: true });
  const texts = new Map<StageName, string>();
  for (const stage of STAGES) {
    const doc = parseDocument(readFileSync(join(root, 'rules', `${stage}.yaml`), 'utf8'));
    for (const [name, url] of Object.entries(upstreams)) {
      if (!doc.hasIn(['upstreams', name, 'url'])) throw new Error(`rules/${stage}.yaml has no upstreams.${name}.url`);
      doc.setIn(['upstreams', name, 'url'], url);
    }
    const text = doc.toString();
    texts.set(stage, text);
    writeFileSync(join(rulesDir, `${stage}.yaml`), text);
  }
  const flagsText = readFileSync(join(root, 'rules', FLAGS_FILE), 'utf8');
  const flagsFile = join(rulesDir, FLAGS_FILE);
  const activeFile = join(dir, 'ficus-rules.yaml');
  const files: StageFiles = {
    baseDir: dir,
    activeFile,
    flagsFile,
    text: (stage) => texts.get(stage)!,
    write: (stage) => writeFileSync(activeFile, texts.get(stage)!),
    setCanary: (on) => {
      const doc = parseDocument(flagsText);
      if (!doc.hasIn(['flags', CANARY_FLAG])) throw new Error(`rules/${FLAGS_FILE} has no flag ${CANARY_FLAG}`);
      doc.setIn(['flags', CANARY_FLAG, 'on'], on);
      writeFileSync(flagsFile, doc.toString());
    },
  };
  files.setCanary(false);
  return files;
}

/** The canary's rollout percentage as the repository's flags file sets it. */
export function canaryRolloutPercent(root = repoRoot()): number {
  const doc = parseDocument(readFileSync(join(root, 'rules', FLAGS_FILE), 'utf8'));
  const rollout = doc.getIn(['flags', CANARY_FLAG, 'rollout']);
  return typeof rollout === 'number' ? rollout : 100;
}
