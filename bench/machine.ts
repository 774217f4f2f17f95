import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

/** One line describing the machine a benchmark ran on. */
export function describeMachine(dockerVersion: string): string {
  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    kernel = process.platform;
  }
  return `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Linux ${kernel}, Node ${process.version}, Docker ${dockerVersion}`;
}
