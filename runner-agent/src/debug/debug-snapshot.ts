import { loadavg } from "node:os";
import { AGENT_VERSION } from "../version.js";
import type { CallStats } from "./call-tracker.js";

/** Where the debug endpoint gets its lists from; each manager exposes plain records. */
export interface DebugSources {
  processes(): Record<string, unknown>[];
  watches(): Record<string, unknown>[];
  calls(): CallStats;
}

export interface DebugSnapshot {
  version: string;
  node: string;
  pid: number;
  started_at: string;
  uptime_s: number;
  memory: { rss_bytes: number; heap_used_bytes: number; heap_total_bytes: number; external_bytes: number };
  cpu: { user_ms: number; system_ms: number; load_average: number[] };
  streams: CallStats;
  processes: Record<string, unknown>[];
  watches: Record<string, unknown>[];
}

const startedAt = new Date();

/** A point-in-time view of the agent for people inspecting a runner. */
export function takeDebugSnapshot(sources: DebugSources): DebugSnapshot {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    version: AGENT_VERSION,
    node: process.version,
    pid: process.pid,
    started_at: startedAt.toISOString(),
    uptime_s: Math.round(process.uptime()),
    memory: {
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      heap_total_bytes: memory.heapTotal,
      external_bytes: memory.external,
    },
    cpu: {
      user_ms: Math.round(cpu.user / 1000),
      system_ms: Math.round(cpu.system / 1000),
      load_average: loadavg().map((load) => Math.round(load * 100) / 100),
    },
    streams: sources.calls(),
    processes: sources.processes(),
    watches: sources.watches(),
  };
}
