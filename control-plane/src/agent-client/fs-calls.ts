import type { ServiceError } from "@grpc/grpc-js";
import type { FileInfo } from "@devhatchery/proto/agent/v1/fs";
import { toFileInfo, type AgentClient, type AgentFileInfo } from "./agent-client.js";
import { fromGrpcError } from "./grpc-errors.js";

/** Turns a unary call's callback into a promise of the FileInfo its response carries. */
function fileInfoCall(agent: AgentClient, start: (done: (error: ServiceError | null, response: { info?: FileInfo | undefined }) => void) => void): Promise<AgentFileInfo> {
  return new Promise((resolve, reject) => {
    start((error, response) => (error ? reject(fromGrpcError(error, agent.runnerId)) : resolve(toFileInfo(response.info))));
  });
}

/** Describes a path, following symlinks (`linkTarget` says when it is one); a dangling symlink describes itself. */
export function statPath(agent: AgentClient, path: string): Promise<AgentFileInfo> {
  return fileInfoCall(agent, (done) => agent.grpc.fs.stat({ path }, agent.callMetadata(), done));
}

/** Creates a directory; with `parents`, also its missing parents, and an existing directory is fine. `mode` 0 = 0755. */
export function makeDirectory(agent: AgentClient, path: string, options: { parents: boolean; mode: number }): Promise<AgentFileInfo> {
  return fileInfoCall(agent, (done) => agent.grpc.fs.mkdir({ path, parents: options.parents, mode: options.mode }, agent.callMetadata(), done));
}

/** Renames `source` to `destination` (its new path, not a folder to move it into); returns the destination. */
export function movePath(agent: AgentClient, source: string, destination: string, options: { overwrite: boolean; createParents: boolean }): Promise<AgentFileInfo> {
  return fileInfoCall(agent, (done) =>
    agent.grpc.fs.move({ source, destination, overwrite: options.overwrite, createParents: options.createParents }, agent.callMetadata(), done),
  );
}

/** Removes a file, a symlink (not its target) or a directory (non-empty only when `recursive`); returns what it was. */
export function removePath(agent: AgentClient, path: string, recursive: boolean): Promise<AgentFileInfo> {
  return fileInfoCall(agent, (done) => agent.grpc.fs.remove({ path, recursive }, agent.callMetadata(), done));
}

/**
 * The `dev:ino` (decimal) of what `path` names in the runner, symlinks followed; "0:0" from an agent too old to say.
 * A host folder bound into the runner shows the host's numbers.
 */
export function statIdentity(agent: AgentClient, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    agent.grpc.fs.stat({ path }, agent.callMetadata(), (error, response) =>
      error ? reject(fromGrpcError(error, agent.runnerId)) : resolve(`${response.info?.dev ?? "0"}:${response.info?.ino ?? "0"}`),
    );
  });
}
