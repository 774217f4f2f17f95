import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { compileIgnorePattern, parseIgnoreFile, type IgnorePattern } from "./ignore-pattern.js";

const GITIGNORE = ".gitignore";

interface PatternSet {
  base: string;
  patterns: IgnorePattern[];
}

/**
 * Decides which paths a watch ignores, with git's precedence: the default ignores lowest, then .gitignore files
 * from the outermost directory to the innermost, then the watch's own patterns. The last matching pattern wins.
 */
export class IgnoreRules {
  private readonly defaults: PatternSet;
  private readonly requested: PatternSet;
  private readonly gitignores = new Map<string, IgnorePattern[]>();

  constructor(
    private readonly root: string,
    defaults: readonly string[],
    requested: readonly string[],
    readonly useGitignore: boolean,
  ) {
    this.defaults = { base: root, patterns: defaults.flatMap((line) => compileIgnorePattern(line) ?? []) };
    this.requested = { base: root, patterns: requested.flatMap((line) => compileIgnorePattern(line) ?? []) };
  }

  isIgnored(absolutePath: string, isDirectory: boolean): boolean {
    let ignored = false;
    const apply = ({ base, patterns }: PatternSet): void => {
      if (!absolutePath.startsWith(`${base}/`) && base !== "/") return;
      const relative = absolutePath.slice(base === "/" ? 1 : base.length + 1);
      for (const pattern of patterns) if (pattern.matches(relative, isDirectory)) ignored = !pattern.negated;
    };
    apply(this.defaults);
    for (const set of this.gitignoresAbove(absolutePath)) apply(set);
    apply(this.requested);
    return ignored;
  }

  /** Reads (or forgets, when `present` is false) the .gitignore file of `directory`. */
  async loadGitignore(directory: string, present: boolean): Promise<void> {
    if (!this.useGitignore) return;
    const text = present ? await readFile(join(directory, GITIGNORE), "utf8").catch(() => undefined) : undefined;
    if (text === undefined) this.gitignores.delete(directory);
    else this.gitignores.set(directory, parseIgnoreFile(text));
  }

  /** Forgets the .gitignore files of `directory` and every directory below it. */
  forgetBelow(directory: string): void {
    for (const key of this.gitignores.keys())
      if (key === directory || key.startsWith(`${directory}/`)) this.gitignores.delete(key);
  }

  /** Loads the .gitignore files of the root's parent directories up to the enclosing git repository's root. */
  async loadAncestors(): Promise<void> {
    if (!this.useGitignore || (await exists(join(this.root, ".git")))) return;
    const ancestors: string[] = [];
    for (let directory = dirname(this.root); ; directory = dirname(directory)) {
      ancestors.push(directory);
      if (await exists(join(directory, ".git"))) break;
      if (directory === "/") return;
    }
    await Promise.all(ancestors.map((directory) => this.loadGitignore(directory, true)));
  }

  private gitignoresAbove(absolutePath: string): PatternSet[] {
    if (this.gitignores.size === 0) return [];
    const sets: PatternSet[] = [];
    for (let directory = dirname(absolutePath); ; directory = dirname(directory)) {
      const patterns = this.gitignores.get(directory);
      if (patterns) sets.unshift({ base: directory, patterns });
      if (directory === "/") return sets;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
