/** One compiled line of a .gitignore file (or an ignore glob given to a watch). */
export interface IgnorePattern {
  readonly source: string;
  /** A "!" pattern: a match re-includes the path. */
  readonly negated: boolean;
  /** Tests a "/"-separated path relative to the pattern's base directory. */
  matches(relativePath: string, isDirectory: boolean): boolean;
}

/**
 * Compiles one line in .gitignore syntax: "#" comments, "!" negation, a trailing "/" for directories only,
 * a leading or inner "/" anchoring to the base directory, "*", "?", "[...]", "**" and backslash escapes.
 * Returns undefined for blank lines and comments.
 */
export function compileIgnorePattern(line: string): IgnorePattern | undefined {
  let body = trimUnescapedTrailingSpaces(line);
  if (body === "" || body.startsWith("#")) return undefined;
  const negated = body.startsWith("!");
  if (negated) body = body.slice(1);
  const directoryOnly = body.endsWith("/");
  if (directoryOnly) body = body.replace(/\/+$/, "");
  if (body === "") return undefined;
  const anchored = body.includes("/");
  body = body.replace(/^\/+/, "");
  const regex = new RegExp(`^${anchored ? "" : "(?:.*/)?"}${pathToRegex(body)}$`);
  return {
    source: line,
    negated,
    matches: (relativePath, isDirectory) => (isDirectory || !directoryOnly) && regex.test(relativePath),
  };
}

/** Compiles every line of a .gitignore file. */
export function parseIgnoreFile(text: string): IgnorePattern[] {
  return text.split(/\r?\n/).flatMap((line) => compileIgnorePattern(line) ?? []);
}

function trimUnescapedTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === " " && line[end - 2] !== "\\") end -= 1;
  return line.slice(0, end);
}

function pathToRegex(body: string): string {
  const segments = body.split("/");
  let regex = "";
  let needsSlash = false;
  segments.forEach((segment, index) => {
    const isLast = index === segments.length - 1;
    const slash = needsSlash ? "/" : "";
    if (segment === "**") {
      // "**/x" matches x at any depth, "a/**/b" zero or more directories between, "a/**" everything inside a.
      regex += isLast ? `${slash}.*` : `${slash}(?:.*/)?`;
      needsSlash = false;
      return;
    }
    regex += slash + segmentToRegex(segment);
    needsSlash = true;
  });
  return regex;
}

function segmentToRegex(segment: string): string {
  let regex = "";
  for (let i = 0; i < segment.length; i += 1) {
    const char = segment[i]!;
    if (char === "\\" && i + 1 < segment.length) {
      regex += escapeRegex(segment[++i]!);
    } else if (char === "*") {
      regex += "[^/]*";
    } else if (char === "?") {
      regex += "[^/]";
    } else if (char === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close === -1) {
        regex += "\\[";
        continue;
      }
      let set = segment.slice(i + 1, close);
      if (set.startsWith("!")) set = `^${set.slice(1)}`;
      regex += `[${set.replace(/\\/g, "\\\\")}]`;
      i = close;
    } else {
      regex += escapeRegex(char);
    }
  }
  return regex;
}

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}
