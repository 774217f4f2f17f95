import { describe, expect, it } from "vitest";
import { workProcesses } from "./idle-runners.js";

describe("workProcesses", () => {
  const init = 100;
  const agent = { pid: 101, ppid: init, command: "/opt/devhatchery/bin/node /opt/devhatchery/agent.cjs" };

  it("leaves out the container's init and its agent, and counts everything else as work", () => {
    const exec = { pid: 102, ppid: 101, command: "sleep 120" };
    const nohup = { pid: 103, ppid: init, command: "sleep 300" };
    const initProcess = { pid: init, ppid: 90, command: "/sbin/docker-init -- /opt/devhatchery/bin/node agent.cjs" };
    expect(workProcesses({ pid: init }, [initProcess, agent])).toEqual([]);
    expect(workProcesses({ pid: init }, [initProcess, agent, exec, nohup])).toEqual([exec, nohup]);
  });

  it("does not take a process for the agent because its arguments mention agent.cjs", () => {
    const impostor = { pid: 104, ppid: init, command: "cat /opt/devhatchery/agent.cjs.bak" };
    const deeper = { pid: 105, ppid: 102, command: "/opt/devhatchery/bin/node /opt/devhatchery/agent.cjs" };
    expect(workProcesses({ pid: init }, [agent, impostor, deeper])).toEqual([impostor, deeper]);
  });
});
