import type { AgentFileInfo } from "../agent-client/agent-client.js";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Principal } from "./runner.js";
import type { RunnerService } from "./runner-service.js";

/** A file's metadata as the domain presents it. */
export type FileInfo = AgentFileInfo;

export type FileEncoding = "utf8" | "base64";

export interface FileContent {
  info: AgentFileInfo;
  content: string;
  encoding: FileEncoding;
  offset: number;
  /** Bytes returned. */
  length: number;
}

/** The most fs_read returns in one call. */
export const READ_CAP_BYTES = 1024 * 1024;
/** The most fs_write accepts in one call (decoded bytes). */
export const WRITE_CAP_BYTES = 16 * 1024 * 1024;

/** Reads, writes and lists files in a principal's runners. */
export class FileService {
  constructor(
    private readonly runners: RunnerService,
    private readonly log: Logger,
  ) {}

  async read(principal: Principal, runnerRef: string, path: string, options: { encoding: FileEncoding; offset: number; length: number }): Promise<FileContent> {
    if (options.length > READ_CAP_BYTES) {
      throw new ControlPlaneError("INVALID_ARGUMENT", `length ${options.length} exceeds the read cap of ${READ_CAP_BYTES} bytes; read the file in ranges with offset and length.`);
    }
    const agent = await this.runners.connect(principal, runnerRef);
    const wanted = options.length > 0 ? options.length : READ_CAP_BYTES + 1;
    const { info, data } = await agent.readFile(path, options.offset, wanted);
    if (data.length > READ_CAP_BYTES) {
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `File "${info.path}" is ${info.size} bytes, more than the ${READ_CAP_BYTES}-byte read cap; read it in ranges with offset and length (at most ${READ_CAP_BYTES} each).`,
      );
    }
    return { info, content: data.toString(options.encoding), encoding: options.encoding, offset: options.offset, length: data.length };
  }

  async write(
    principal: Principal,
    runnerRef: string,
    path: string,
    content: string,
    options: { encoding: FileEncoding; createParents: boolean; mode: number | undefined },
  ): Promise<AgentFileInfo> {
    if (options.encoding === "base64" && !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(content)) {
      throw new ControlPlaneError("INVALID_ARGUMENT", "content is not valid base64; encode the bytes with standard base64, or use encoding \"utf8\" for text.");
    }
    const data = Buffer.from(content, options.encoding);
    if (data.length > WRITE_CAP_BYTES) {
      throw new ControlPlaneError("INVALID_ARGUMENT", `content is ${data.length} bytes, more than the ${WRITE_CAP_BYTES}-byte write cap; split the file or upload it in parts.`);
    }
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.writeFile(path, data, { createParents: options.createParents, mode: options.mode ?? 0 });
    this.log.info({ runner: runnerRef, principal: principal.id, path: info.path, bytes: data.length }, "file written");
    return info;
  }

  async list(principal: Principal, runnerRef: string, path: string, limit: number): Promise<{ directory: AgentFileInfo; entries: AgentFileInfo[]; truncated: boolean }> {
    const agent = await this.runners.connect(principal, runnerRef);
    return agent.listDirectory(path, limit);
  }
}
