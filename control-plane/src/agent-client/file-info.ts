import { FileType, type FileInfo as ProtoFileInfo } from "@devhatchery/proto/agent/v1/fs";

/** What a path in a runner names. */
export type FileKind = "file" | "directory" | "symlink" | "other";

/** A file, directory or symlink in a runner as read, written, listed or described. */
export interface FileInfo {
  path: string;
  name: string;
  type: FileKind;
  size: number;
  mode: number;
  mtimeMs: number;
  /** Identifies this version of the file (same from read, write, list and stat); pass it back as `ifMatch`. */
  etag: string;
  /** Where a symlink points; empty for anything else. */
  linkTarget: string;
}

/** Proto file type → the domain's name for it. */
export const FILE_KIND: Record<number, FileKind> = {
  [FileType.FILE_TYPE_FILE]: "file",
  [FileType.FILE_TYPE_DIRECTORY]: "directory",
  [FileType.FILE_TYPE_SYMLINK]: "symlink",
};

/** A proto FileInfo as the domain sees it. */
export function toFileInfo(info: ProtoFileInfo | undefined): FileInfo {
  return {
    path: info?.path ?? "",
    name: info?.name ?? "",
    type: FILE_KIND[info?.type ?? 0] ?? "other",
    size: info?.size ?? 0,
    mode: info?.mode ?? 0,
    mtimeMs: info?.mtimeMs ?? 0,
    etag: info?.etag ?? "",
    linkTarget: info?.linkTarget ?? "",
  };
}
