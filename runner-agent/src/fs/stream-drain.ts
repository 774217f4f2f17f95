/** What drained() needs of a writable: Node streams and streamx (tar-stream) streams both fit. */
interface DrainableWritable {
  readonly destroyed: boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Waits for a writable that refused a write to take more; rejects when it is destroyed first instead of waiting
 * forever (a bare `once(stream, "drain")` never settles for a stream destroyed without an error).
 */
export function drained(stream: DrainableWritable, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) return reject(new Error(`${what} was closed`));
    const onDrain = (): void => {
      stream.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      stream.off("drain", onDrain);
      reject(new Error(`${what} was closed`));
    };
    stream.once("drain", onDrain);
    stream.once("close", onClose);
  });
}
