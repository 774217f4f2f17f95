import { extract as createExtract, type Header } from "tar-stream";
import { ControlPlaneError } from "../../errors.js";

/** One member of a tar archive, as the handler sees it. */
export interface TarMember {
  name: string;
  type: Header["type"];
  size: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  mtime: Date;
  /** A symlink's target (or a hard link's source); empty otherwise. */
  linkname: string;
}

/** Called once per member, in archive order; must read `body` (a file's bytes) to the end or throw. */
export type TarMemberHandler = (member: TarMember, body: AsyncIterable<Buffer>) => Promise<void>;

/** Reads a streamed tar archive (ustar, pax, GNU) member by member; `write` waits while the handler is busy. */
export class TarReader {
  private readonly extract = createExtract();
  private readonly consumed: Promise<void>;

  constructor(handler: TarMemberHandler) {
    this.consumed = this.consume(handler);
    this.consumed.catch(() => undefined);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.extract.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.extract.off("drain", done);
        this.extract.off("close", done);
        resolve();
      };
      this.extract.once("drain", done);
      this.extract.once("close", done);
    });
    if (this.extract.destroyed) await this.consumed; // rejects with the reason reading stopped
  }

  /** Ends the archive and waits until the handler has seen every member. */
  async finish(): Promise<void> {
    this.extract.end(null);
    await this.consumed;
  }

  abort(): void {
    this.extract.destroy();
  }

  private async consume(handler: TarMemberHandler): Promise<void> {
    let archiveError: unknown;
    this.extract.on("error", (error: unknown) => (archiveError = error));
    try {
      for await (const entry of this.extract) {
        const { name, type, size, mode, mtime, linkname } = entry.header;
        await handler(
          {
            name,
            type,
            size: size ?? 0,
            mode: (mode ?? 0o644) & 0o7777,
            mtime: mtime ?? new Date(0),
            linkname: linkname ?? "",
          },
          entry as AsyncIterable<Buffer>,
        );
        for await (const _ of entry as AsyncIterable<Buffer>); // whatever the handler left unread
      }
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      throw new ControlPlaneError(
        "INTERNAL",
        `The runner's archive could not be read (${((archiveError ?? error) as Error).message}); retry the export.`,
        { cause: archiveError ?? error },
      );
    }
  }
}
