/**
 * Where a runtime keeps each runner's agent token between starts (the state store's runnerTokens, or memory): the
 * engine holds none, so `docker inspect` and snapshots cannot show it.
 */
export interface RunnerTokenVault {
  get(runnerId: string): string | undefined;
  set(runnerId: string, token: string): void;
  delete(runnerId: string): void;
}

/** A vault that forgets everything when the process ends (tests and tools without a state store). */
export function createMemoryTokenVault(): RunnerTokenVault {
  const tokens = new Map<string, string>();
  return {
    get: (runnerId) => tokens.get(runnerId),
    set: (runnerId, token) => void tokens.set(runnerId, token),
    delete: (runnerId) => void tokens.delete(runnerId),
  };
}
