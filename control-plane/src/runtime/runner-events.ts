/** A change to a runner container, as the engine reports it. */
export interface RunnerEvent {
  runnerId: string;
  principal: string;
  /** start: (re)started; die: its main process (the agent) ended; oom: the kernel killed a process for memory; destroy: removed. */
  action: "start" | "die" | "oom" | "destroy";
  /** With die: the exit code. */
  exitCode?: number | undefined;
}

/** The runtime role that reports changes to runner containers. */
export interface RunnerEventFeed {
  /** Follows engine events for runner containers until the returned function is called; reconnects when the stream drops. */
  watch(listener: (event: RunnerEvent) => void): () => void;
}
