import { posix } from "node:path";

export const TEXT_PLAIN = "text/plain";
export const OCTET_STREAM = "application/octet-stream";

const BY_EXTENSION: Record<string, string> = {
  // text and code
  txt: TEXT_PLAIN,
  log: TEXT_PLAIN,
  md: "text/markdown",
  markdown: "text/markdown",
  rst: "text/x-rst",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  jsx: "text/jsx",
  ts: "text/x-typescript",
  mts: "text/x-typescript",
  cts: "text/x-typescript",
  tsx: "text/tsx",
  json: "application/json",
  jsonl: "application/jsonl",
  ndjson: "application/x-ndjson",
  xml: "application/xml",
  svg: "image/svg+xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  py: "text/x-python",
  pyi: "text/x-python",
  rb: "text/x-ruby",
  go: "text/x-go",
  rs: "text/x-rust",
  c: "text/x-c",
  h: "text/x-c",
  cc: "text/x-c++",
  cpp: "text/x-c++",
  cxx: "text/x-c++",
  hpp: "text/x-c++",
  hh: "text/x-c++",
  java: "text/x-java",
  kt: "text/x-kotlin",
  swift: "text/x-swift",
  cs: "text/x-csharp",
  php: "text/x-php",
  sh: "text/x-shellscript",
  bash: "text/x-shellscript",
  zsh: "text/x-shellscript",
  sql: "application/sql",
  lua: "text/x-lua",
  pl: "text/x-perl",
  r: "text/x-r",
  scala: "text/x-scala",
  proto: "text/x-protobuf",
  diff: "text/x-diff",
  patch: "text/x-diff",
  tex: "text/x-tex",
  // binary
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  ico: "image/vnd.microsoft.icon",
  tif: "image/tiff",
  tiff: "image/tiff",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  bz2: "application/x-bzip2",
  xz: "application/x-xz",
  zst: "application/zstd",
  "7z": "application/x-7z-compressed",
  jar: "application/java-archive",
  wasm: "application/wasm",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  flac: "audio/flac",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  sqlite: "application/vnd.sqlite3",
  db: "application/vnd.sqlite3",
  so: "application/x-sharedlib",
  class: "application/java-vm",
  pyc: "application/x-python-code",
};

const BY_NAME: Record<string, string> = {
  dockerfile: "text/x-dockerfile",
  containerfile: "text/x-dockerfile",
  makefile: "text/x-makefile",
  gnumakefile: "text/x-makefile",
  ".gitignore": TEXT_PLAIN,
  ".dockerignore": TEXT_PLAIN,
  ".editorconfig": TEXT_PLAIN,
  ".env": TEXT_PLAIN,
};

/** Leading bytes of binary formats, checked when the file's name says nothing. */
const SIGNATURES: { bytes: number[]; at?: number; mime: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], mime: "image/png" },
  { bytes: [0xff, 0xd8, 0xff], mime: "image/jpeg" },
  { bytes: [...Buffer.from("GIF8")], mime: "image/gif" },
  { bytes: [...Buffer.from("WEBP")], at: 8, mime: "image/webp" },
  { bytes: [...Buffer.from("%PDF-")], mime: "application/pdf" },
  { bytes: [0x50, 0x4b, 0x03, 0x04], mime: "application/zip" },
  { bytes: [0x1f, 0x8b], mime: "application/gzip" },
  { bytes: [...Buffer.from("BZh")], mime: "application/x-bzip2" },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], mime: "application/x-xz" },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], mime: "application/zstd" },
  { bytes: [...Buffer.from("ustar")], at: 257, mime: "application/x-tar" },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], mime: "application/x-executable" },
  { bytes: [0x00, 0x61, 0x73, 0x6d], mime: "application/wasm" },
  { bytes: [...Buffer.from("SQLite format 3\0")], mime: "application/vnd.sqlite3" },
];

/** Interpreters named on a `#!` line → the script's type. */
const BY_INTERPRETER: [RegExp, string][] = [
  [/^python[\d.]*$/, "text/x-python"],
  [/^(node|nodejs|deno|bun)$/, "text/javascript"],
  [/^(sh|bash|dash|zsh|ksh)$/, "text/x-shellscript"],
  [/^ruby$/, "text/x-ruby"],
  [/^perl$/, "text/x-perl"],
];

/** Bytes of a sample looked at to tell text from binary. */
const SNIFF_BYTES = 8192;

/**
 * A file's media type: from its name (extension or well-known name), else from `sample` (bytes of the file read
 * from `sampleOffset`): binary signatures and `#!` lines at the start, then text (UTF-8, no NULs) or binary.
 * Without a sample and a name that says nothing, "application/octet-stream".
 */
export function detectMimeType(name: string, sample?: Buffer, sampleOffset = 0): string {
  const base = posix.basename(name).toLowerCase();
  const byName =
    BY_NAME[base] ?? (base.lastIndexOf(".") > 0 ? BY_EXTENSION[base.slice(base.lastIndexOf(".") + 1)] : undefined);
  if (byName) return byName;
  if (!sample) return OCTET_STREAM;
  if (sampleOffset === 0) {
    const signature = SIGNATURES.find(({ bytes, at = 0 }) => bytes.every((byte, index) => sample[at + index] === byte));
    if (signature) return signature.mime;
    const script = scriptType(sample);
    if (script) return script;
  }
  return isText(sample.subarray(0, SNIFF_BYTES), sampleOffset > 0) ? TEXT_PLAIN : OCTET_STREAM;
}

/** True for media types whose content reads well as UTF-8 text. */
export function isTextMimeType(mime: string): boolean {
  return (
    mime.startsWith("text/") ||
    /^application\/(json|jsonl|x-ndjson|xml|yaml|toml|sql)$/.test(mime) ||
    mime === "image/svg+xml"
  );
}

function scriptType(sample: Buffer): string | undefined {
  const line = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(sample.subarray(0, 256).toString("latin1"));
  if (!line) return undefined;
  const program = posix.basename(line[1] ?? "");
  const interpreter = program === "env" ? (line[2] ?? "") : program;
  return BY_INTERPRETER.find(([pattern]) => pattern.test(interpreter))?.[1] ?? TEXT_PLAIN;
}

/** UTF-8 without NULs or many control bytes; tolerates a character cut at either end of the sample. */
function isText(sample: Buffer, startsMidFile: boolean): boolean {
  if (sample.includes(0)) return false;
  let start = 0;
  while (startsMidFile && start < 3 && start < sample.length && ((sample[start] ?? 0) & 0xc0) === 0x80) start++;
  const bytes = withoutCutCharacter(sample.subarray(start));
  const controls = bytes.filter((byte) => byte < 0x20 && ![0x09, 0x0a, 0x0c, 0x0d, 0x1b, 0x08].includes(byte)).length;
  if (controls > bytes.length / 20) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function withoutCutCharacter(bytes: Buffer): Buffer {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}
